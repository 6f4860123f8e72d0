"""The synthetic-data generator the benchmarks rely on: its sizes and codes, the same data from
the same seed, a first plan that stays the same at every size, a change history that agrees
with the live data, dashboards that show it, query counts that do not grow with the rest of
the database, and the `generate_data` command with its refusals."""

import datetime
import io
from collections import Counter, defaultdict

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from actions.models import Action, ProgressNote, Target, TargetValue, code_sort_key
from devdata.synthetic import FIRST_PLAN_ACTIONS, generate
from partners.models import ActionPartner, Organisation
from plans.models import (
    Assembly,
    Coalition,
    Membership,
    Objective,
    Period,
    Plan,
    Review,
    ReviewFunding,
    SubObjective,
)
from tests.dashboard.reading import elements, french_date, main_text, shown_codes, words
from tests.factories import PlanFactory
from tests.helpers import logs_in

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2025, 5, 20)
STATUS_CHANGE = ProgressNote.Kind.STATUS_CHANGE
PLANNED = Action.Status.PLANNED
HISTORY_MODELS = [Organisation, Plan, Period, Objective, SubObjective]
HISTORY_MODELS += [Action, Target, TargetValue, ActionPartner, ProgressNote]


class Rollback(Exception):
    """Raised to undo one generation, so that the next one starts from an empty database."""


def generated_then_rolled_back(read, **options):
    """What `read()` returns on the data of generate(**options), which is then undone."""
    try:
        with transaction.atomic():
            summary = generate(**options)
            result = read(summary)
            raise Rollback
    except Rollback:
        pass
    assert not Plan.objects.exists()
    return result


def start_of_day(day):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def coordinator_name(plan):
    """The coordinator who signs a plan's changes: coord-0001 for tsa-0001."""
    return "coord-" + plan.coalition.slug.removeprefix("tsa-")


def m2m_history(name):
    """{history_id: {related id}} of every action history record's copy of `name`."""
    through = getattr(Action.history.model, name).model
    column = {"periods": "period_id", "themes": "theme_id"}[name]
    sets = defaultdict(set)
    for history_id, related_id in through.objects.values_list("history_id", column):
        sets[history_id].add(related_id)
    return sets


def rows(queryset, *fields):
    return sorted(queryset.values_list(*fields), key=repr)


