import datetime
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from actions.models import Action, ProgressNote, Target, TargetValue
from actions.services import change_status, record_target_value
from partners.models import ActionPartner, Organisation
from partners.services import change_link
from plans.groups import COORDINATION, MEMBERS
from plans.history import SEED_REASON
from plans.models import (
    Assembly,
    Coalition,
    Membership,
    Objective,
    Period,
    Plan,
    Review,
    ReviewFunding,
    ReviewItem,
    ReviewMeeting,
    ReviewStaff,
    SubObjective,
    Theme,
)

SEED_FIXTURES = ["themes", "casal_2016_2020", "lachine_2018_2021"]
DEMO_USERS = [
    ("coordo", COORDINATION, "Coordonnatrice (démo)"),
    ("membre", MEMBERS, "Membre (démo)"),
]


class Command(BaseCommand):
    help = (
        "Charge les deux plans d'exemple dans une base vide et crée les comptes de démonstration "
        "(développement seulement). / Loads both seeded plans into an empty database and "
        "creates the demo logins (development only)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000/")

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError(
                "Les comptes de démonstration n'existent qu'en développement (DEBUG=1). / "
                "Demo logins exist only in development (DEBUG=1)."
            )
        with transaction.atomic():
            loaded = not Plan.objects.exists()
            if not loaded:
                self.stdout.write(
                    "Plans déjà chargés ; rien n'est écrasé. / Plans already loaded."
                )
            else:
                load_seed(*SEED_FIXTURES)
                self.stdout.write(f"{Plan.objects.count()} plans chargés. / plans loaded.")
            logins = [self._demo_user(*spec) for spec in DEMO_USERS]
            coordo, membre = (get_user_model().objects.get(username=u) for u, *_ in DEMO_USERS)
            add_memberships(coordo, membre)
            if loaded:
                record_demo_activity(coordo)

        url = options["url"].rstrip("/")
        self.stdout.write(self.style.SUCCESS(f"\nTableau de bord / Dashboard: {url}/"))
        self.stdout.write(self.style.SUCCESS(f"Administration / Back-office: {url}/admin/"))
        for username, password, description in logins:
            self.stdout.write(f"  {description:<24} {username} / {password}")

    def _demo_user(self, username, group_name, description):
        # A fresh password at each start: the demo never ships a known one.
        password = secrets.token_urlsafe(9)
        # Only the coordinator enters the back-office; the member stays on the dashboard.
        user, _created = get_user_model().objects.get_or_create(username=username)
        user.is_staff = group_name == COORDINATION
        user.set_password(password)
        user.save()
        user.groups.set([Group.objects.get(name=group_name)])
        return username, password, description


def load_seed(*fixtures):
    """Loads seeded plans with one history record per row, marked as the seed load
    (SEED_REASON) and dated before each plan: the timelines read them as one entry, "loaded
    from the adopted plan". The browser tests' plan is loaded the same way."""
    # loaddata sends many-to-many signals that simple-history would record as stray changes,
    # after which populate_history skips the model entirely.
    with override_settings(SIMPLE_HISTORY_ENABLED=False):
        call_command("loaddata", *fixtures, verbosity=0)
    call_command("populate_history", auto=True, verbosity=0)
    date_seed_history()


# How each model's rows lead to their plan, for dating the seeded history plan by plan.
PLAN_PATHS = {
    Plan: "id",
    Period: "plan_id",
    Objective: "plan_id",
    SubObjective: "objective__plan_id",
    Review: "plan_id",
    ReviewMeeting: "review__plan_id",
    ReviewFunding: "review__plan_id",
    ReviewStaff: "review__plan_id",
    ReviewItem: "review__plan_id",
    Action: "plan_id",
    Target: "action__plan_id",
    TargetValue: "target__action__plan_id",
    ProgressNote: "action__plan_id",
    ActionPartner: "action__plan_id",
}
UNPLANNED = [Coalition, Assembly, Theme, Organisation]


