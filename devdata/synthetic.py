"""Realistic synthetic plans at any size, for benchmarks and load tests.

`generate(actions=100_000, seed=1)` fills an empty database with coalitions, their plans,
periods, objectives, actions, targets with dated values, organisations and partner links,
progress notes, assemblies, reviews, memberships, and the change history that
django-simple-history would have recorded, each change dated and signed by the coalition's
coordinator. The same seed and the same `today` give the same data.

Everything is written with bulk_create, the history included, so 100,000 actions take minutes
rather than hours; the shapes follow the two seeded plans (tens of actions per plan, three
yearly periods, a partner cell of one to four organisations, a few targets per action).

The first coalition's current plan always has `FIRST_PLAN_ACTIONS` actions (or all of them
in a smaller database): benchmarks measure its pages at every size, so that what grows from
one size to the next is the rest of the database, not the page's own data.
"""

import datetime
import math
import random
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from actions.models import Action, ProgressNote, Target, TargetValue, code_sort_key
from partners.models import ActionPartner, Organisation
from plans.groups import COORDINATION, MEMBERS
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

FIRST_PLAN_ACTIONS = 50
ACTIONS_PER_PLAN = 100  # on average; a province-wide instance: 1,000 plans, 100,000 actions
PLANS_PER_COALITION = 2  # the current plan and the one before it
LOCAL_ORGANISATIONS = 20  # per coalition
COALITIONS_PER_REGION = 20  # each region has its own regional organisations
BATCH_SIZE = 2000
DEFAULT_PASSWORD = "donnees-synthetiques"