def fingerprint(plan_slug=None):
    """Everything generated, by natural keys (codes, names, dates), never by primary key; only
    one plan's, with its coalition's, when `plan_slug` is given."""
    if plan_slug:
        plan = Plan.objects.select_related("coalition").get(slug=plan_slug)
        in_plan = Q(plan=plan)
        of_action = Q(action__plan=plan)
        in_coalition = Q(coalition=plan.coalition)
        of_target = Q(target__action__plan=plan)
        sub_in_plan = Q(objective__plan=plan)
        of_organisation = Q(action_links__action__plan=plan) | in_coalition
    else:
        in_plan = of_action = in_coalition = of_target = sub_in_plan = of_organisation = Q()
    action = ("plan__slug", "code")
    linked = ("action__plan__slug", "action__code")
    periods = dict(Period.objects.values_list("pk", "label"))
    action_periods = defaultdict(set)
    for *key, label in Action.periods.through.objects.filter(of_action).values_list(
        *linked, "period__label"
    ):
        action_periods[tuple(key)].add(label)
    history = Action.history.filter(in_plan)
    schedule = m2m_history("periods")
    return {
        "coalitions": rows(
            Coalition.objects.filter(Q(plans__slug=plan_slug) if plan_slug else Q()).distinct(),
            "slug",
            "name",
            "short_name",
            "territory",
            "publishes_progress",
        ),
        "assemblies": rows(Assembly.objects.filter(in_coalition), "coalition__slug", "date"),
        "memberships": rows(
            Membership.objects.filter(in_coalition),
            "coalition__slug",
            "user__username",
            "organisation__name",
        ),
        "organisations": rows(
            Organisation.objects.filter(of_organisation).distinct(),
            "name",
            "short_name",
            "kind",
            "coalition__slug",
        ),
        "plans": rows(
            Plan.objects.filter(Q(slug=plan_slug) if plan_slug else Q()),
            "slug",
            "title",
            "kind",
            "start",
            "end",
            "adopted_on",
        ),
        "periods": rows(Period.objects.filter(in_plan), "plan__slug", "label", "start", "end"),
        "objectives": rows(Objective.objects.filter(in_plan), "plan__slug", "number", "title"),
        "sub_objectives": rows(
            SubObjective.objects.filter(sub_in_plan),
            "objective__plan__slug",
            "objective__number",
            "number",
            "title",
        ),
        "actions": rows(
            Action.objects.filter(in_plan),
            *action,
            "sub_objective__number",
            "title",
            "means",
            "status",
            "completion",
            "partners_text",
            "carrier_to_be_found",
            "created_at",
            "updated_at",
        ),
        "schedule": sorted((code, sorted(labels)) for code, labels in action_periods.items()),
        "themes": rows(Action.themes.through.objects.filter(of_action), *linked, "theme__code"),
        "targets": rows(
            Target.objects.filter(of_action),
            *linked,
            "order",
            "description",
            "kind",
            "unit",
            "target_value",
            "is_done",
        ),
        "values": rows(
            TargetValue.objects.filter(of_target),
            "target__action__plan__slug",
            "target__action__code",
            "target__order",
            "date",
            "value",
            "note",
        ),
        "partners": rows(
            ActionPartner.objects.filter(of_action),
            *linked,
            "order",
            "organisation__name",
            "role",
            "confirmation",
            "label_in_source",
        ),
        "notes": rows(
            ProgressNote.objects.filter(of_action),
            *linked,
            "date",
            "kind",
            "text",
            "status_from",
            "status_to",
            "reason",
            "author__username",
            "created_at",
        ),
        "reviews": rows(
            Review.objects.filter(in_plan), "plan__slug", "title", "start", "presented_at__date"
        ),
        "funding": rows(
            ReviewFunding.objects.filter(Q(review__plan=plan) if plan_slug else Q()),
            "review__plan__slug",
            "funder",
            "amount",
        ),
        "action_history": [r[1:] for r in sorted_history(history, schedule, periods)],
        "target_history": rows(
            Target.history.filter(of_action),
            *linked,
            "order",
            "history_type",
            "history_date",
            "history_user__username",
            "is_done",
        ),
        "value_history": rows(
            TargetValue.history.filter(of_target),
            "target__action__plan__slug",
            "target__action__code",
            "target__order",
            "date",
            "value",
            "history_type",
            "history_date",
        ),
        "partner_history": rows(
            ActionPartner.history.filter(of_action),
            *linked,
            "organisation__name",
            "confirmation",
            "history_type",
            "history_date",
        ),
        "note_history": rows(
            ProgressNote.history.filter(of_action),
            *linked,
            "kind",
            "date",
            "text",
            "history_type",
            "history_date",
        ),
        "plan_history": rows(
            Plan.history.filter(Q(id=plan.pk) if plan_slug else Q()),
            "slug",
            "history_type",
            "history_date",
        ),
    }


def sorted_history(history, schedule, periods):
    """Action history records with the labels of their periods copy, by natural key."""
    records = history.values_list(
        "history_id",
        "plan__slug",
        "code",
        "history_type",
        "history_date",
        "history_user__username",
        "history_change_reason",
        "status",
        "completion",
        "means",
        "partners_text",
    )
    return sorted(
        ((*record, sorted(periods[pk] for pk in schedule[record[0]])) for record in records),
        key=lambda record: repr(record[1:]),
    )


def label(status):
    with translation.override("fr"):
        return str(Action.Status(status).label)


# --- Sizes and codes --------------------------------------------------------------------------