def date_seed_history():
    """Date each seeded plan's first history records before the plan's earliest known date.

    populate_history dates them "now", so the changes page would list the whole seeded plan
    as new. The seeded content predates its adoption, its start and any assembly it was
    presented at; and the schedule, related actions and themes of each action's first
    record, which populate_history leaves out, are recorded so that a later change shows
    what moved and a deleted action comes back with them.
    """
    dated = []
    for plan in Plan.objects.all():
        assemblies = Assembly.objects.filter(coalition_id=plan.coalition_id).values("date")
        known = [plan.start, plan.adopted_on, *(a["date"] for a in assemblies)]
        day = min(d for d in known if d) - datetime.timedelta(days=1)
        moment = timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
        dated.append(moment)
        for model, path in PLAN_PATHS.items():
            model.history.filter(history_type="+", history_user=None, **{path: plan.pk}).update(
                history_date=moment, history_change_reason=SEED_REASON
            )
    for model in UNPLANNED:
        model.history.filter(history_type="+", history_user=None).update(
            history_date=min(dated), history_change_reason=SEED_REASON
        )

    first_records = {record.id: record for record in Action.history.filter(history_type="+")}
    for m2m_field in (Action.periods, Action.related_actions, Action.themes):
        # simple-history keeps each many-to-many field's rows in its own historical model.
        record_model = getattr(Action.history.model, m2m_field.field.name).model
        own = f"{m2m_field.field.m2m_field_name()}_id"  # action_id, or from_action_id
        related = f"{m2m_field.field.m2m_reverse_field_name()}_id"
        record_model.objects.bulk_create(
            record_model(
                history=first_records[getattr(row, own)],
                id=row.pk,
                **{own: getattr(row, own), related: getattr(row, related)},
            )
            for row in m2m_field.through.objects.all()
        )


def add_memberships(coordo, membre):
    """The coordinator sits at both coalitions; the member at the CASAL, for its CSDL."""
    for coalition in Coalition.objects.all():
        Membership.objects.get_or_create(coalition=coalition, user=coordo)
    casal = Coalition.objects.filter(slug="casal").first()
    if casal:
        Membership.objects.get_or_create(
            coalition=casal,
            user=membre,
            defaults={"organisation": Organisation.objects.filter(short_name="CSDL").first()},
        )


# (plan, action code, status, reason, note): a few updates so the dashboard has a story.
DEMO_UPDATES = [
    ("casal-2016-2020", "1.1.1", Action.Status.DONE, "", "Portrait présenté aux membres."),
    ("casal-2016-2020", "1.1.2", Action.Status.IN_PROGRESS, "", "Premières rencontres tenues."),
    ("casal-2016-2020", "1.2.1", Action.Status.IN_PROGRESS, "", ""),
    ("casal-2016-2020", "2.1.1", Action.Status.POSTPONED, "Financement pas encore confirmé.", ""),
    ("casal-2016-2020", "3.1.1", Action.Status.DONE, "", ""),
    ("lachine-2018-2021", "1.1.1", Action.Status.IN_PROGRESS, "", "Comité relancé."),
]


def record_demo_activity(coordo):
    """A coordinator's recent updates, so the demo's dashboard and changes page show life.

    Every note says it is a demonstration: nothing here comes from the source documents.
    """
    demo = " (Démonstration)"
    for slug, code, status, reason, note in DEMO_UPDATES:
        action = Action.objects.filter(plan__slug=slug, code=code).first()
        if action is None:
            continue
        change_status(
            action=action,
            status=status,
            user=coordo,
            reason=reason + demo if reason else "",
            note=note + demo if note else "",
            # Its funding is not confirmed: no new date to give yet (ignored unless postponing).
            without_date=True,
        )
    target = Target.objects.filter(
        action__plan__slug="casal-2016-2020", kind=Target.Kind.COUNT
    ).first()
    if target:
        record_target_value(target=target, value=3, note="Démonstration", user=coordo)
    link = ActionPartner.objects.filter(organisation__short_name="CSDL").first()
    if link:
        change_link(
            link=link,
            user=coordo,
            confirmation=ActionPartner.Confirmation.CONFIRMED_MEMBER,
            note="Démonstration",
        )