NEIGHBOURHOODS = [
    "Ahuntsic", "Anjou", "Beauport", "Chicoutimi", "Côte-des-Neiges", "Hochelaga",
    "Lachine", "LaSalle", "Limoilou", "Longueuil", "Montréal-Nord", "Parc-Extension",
    "Pointe-aux-Trembles", "Rimouski", "Rosemont", "Saint-Henri", "Saint-Laurent",
    "Saint-Michel", "Sherbrooke", "Trois-Rivières", "Verdun", "Villeray",
]  # fmt: skip
ORGANISATION_KINDS = [
    ("Cuisine collective", Organisation.Kind.COMMUNITY),
    ("Banque alimentaire", Organisation.Kind.COMMUNITY),
    ("Maison de la famille", Organisation.Kind.COMMUNITY),
    ("Jardin communautaire", Organisation.Kind.COMMUNITY),
    ("Centre des aînés", Organisation.Kind.COMMUNITY),
    ("Carrefour jeunesse-emploi", Organisation.Kind.COMMUNITY),
    ("École primaire", Organisation.Kind.INSTITUTION),
    ("CLSC", Organisation.Kind.PUBLIC_BODY),
    ("Épicerie solidaire", Organisation.Kind.BUSINESS),
    ("Comité logement", Organisation.Kind.COMMITTEE),
]
REGIONAL_ORGANISATIONS = [
    ("Centraide", Organisation.Kind.FUNDER),
    ("Direction régionale de santé publique", Organisation.Kind.PUBLIC_BODY),
    ("Moisson", Organisation.Kind.COMMUNITY),
    ("Ville", Organisation.Kind.PUBLIC_BODY),
    ("Centre intégré de santé et de services sociaux", Organisation.Kind.PUBLIC_BODY),
    ("Fondation Lucie et André Chagnon", Organisation.Kind.FUNDER),
    ("Regroupement des cuisines collectives", Organisation.Kind.GROUP),
]
OBJECTIVE_TITLES = [
    "Améliorer l'accès physique et économique à une saine alimentation",
    "Renforcer le pouvoir d'agir des citoyens sur leur alimentation",
    "Développer l'agriculture urbaine et les circuits courts",
    "Consolider la concertation et le financement du système alimentaire local",
    "Réduire le gaspillage et récupérer les surplus alimentaires",
]
VERBS = [
    "Soutenir", "Développer", "Consolider", "Documenter", "Promouvoir", "Accompagner",
    "Mettre en place", "Évaluer", "Mobiliser", "Maintenir",
]  # fmt: skip
SUBJECTS = [
    "l'accès aux aliments sains dans les secteurs mal desservis",
    "les marchés solidaires et les paniers à prix modique",
    "la récupération alimentaire auprès des commerces",
    "les ateliers de cuisine pour les familles",
    "le transport vers les points de service alimentaire",
    "les jardins collectifs et l'agriculture urbaine",
    "les repas communautaires pour les aînés isolés",
    "la saine alimentation dans les écoles du quartier",
    "un répertoire des ressources alimentaires",
    "le financement récurrent des projets de la table",
]
MEANS = [
    "Rencontrer les organismes du quartier pour recenser les besoins des ménages.",
    "Mobiliser les bénévoles de la table et coordonner leurs disponibilités.",
    "Produire un outil de repérage simple, en français et en anglais.",
    "Présenter les résultats au comité de suivi avant l'assemblée générale.",
    "Chercher un financement récurrent auprès des bailleurs de fonds de la région.",
    "Évaluer la démarche avec les personnes rejointes et ajuster le calendrier.",
    "S'appuyer sur les cuisines collectives et les jardins communautaires existants.",
    "Documenter les pratiques prometteuses pour les partager avec les autres tables.",
]
COUNT_TARGETS = [
    ("Nombre de personnes rejointes", "personnes", [30, 50, 100, 250, 1000]),
    ("Nombre d'ateliers tenus", "ateliers", [4, 6, 10, 12, 20]),
    ("Nombre de familles inscrites", "familles", [15, 25, 40, 80]),
    ("Kilogrammes d'aliments récupérés", "kg", [500, 1000, 5000, 20000]),
]
DELIVERABLES = [
    "Bilan écrit présenté au comité de suivi",
    "Répertoire des ressources publié",
    "Entente de partenariat signée",
    "Plan de communication adopté",
]
NOTES = [
    "Rencontre du comité : les partenaires confirment leur participation.",
    "Le financement est accordé pour un an ; la suite reste à trouver.",
    "Première activité tenue, bonne participation des familles.",
    "Retard dû au départ de la personne responsable ; relance prévue à l'automne.",
    "Présenté en assemblée ; les membres demandent un suivi trimestriel.",
]
REASONS = [
    "Faute de financement cette année.",
    "Le partenaire principal s'est retiré du projet.",
    "Reporté pour laisser la priorité à l'aide alimentaire d'urgence.",
]
STATUS_WEIGHTS = {  # current plans; a finished plan's actions are mostly closed
    Action.Status.PLANNED: (30, 5),
    Action.Status.IN_PROGRESS: (40, 15),
    Action.Status.DONE: (20, 65),
    Action.Status.POSTPONED: (6, 5),
    Action.Status.ABANDONED: (4, 10),
}


@dataclass
class Summary:
    """What was written: model name -> rows, and the logins."""

    counts: dict = field(default_factory=dict)
    history: int = 0
    first_plan: str = ""
    password: str = DEFAULT_PASSWORD
    users: list = field(default_factory=list)  # (username, description), a few of them


@contextmanager
def dates_as_given(model):
    """Let bulk_create keep the dates the generator chose rather than now: a note was written
    on its day, an action last changed on the day of its status change."""
    fields = [f for f in model._meta.concrete_fields if getattr(f, "auto_now_add", False)]
    fields += [f for f in model._meta.concrete_fields if getattr(f, "auto_now", False)]
    flags = [(f, f.auto_now, f.auto_now_add) for f in fields]
    for f in fields:
        f.auto_now = f.auto_now_add = False
    try:
        yield
    finally:
        for f, auto_now, auto_now_add in flags:
            f.auto_now, f.auto_now_add = auto_now, auto_now_add