def test_sizes_counts_and_codes():
    summary = generate(actions=333, seed=4, today=TODAY)

    assert Action.objects.count() == 333
    plans = Plan.objects.select_related("coalition").order_by("coalition__slug", "-start")
    sizes = {plan.slug: plan.actions.count() for plan in plans}
    assert sum(sizes.values()) == 333
    assert len(sizes) == 4  # 50, then 283 in three plans of about 100
    assert sizes[summary.first_plan] == FIRST_PLAN_ACTIONS
    assert all(40 <= size <= 160 for slug, size in sizes.items() if slug != summary.first_plan)
    # The first plan is the first coalition's current one.
    first = plans[0]
    assert (first.slug, first.coalition.slug) == (summary.first_plan, "tsa-0001")
    assert Coalition.objects.count() == 2
    assert Plan.objects.filter(coalition=first.coalition).count() == 2

    # The summary's counts are what the database holds.
    assert len(summary.counts) >= 20
    for name, count in summary.counts.items():
        assert apps.get_model(name).objects.count() == count, name
    assert summary.counts["actions.Action"] == 333
    history_rows = sum(model.history.count() for model in HISTORY_MODELS)
    history_rows += sum(getattr(Action.history.model, m).count() for m in ["periods", "themes"])
    assert summary.history == history_rows
    assert summary.password == "donnees-synthetiques"
    assert [user for user, _ in summary.users] == ["synth-admin", "coord-0001", "membre-0001"]

    for action in Action.objects.select_related("sub_objective__objective"):
        sub = action.sub_objective
        assert action.code.startswith(f"{sub.objective.number}.{sub.number}."), action.code
        assert len(action.code.split(".")) == 3, action.code
        assert action.plan_id == sub.objective.plan_id, action.code
        assert action.sort_key == code_sort_key(action.code)


@pytest.mark.parametrize("actions", [1, 30, 50])
def test_a_small_database_is_one_plan(actions):
    summary = generate(actions=actions, seed=1, today=TODAY)
    plan = Plan.objects.get()
    assert plan.slug == summary.first_plan
    assert plan.actions.count() == Action.objects.count() == actions
    assert Coalition.objects.get().slug == "tsa-0001"


# --- Reproducibility ------------------------------------------------------------------------


def test_same_seed_same_data_other_seed_other_data():
    def read(summary):
        return fingerprint()

    first = generated_then_rolled_back(read, actions=260, seed=7, today=TODAY)
    again = generated_then_rolled_back(read, actions=260, seed=7, today=TODAY)
    other = generated_then_rolled_back(read, actions=260, seed=8, today=TODAY)

    assert len(first["actions"]) == 260
    assert len(first["action_history"]) > 260
    assert all(first[name] for name in first), [name for name in first if not first[name]]
    assert [name for name in first if again[name] != first[name]] == []
    assert other != first
    # Another seed changes the plans themselves, not just some detail.
    for name in ["actions", "targets", "partners", "notes", "action_history"]:
        assert other[name] != first[name], name


def test_first_plan_is_the_same_at_every_size():
    def read(summary):
        return summary.first_plan, fingerprint(summary.first_plan), Action.objects.count()

    small = generated_then_rolled_back(read, actions=50, seed=3, today=TODAY)
    large = generated_then_rolled_back(read, actions=400, seed=3, today=TODAY)

    assert (small[2], large[2]) == (50, 400)
    assert small[0] == large[0]
    small_plan, large_plan = small[1], large[1]
    assert len(small_plan["actions"]) == FIRST_PLAN_ACTIONS
    assert [name for name in small_plan if large_plan[name] != small_plan[name]] == []


# --- History --------------------------------------------------------------------------------


def latest_records(model):
    """{object id: its latest history record}."""
    latest = {}
    for record in model.history.order_by("history_date", "history_id"):
        latest[record.id] = record
    return latest


def test_history_agrees_with_the_live_data():
    generate(actions=180, seed=5, today=TODAY)
    actions = list(Action.objects.select_related("plan__coalition").prefetch_related("periods"))
    records = defaultdict(list)
    for record in Action.history.select_related("history_user").order_by(
        "history_date", "history_id"
    ):
        records[record.id].append(record)
    status_notes = {
        note.action_id: note
        for note in ProgressNote.objects.filter(kind=STATUS_CHANGE).select_related("author")
    }
    assert ProgressNote.objects.filter(kind=STATUS_CHANGE).count() == len(status_notes)
    statuses = Counter(action.status for action in actions)
    assert len(statuses) == 5, statuses  # every status occurs

    for action in actions:
        plan, history = action.plan, records[action.pk]
        coordinator = coordinator_name(plan)
        added = [r for r in history if r.history_type == "+"]
        assert len(added) == 1, action.code
        assert timezone.localdate(added[0].history_date) == plan.adopted_on, action.code
        assert (added[0].status, added[0].history_user.username) == (PLANNED, coordinator)
        latest = history[-1]
        assert (latest.status, latest.completion, latest.means, latest.partners_text) == (
            action.status,
            action.completion,
            action.means,
            action.partners_text,
        ), action.code
        changed = [r for r in history if r.history_type == "~"]
        if action.status == PLANNED:
            assert changed == [], action.code
            assert action.pk not in status_notes, action.code
            continue
        assert len(changed) == 1, action.code
        note = status_notes[action.pk]
        assert (note.status_from, note.status_to) == (PLANNED, action.status), action.code
        assert note.date == timezone.localdate(changed[0].history_date), action.code
        assert note.author.username == coordinator, action.code
        assert changed[0].history_user.username == coordinator, action.code
        if action.status in Action.STATUSES_NEEDING_REASON:
            assert note.reason, action.code
            assert changed[0].history_change_reason == note.reason, action.code
        else:
            assert note.reason == "", action.code

    # Each record's copy of the schedule and themes is the action's.
    current = {
        "periods": {a.pk: {p.pk for p in a.periods.all()} for a in actions},
        "themes": defaultdict(set),
    }
    for action_id, theme_id in Action.themes.through.objects.values_list("action_id", "theme_id"):
        current["themes"][action_id].add(theme_id)
    assert any(current["themes"].values())
    for name in ["periods", "themes"]:
        copies = m2m_history(name)
        for action in actions:
            for record in records[action.pk]:
                assert copies[record.history_id] == current[name][action.pk], (name, action.code)

    # Every target, value, partner link and note has a history that ends as it stands now.
    tracked = {
        Target: ["description", "kind", "unit", "target_value", "is_done"],
        TargetValue: ["date", "value", "note"],
        ActionPartner: ["organisation_id", "role", "confirmation", "label_in_source"],
        ProgressNote: ["date", "kind", "text", "status_from", "status_to", "reason"],
    }
    for model, fields in tracked.items():
        live = {obj.pk: obj for obj in model.objects.all()}
        latest = latest_records(model)
        assert live, model
        assert set(latest) == set(live), model
        for pk, obj in live.items():
            now = [getattr(obj, f) for f in fields]
            assert [getattr(latest[pk], f) for f in fields] == now, (model, pk)
    # Some were changed after the plan's adoption: delivered, confirmed later.
    assert Target.history.filter(history_type="~", is_done=True).exists()
    assert ActionPartner.history.filter(history_type="~").exists()
    for note in ProgressNote.objects.all():
        assert timezone.localdate(note.created_at) == note.date

    # No change before its plan's adoption, none after today.
    end_of_today = start_of_day(TODAY + datetime.timedelta(days=1))
    plan_of = {
        Plan: "id",
        Period: "plan_id",
        Objective: "plan_id",
        SubObjective: "objective__plan_id",
        Action: "plan_id",
        Target: "action__plan_id",
        TargetValue: "target__action__plan_id",
        ActionPartner: "action__plan_id",
        ProgressNote: "action__plan_id",
    }
    adopted = {plan.pk: start_of_day(plan.adopted_on) for plan in Plan.objects.all()}
    checked = 0
    for model, path in plan_of.items():
        for plan_id, when in model.history.values_list(path, "history_date"):
            assert adopted[plan_id] <= when < end_of_today, (model, plan_id, when)
            checked += 1
    assert checked > 1000
    assert Organisation.history.filter(history_date__gte=end_of_today).count() == 0