def plan_sizes(actions, rng):
    """Actions per plan: the first plan FIRST_PLAN_ACTIONS, the others about
    ACTIONS_PER_PLAN each (from 40 % to 160 % of it), adding up to `actions`."""
    first = min(actions, FIRST_PLAN_ACTIONS)
    rest = actions - first
    if rest == 0:
        return [first]
    count = max(1, round(rest / ACTIONS_PER_PLAN))
    sizes = [rest // count + (index < rest % count) for index in range(count)]
    for index in range(0, count - 1, 2):  # move actions between pairs: the sum stays
        shift = rng.randint(0, int(sizes[index + 1] * 0.6))
        sizes[index] += shift
        sizes[index + 1] -= shift
    return [first, *sizes]


class Generator:
    def __init__(self, *, actions, seed, today, password):
        self.seed = seed
        self.streams = {}
        self.today = today
        self.password = password
        self.sizes = plan_sizes(actions, random.Random(f"{seed}:sizes"))
        self.coalition_count = math.ceil(len(self.sizes) / PLANS_PER_COALITION)
        self.history = []  # (historical model, [historical instances])
        self.summary = Summary(password=password)

    # Helpers --------------------------------------------------------------------------------

    def stream(self, stage, key):
        """Draw from now on from the random stream of one stage of one plan or coalition, so
        that what the first plan gets does not depend on how many others there are."""
        if (stage, key) not in self.streams:
            self.streams[stage, key] = random.Random(f"{self.seed}:{stage}:{key}")
        self.rng = self.streams[stage, key]

    def for_plan(self, stage, plan):
        self.stream(stage, plan.index)

    def moment(self, day):
        """An aware datetime during office hours of `day`."""
        seconds = self.rng.randrange(8 * 3600, 18 * 3600)
        return timezone.make_aware(
            datetime.datetime.combine(day, datetime.time()) + datetime.timedelta(seconds=seconds)
        )

    def day_between(self, start, end, recent=False):
        """A day in [start, end]; `recent` favours the end, as a plan's news does."""
        span = max(0, (end - start).days)
        fraction = self.rng.random() ** (0.35 if recent else 1)
        return start + datetime.timedelta(days=round(span * fraction))

    def create(self, model, objects):
        # Bulk, not the services (actions.services, partners.services): a service validates,
        # locks and saves one object with its history record, a few queries each, which for
        # 100,000 actions and their rows is hours. The rows built here are valid by
        # construction (tests/devdata checks them), and `record` writes the history the
        # services would have, signed by each coalition's coordinator. There is no single
        # write in this module to route through a service.
        created = model.objects.bulk_create(objects, batch_size=BATCH_SIZE)
        self.summary.counts[model._meta.label] = len(created)
        return created

    def record(self, model, objects, *, update=False):
        """History records of `objects` as they stand now, each dated by its `_history_date`
        and signed by its `_history_user`; written at the end, in one go per model."""
        history = model.history.model
        rows = [
            history(
                history_date=obj._history_date,
                history_user_id=getattr(obj, "_history_user_id", None),
                history_change_reason=getattr(obj, "_change_reason", ""),
                history_type="~" if update else "+",
                **{f.attname: getattr(obj, f.attname) for f in history.tracked_fields},
            )
            for obj in objects
        ]
        self.history.append((history, rows))
        return rows

    # Building ---------------------------------------------------------------------------

    def build(self):
        if not Theme.objects.exists():
            call_command("loaddata", "themes", verbosity=0)
        self.themes = list(Theme.objects.all())
        self.build_coalitions()
        self.build_users()
        self.build_organisations()
        self.build_plans()
        self.build_actions()
        self.build_targets()
        self.build_partners()
        self.build_notes()
        self.build_reviews()
        self.write_history()
        return self.summary

    def build_coalitions(self):
        coalitions = []
        for number in range(1, self.coalition_count + 1):
            place = NEIGHBOURHOODS[number % len(NEIGHBOURHOODS)]
            coalitions.append(
                Coalition(
                    name=f"Table de sécurité alimentaire de {place} no {number:04d}",
                    short_name=f"TSA{number:04d}",
                    slug=f"tsa-{number:04d}",
                    territory=place,
                    publishes_progress=number % 4 == 0,
                )
            )
        self.coalitions = self.create(Coalition, coalitions)
        assemblies = []
        for index, coalition in enumerate(self.coalitions):
            self.stream("assemblies", index)
            # A yearly assembly in June, the last one held between 1 and 12 months ago.
            last = self.today - datetime.timedelta(days=self.rng.randrange(30, 365))
            for years in range(3):
                day = last - datetime.timedelta(days=365 * years)
                assemblies.append(
                    Assembly(
                        coalition=coalition,
                        date=day,
                        title=f"Assemblée générale {day.year}",
                    )
                )
        self.assemblies = self.create(Assembly, assemblies)

    def build_users(self):
        User = get_user_model()
        password = make_password(self.password)  # hashed once: hashing is slow by design
        users = [
            User(
                username="synth-admin",
                first_name="Administration",
                is_staff=True,
                is_superuser=True,
                password=password,
            )
        ]
        for number in range(1, self.coalition_count + 1):
            users += [
                User(
                    username=f"coord-{number:04d}",
                    first_name="Coordination",
                    last_name=f"TSA{number:04d}",
                    is_staff=True,
                    password=password,
                ),
                User(
                    username=f"membre-{number:04d}",
                    first_name="Membre",
                    last_name=f"TSA{number:04d}",
                    password=password,
                ),
            ]
        users = self.create(User, users)
        self.superuser, people = users[0], users[1:]
        self.coordinators = people[0::2]
        self.members = people[1::2]
        for coalition, coordinator in zip(self.coalitions, self.coordinators, strict=True):
            coalition.coordinator = coordinator
        Group.objects.get(name=COORDINATION).user_set.add(*self.coordinators)
        Group.objects.get(name=MEMBERS).user_set.add(*self.members)
        self.summary.users = [
            ("synth-admin", "superuser, every coalition"),
            ("coord-0001", f"coordinator of {self.coalitions[0]}"),
            ("membre-0001", f"member of {self.coalitions[0]}"),
        ]

    def build_organisations(self):
        organisations = []
        regions = math.ceil(self.coalition_count / COALITIONS_PER_REGION)
        for region in range(regions):
            suffix = f" (région {region + 1})" if region else ""
            organisations += [
                Organisation(name=name + suffix, kind=kind)
                for name, kind in REGIONAL_ORGANISATIONS
            ]
        for index, coalition in enumerate(self.coalitions):
            self.stream("organisations", index)
            organisations.append(
                Organisation(
                    name=f"Coordination {coalition.short_name}",
                    short_name="Coordo.",
                    kind=Organisation.Kind.COORDINATION,
                    coalition=coalition,
                )
            )
            for number in range(1, LOCAL_ORGANISATIONS + 1):
                prefix, kind = self.rng.choice(ORGANISATION_KINDS)
                organisations.append(
                    Organisation(
                        name=f"{prefix} {coalition.territory} {coalition.short_name}-{number:02d}",
                        short_name=f"{prefix[:3].upper()}{number:02d}" if number % 3 else "",
                        kind=kind,
                    )
                )
        organisations = self.create(Organisation, organisations)
        regional_count = regions * len(REGIONAL_ORGANISATIONS)
        per_coalition = LOCAL_ORGANISATIONS + 1
        self.regional = {}  # coalition id -> its region's organisations
        self.local = {}  # coalition id -> [its coordination, its local organisations]
        for index, coalition in enumerate(self.coalitions):
            start = index // COALITIONS_PER_REGION * len(REGIONAL_ORGANISATIONS)
            self.regional[coalition.pk] = organisations[
                start : start + len(REGIONAL_ORGANISATIONS)
            ]
            start = regional_count + index * per_coalition
            self.local[coalition.pk] = organisations[start : start + per_coalition]
        self.stream("organisations", "history")
        for obj in organisations[:regional_count]:
            obj._history_date = self.moment(self.today - datetime.timedelta(days=5 * 365))
        for index, coalition in enumerate(self.coalitions):
            self.stream("organisations", index)
            for obj in self.local[coalition.pk]:
                obj._history_date = self.moment(self.today - datetime.timedelta(days=5 * 365))
        self.record(Organisation, organisations)

        memberships = []
        for coalition, coordinator, member in zip(
            self.coalitions, self.coordinators, self.members, strict=True
        ):
            coordination, *local = self.local[coalition.pk]
            memberships += [
                Membership(coalition=coalition, user=coordinator, organisation=coordination),
                Membership(coalition=coalition, user=member, organisation=local[0]),
            ]
        self.create(Membership, memberships)

    def build_plans(self):
        plans = []
        for index, size in enumerate(self.sizes):
            self.stream("plan", index)
            coalition = self.coalitions[index // PLANS_PER_COALITION]
            current = index % PLANS_PER_COALITION == 0
            # The current plan started up to two years ago; the one before ended before it.
            start = self.today - datetime.timedelta(days=self.rng.randrange(60, 2 * 365))
            start = start.replace(day=1)
            if not current:
                start = start.replace(year=start.year - 3)
            end = start.replace(year=start.year + 3) - datetime.timedelta(days=1)
            plan = Plan(
                coalition=coalition,
                title=f"Plan d'action en sécurité alimentaire {start.year}-{end.year}",
                slug=f"{coalition.slug}-{start.year}-{end.year}",
                kind=Plan.Kind.OPERATIONAL if current else Plan.Kind.STRATEGIC,
                start=start,
                end=end,
                adopted_on=start + datetime.timedelta(days=self.rng.randrange(10, 60)),
                problem="Des ménages du territoire vivent de l'insécurité alimentaire.",
            )
            plan.size, plan.current, plan.index = size, current, index
            plans.append(plan)
        self.plans = self.create(Plan, plans)
        self.summary.first_plan = self.plans[0].slug
        for plan in self.plans:
            self.stream("plan", plan.index)
            plan._history_date = self.moment(plan.adopted_on)
            plan._history_user_id = plan.coalition.coordinator.pk
        self.record(Plan, self.plans)

        periods, objectives = [], []
        for plan in self.plans:
            self.stream("outline", plan.index)
            for year in range(3):
                start = plan.start.replace(year=plan.start.year + year)
                periods.append(
                    Period(
                        plan=plan,
                        label=f"{start.year}-{start.year + 1}",
                        start=start,
                        end=start.replace(year=start.year + 1) - datetime.timedelta(days=1),
                    )
                )
            for number in range(1, self.rng.randint(3, 5) + 1):
                objectives.append(
                    Objective(
                        plan=plan,
                        number=number,
                        title=OBJECTIVE_TITLES[(number + plan.index) % len(OBJECTIVE_TITLES)],
                        target_populations="Familles, aînés, personnes seules"
                        if number == 1
                        else "",
                    )
                )
        self.periods = {}
        for period in self.create(Period, periods):
            self.periods.setdefault(period.plan_id, []).append(period)
        objectives = self.create(Objective, objectives)
        subs = []
        for objective in objectives:
            self.for_plan("outline", objective.plan)
            for number in range(1, self.rng.randint(2, 4) + 1):
                subs.append(
                    SubObjective(
                        objective=objective,
                        number=number,
                        title=f"{self.rng.choice(VERBS)} {self.rng.choice(SUBJECTS)}",
                    )
                )
        self.subs = {}
        for sub in self.create(SubObjective, subs):
            self.subs.setdefault(sub.objective.plan_id, []).append(sub)
        for model, objs in [(Period, periods), (Objective, objectives), (SubObjective, subs)]:
            for obj in objs:
                plan = obj.objective.plan if model is SubObjective else obj.plan
                self.stream("outline", plan.index)
                obj._history_date = self.moment(plan.adopted_on)
            self.record(model, objs)

    def build_actions(self):
        actions = []
        for plan in self.plans:
            self.stream("actions", plan.index)
            subs = self.subs[plan.pk]
            weights = [w[0 if plan.current else 1] for w in STATUS_WEIGHTS.values()]
            adopted = self.moment(plan.adopted_on)
            for index in range(plan.size):
                sub = subs[index % len(subs)]
                code = f"{sub.code}.{index // len(subs) + 1}"
                status = self.rng.choices(list(STATUS_WEIGHTS), weights)[0]
                completion = None
                if status == Action.Status.IN_PROGRESS and self.rng.random() < 0.7:
                    completion = self.rng.randrange(5, 100, 5)
                action = Action(
                    plan=plan,
                    sub_objective=sub,
                    code=code,
                    sort_key=code_sort_key(code),  # save() sets it; bulk_create does not
                    title=f"{self.rng.choice(VERBS)} {self.rng.choice(SUBJECTS)}",
                    means=" ".join(self.rng.sample(MEANS, self.rng.randint(1, 4))),
                    status=status,
                    completion=completion,
                    carrier_to_be_found=self.rng.random() < 0.05,
                    created_at=adopted,
                    updated_at=adopted,
                )
                action.coordinator = plan.coalition.coordinator
                # Those that moved on since the adoption changed status once, on this day.
                action.changed_on = None
                if status != Action.Status.PLANNED or completion is not None:
                    action.changed_on = self.day_between(
                        plan.adopted_on, min(plan.end, self.today), recent=True
                    )
                    action.updated_at = self.moment(action.changed_on)
                self.choose_partners(action)
                actions.append(action)
        with dates_as_given(Action):
            self.actions = self.create(Action, actions)

        Schedule, Tagging = Action.periods.through, Action.themes.through
        schedule, tagging = [], []
        for action in self.actions:
            self.for_plan("schedule", action.plan)
            periods = self.periods[action.plan_id]
            first = self.rng.randrange(len(periods))
            last = min(len(periods), first + self.rng.choice([1, 1, 2, 3]))
            themes = self.rng.sample(self.themes, self.rng.choice([0, 0, 1, 1, 2]))
            schedule += [Schedule(action=action, period=period) for period in periods[first:last]]
            tagging += [Tagging(action=action, theme=theme) for theme in themes]
        # The rows themselves, by action: their ids go into each history record's copy.
        self.m2m_rows = {"periods": {}, "themes": {}}
        for name, model, rows in [("periods", Schedule, schedule), ("themes", Tagging, tagging)]:
            for row in self.create(model, rows):
                self.m2m_rows[name].setdefault(row.action_id, []).append(row)

        # History: each action added when its plan was adopted, as planned, then its status
        # change with a trail entry that says why.
        notes, changed = [], []
        final = {action.pk: (action.status, action.completion) for action in self.actions}
        for action in self.actions:
            action.status, action.completion = Action.Status.PLANNED, None
            action._history_date = action.created_at
            action._history_user_id = action.coordinator.pk
        added = self.record(Action, self.actions)
        for action in self.actions:
            self.for_plan("status", action.plan)
            action.status, action.completion = final[action.pk]
            if action.changed_on is None:
                continue
            action._history_date = action.updated_at
            reason = ""
            if action.status in Action.STATUSES_NEEDING_REASON:
                reason = self.rng.choice(REASONS)
            action._change_reason = reason
            changed.append(action)
            notes.append(
                ProgressNote(
                    action=action,
                    date=action.changed_on,
                    kind=ProgressNote.Kind.STATUS_CHANGE,
                    status_from=Action.Status.PLANNED,
                    status_to=action.status,
                    reason=reason,
                    author=action.coordinator,
                    created_at=action.updated_at,
                )
            )
        updated = self.record(Action, changed, update=True)
        self.status_notes = notes
        self.action_history = (added, updated)

    def choose_partners(self, action):
        """The action's partner cell: its text now, its links once the action is saved."""
        Confirmation, Role = ActionPartner.Confirmation, ActionPartner.Role
        coordination, *local = self.local[action.plan.coalition_id]
        chosen = self.rng.sample(local, self.rng.choice([1, 2, 2, 3, 3, 4]))
        if self.rng.random() < 0.15:
            chosen[-1] = self.rng.choice(self.regional[action.plan.coalition_id])
        if self.rng.random() < 0.1:
            chosen[0] = coordination
        action.links = []
        for order, organisation in enumerate(chosen):
            carrier = order == 0 and not action.carrier_to_be_found
            action.links.append(
                ActionPartner(
                    action=action,
                    organisation=organisation,
                    role=Role.CARRIER if carrier else self.rng.choice(list(Role)[1:]),
                    confirmation=self.rng.choices(list(Confirmation), [50, 10, 15, 15, 3, 7])[0],
                    label_in_source=organisation.short_name or organisation.name,
                    order=order,
                )
            )
        action.partners_text = ", ".join(link.label_in_source for link in action.links)

    def build_targets(self):
        targets = []
        for action in self.actions:
            self.for_plan("targets", action.plan)
            for order in range(self.rng.choice([1, 1, 2, 2, 3])):
                if self.rng.random() < 0.6:
                    description, unit, goals = self.rng.choice(COUNT_TARGETS)
                    targets.append(
                        Target(
                            action=action,
                            description=description,
                            kind=Target.Kind.COUNT,
                            unit=unit,
                            target_value=Decimal(self.rng.choice(goals)),
                            order=order,
                        )
                    )
                else:
                    done = action.status == Action.Status.DONE or self.rng.random() < 0.1
                    targets.append(
                        Target(
                            action=action,
                            description=self.rng.choice(DELIVERABLES),
                            kind=Target.Kind.DELIVERABLE,
                            is_done=done,
                            order=order,
                        )
                    )
        targets = self.create(Target, targets)
        values, delivered = [], []
        for target in targets:
            self.for_plan("values", target.action.plan)
            action = target.action
            plan = action.plan
            target._history_date = self.moment(plan.adopted_on)
            target._history_user_id = action.coordinator.pk
            if target.kind == Target.Kind.DELIVERABLE:
                if target.is_done:
                    delivered.append(target)
                continue
            if action.status == Action.Status.PLANNED:
                continue
            reached = 0
            days = sorted(
                self.day_between(plan.adopted_on, min(plan.end, self.today), recent=True)
                for _ in range(self.rng.randint(0, 3))
            )
            for day in days:
                reached += self.rng.randrange(0, int(target.target_value) // 2 + 2)
                value = TargetValue(
                    target=target,
                    date=day,
                    value=Decimal(reached),
                    note="Compilé par la coordination" if self.rng.random() < 0.2 else "",
                )
                value._history_date = self.moment(day)
                value._history_user_id = action.coordinator.pk
                values.append(value)
        for target in delivered:
            target.is_done = False
        self.record(Target, targets)
        for target in delivered:
            self.for_plan("delivered", target.action.plan)
            plan = target.action.plan
            target.is_done = True
            target._history_date = self.moment(
                self.day_between(plan.adopted_on, min(plan.end, self.today), recent=True)
            )
        self.record(Target, delivered, update=True)
        self.record(TargetValue, self.create(TargetValue, values))

    def build_partners(self):
        Confirmation = ActionPartner.Confirmation
        confirmed = []
        links = self.create(ActionPartner, [link for a in self.actions for link in a.links])
        for link in links:
            self.for_plan("partners", link.action.plan)
            plan = link.action.plan
            link._history_date = self.moment(plan.adopted_on)
            link._history_user_id = link.action.coordinator.pk
            # Some partners were asked after the plan's adoption and confirmed later.
            confirmed_now = (Confirmation.CONFIRMED_MEMBER, Confirmation.CONFIRMED_COLLABORATOR)
            if link.confirmation in confirmed_now and self.rng.random() < 0.2:
                confirmed.append((link, link.confirmation))
                link.confirmation = Confirmation.POTENTIAL
        self.record(ActionPartner, links)
        for link, confirmation in confirmed:
            self.for_plan("confirmed", link.action.plan)
            plan = link.action.plan
            link.confirmation = confirmation
            link._history_date = self.moment(
                self.day_between(plan.adopted_on, min(plan.end, self.today), recent=True)
            )
        self.record(ActionPartner, [link for link, _ in confirmed], update=True)

    def build_notes(self):
        notes = list(self.status_notes)
        for action in self.actions:
            self.for_plan("notes", action.plan)
            if action.status == Action.Status.PLANNED:
                continue
            plan = action.plan
            for _ in range(self.rng.choice([0, 0, 1, 1, 2])):
                notes.append(
                    ProgressNote(
                        action=action,
                        date=self.day_between(
                            plan.adopted_on, min(plan.end, self.today), recent=True
                        ),
                        text=self.rng.choice(NOTES),
                        author=action.coordinator,
                        created_at=None,
                    )
                )
        for note in notes:
            self.for_plan("notes-history", note.action.plan)
            note.created_at = note.created_at or self.moment(note.date)  # written on its day
            note._history_date, note._history_user_id = note.created_at, note.author.pk
        with dates_as_given(ProgressNote):
            self.record(ProgressNote, self.create(ProgressNote, notes))

    def build_reviews(self):
        assemblies = {}
        for assembly in self.assemblies:
            assemblies.setdefault(assembly.coalition_id, assembly)  # the latest
        reviews = []
        for plan in self.plans:
            self.stream("review", plan.index)
            if not plan.current or plan.start > self.today - datetime.timedelta(days=365):
                continue
            reviews.append(
                Review(
                    plan=plan,
                    title=f"Bilan de l'an 1 ({plan.start.year}-{plan.start.year + 1})",
                    start=plan.start,
                    end=plan.start.replace(year=plan.start.year + 1) - datetime.timedelta(1),
                    presented_at=assemblies.get(plan.coalition_id),
                )
            )
        reviews = self.create(Review, reviews)
        meetings, funding, staff, items = [], [], [], []
        for review in reviews:
            self.stream("review", review.plan.index)
            meetings += [
                ReviewMeeting(review=review, body=body, count=count, order=order)
                for order, (body, count) in enumerate(
                    [("Comité de coordination", 6), ("Assemblée générale", 1)]
                )
            ]
            funding += [
                ReviewFunding(
                    review=review,
                    funder=funder,
                    amount=Decimal(self.rng.randrange(5_000, 80_000, 500)),
                    order=order,
                )
                for order, funder in enumerate(["Centraide", "Direction de santé publique"])
            ]
            staff.append(ReviewStaff(review=review, role="Coordonnatrice", duration="35 h"))
            items += [
                ReviewItem(review=review, kind=kind, text=text, order=order)
                for order, (kind, text) in enumerate(
                    [
                        (ReviewItem.Kind.RESULT, "Le comité de suivi s'est réuni six fois."),
                        (ReviewItem.Kind.NEXT_STEP, "Trouver un financement pour l'an 3."),
                        (ReviewItem.Kind.QUESTION, "Faut-il élargir la table aux écoles ?"),
                    ]
                )
            ]
        for model, objects in [
            (ReviewMeeting, meetings),
            (ReviewFunding, funding),
            (ReviewStaff, staff),
            (ReviewItem, items),
        ]:
            self.create(model, objects)

    def write_history(self):
        for history, rows in self.history:
            self.summary.history += len(history.objects.bulk_create(rows, batch_size=BATCH_SIZE))
        # The schedule and themes of each action record (django-simple-history's m2m history).
        added, updated = self.action_history
        for name, column in [("periods", "period_id"), ("themes", "theme_id")]:
            through = getattr(Action.history.model, name).model
            rows = [
                through(
                    history=record,
                    id=row.pk,
                    action_id=record.id,
                    **{column: getattr(row, column)},
                )
                for record in added + updated
                for row in self.m2m_rows[name].get(record.id, [])
            ]
            self.summary.history += len(through.objects.bulk_create(rows, batch_size=BATCH_SIZE))


def generate(*, actions, seed=1, today=None, password=DEFAULT_PASSWORD):
    """Fill an empty database with `actions` actions and everything around them."""
    today = today or timezone.localdate()
    with transaction.atomic():
        return Generator(actions=actions, seed=seed, today=today, password=password).build()