# --- What the dashboard shows ---------------------------------------------------------------


def first_plan_pages(slug):
    action = Action.objects.get(plan__slug=slug, code="1.1.1")
    return {
        "home": reverse("dashboard:home"),
        "plan": reverse("dashboard:plan", args=[slug]),
        "action": reverse("dashboard:action", args=[slug, action.code]),
        "changes": reverse("dashboard:changes", args=[slug]),
    }


def test_members_read_the_first_plan_and_its_changes(client):
    today = timezone.localdate()
    summary = generate(actions=250, seed=1, today=today, password="secret-synth")
    slug = summary.first_plan
    plan = Plan.objects.get(slug=slug)
    codes = set(plan.actions.values_list("code", flat=True))
    assert len(codes) == FIRST_PLAN_ACTIONS

    assert logs_in(client, "membre-0001", "secret-synth")
    response = client.get(reverse("dashboard:plan", args=[slug]))
    assert response.status_code == 200
    assert shown_codes(response) == codes

    # What changed since the coalition's last assembly: each status change from that day on.
    since = plan.coalition.assemblies.filter(date__lte=today).order_by("-date").first().date
    notes = ProgressNote.objects.filter(action__plan=plan, kind=STATUS_CHANGE)
    recent = notes.filter(Q(date__gte=since) | Q(created_at__gte=start_of_day(since)))
    older = notes.exclude(pk__in=recent.values("pk"))
    assert recent.exists() and older.exists()
    response = client.get(reverse("dashboard:changes", args=[slug]))
    assert response.status_code == 200
    assert f"depuis le {french_date(since)}" in main_text(response)
    sections = {
        words(section).split(" ")[0]: section
        for section in elements(response, "section", "action-changes")
    }
    shown = sum(len(elements(section, "li", "change-status")) for section in sections.values())
    assert shown == recent.count()
    assert f"{recent.count()} changements de statut" in main_text(response)
    for note in recent.select_related("action"):
        shown = [words(li) for li in elements(sections[note.action.code], "li", "change-status")]
        assert shown == [
            f"{french_date(note.date)} · Coordination TSA0001 "
            f"Statut : {label(PLANNED)} → {label(note.status_to)}"
            + (f" {note.reason}" if note.reason else "")
        ], note.action.code
    for note in older.select_related("action"):
        if note.action.code in sections:
            assert not elements(sections[note.action.code], "li", "change-status")

    # Another coalition's member does not see it, and sees her own.
    client.logout()
    assert logs_in(client, "membre-0002", "secret-synth")
    assert client.get(reverse("dashboard:plan", args=[slug])).status_code == 404
    own = Plan.objects.filter(coalition__slug="tsa-0002").first()
    assert client.get(reverse("dashboard:plan", args=[own.slug])).status_code == 200

    # The coordinator opens one of her actions in the admin.
    client.logout()
    assert logs_in(client, "coord-0001", "secret-synth")
    action = plan.actions.get(code="1.1.1")
    response = client.get(reverse("admin:actions_action_change", args=[action.pk]))
    assert response.status_code == 200
    assert action.title in words(response.content.decode())


def measure_pages(client, slug, assert_max_queries=None, caps=None):
    """{page: queries} of the first plan's pages as membre-0001, once the caches are warm."""
    client.force_login(get_user_model().objects.get(username="membre-0001"))
    counts = {}
    for page, address in first_plan_pages(slug).items():
        client.get(address)  # warm the per-process caches
        if caps is None:
            context = CaptureQueriesContext(connection)
        else:
            context = assert_max_queries(caps[page])
        with context as captured:
            response = client.get(address)
        assert response.status_code == 200, page
        assert Plan.objects.get(slug=slug).title in main_text(response), page
        counts[page] = len(captured)
    return counts


def test_page_queries_do_not_grow_with_the_database(client, django_assert_max_num_queries):
    today = timezone.localdate()

    def small_counts(summary):
        return summary.first_plan, measure_pages(client, summary.first_plan)

    slug, small = generated_then_rolled_back(small_counts, actions=50, seed=2, today=today)
    summary = generate(actions=600, seed=2, today=today)
    assert summary.first_plan == slug
    assert Plan.objects.count() > 5
    large = measure_pages(client, slug, django_assert_max_num_queries, small)

    assert large == small


# --- The command ----------------------------------------------------------------------------


def database_counts():
    models = [Coalition, Plan, Action, Organisation, ProgressNote, get_user_model()]
    counts = {model._meta.label: model.objects.count() for model in models}
    counts["history"] = sum(model.history.count() for model in HISTORY_MODELS)
    return counts


def test_command_fills_an_empty_database(settings, client):
    settings.DEBUG = True
    out = io.StringIO()
    call_command(
        "generate_data",
        "--actions=120",
        "--seed=9",
        "--today=2025-03-01",
        "--password=mot-synth",
        stdout=out,
    )

    output = out.getvalue()
    lines = output.splitlines()
    assert Action.objects.count() == 120
    for model in [Coalition, Plan, Action, Target, ActionPartner, ProgressNote]:
        assert f"{model.objects.count():>9} {model._meta.label}" in lines
    history = sum(model.history.count() for model in HISTORY_MODELS)
    history += sum(getattr(Action.history.model, m).count() for m in ["periods", "themes"])
    assert f"{history:>9,} historique / history records".replace(",", " ") in lines
    first = Plan.objects.get(coalition__slug="tsa-0001", kind=Plan.Kind.OPERATIONAL)
    assert f"Premier plan / first plan: {first.slug}" in lines
    for username in ["synth-admin", "coord-0001", "membre-0001"]:
        assert any(line.startswith(f"  {username} / mot-synth  (") for line in lines), username
    # The data's today is the one given.
    assert first.adopted_on < datetime.date(2025, 3, 1)
    assert Assembly.objects.latest("date").date <= datetime.date(2025, 1, 30)
    assert ProgressNote.objects.latest("date").date <= datetime.date(2025, 3, 1)
    assert logs_in(client, "membre-0001", "mot-synth")


FRENCH_AND_ENGLISH = {
    "debug": ["n'existent qu'en développement", "exists only in development"],
    "actions": ["Il faut au moins une action", "At least one action is needed"],
    "not empty": ["La base contient déjà des plans", "The database already holds plans"],
}


def refused(*args):
    with pytest.raises(CommandError) as refusal:
        call_command("generate_data", *args, stdout=io.StringIO())
    return str(refusal.value)


def test_command_refuses_a_database_that_holds_plans(settings):
    settings.DEBUG = True
    generate(actions=60, seed=1, today=TODAY)
    before = database_counts()

    message = refused("--actions=60", "--seed=2")

    assert all(text in message for text in FRENCH_AND_ENGLISH["not empty"]), message
    assert database_counts() == before
    assert before["actions.Action"] == 60


def test_command_refuses_even_one_foreign_plan(settings):
    settings.DEBUG = True
    PlanFactory()
    message = refused("--actions=10")
    assert all(text in message for text in FRENCH_AND_ENGLISH["not empty"]), message
    assert (Plan.objects.count(), Action.objects.count()) == (1, 0)


def test_command_runs_only_in_development(settings):
    settings.DEBUG = False
    message = refused("--actions=10")
    assert all(text in message for text in FRENCH_AND_ENGLISH["debug"]), message
    assert (Plan.objects.count(), Coalition.objects.count()) == (0, 0)
    assert not get_user_model().objects.filter(username="synth-admin").exists()


@pytest.mark.parametrize("actions", ["0", "-5"])
def test_command_needs_at_least_one_action(settings, actions):
    settings.DEBUG = True
    message = refused(f"--actions={actions}")
    assert all(text in message for text in FRENCH_AND_ENGLISH["actions"]), message
    assert (Plan.objects.count(), Coalition.objects.count()) == (0, 0)
