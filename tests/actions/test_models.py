"""Action rules: codes that sort and identify, completion, lateness, progress, targets, notes."""

import datetime
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction

from actions.models import Action, ProgressNote, Target, TargetValue
from tests.factories import (
    ActionFactory,
    ObjectiveFactory,
    PeriodFactory,
    PlanFactory,
    SubObjectiveFactory,
    TargetFactory,
)

pytestmark = pytest.mark.django_db

Status = Action.Status
DUPLICATE_CODE = "Ce code d'action existe déjà dans ce plan."
# The wording is still being polished; the substance of the message is what the user needs.
MALFORMED_CODE = "nombres séparés par des points"


def sub_objective_in(plan, objective_number, number):
    objective = plan.objectives.filter(number=objective_number).first() or ObjectiveFactory(
        plan=plan, number=objective_number
    )
    return SubObjectiveFactory(objective=objective, number=number)


@pytest.fixture
def plan():
    return PlanFactory()


@pytest.fixture
def sub_1_1(plan):
    return sub_objective_in(plan, 1, 1)


def unsaved_action(sub_objective, code, **fields):
    return Action(sub_objective=sub_objective, code=code, title=f"Action {code}", **fields)


def error_messages(excinfo):
    return [message for messages in excinfo.value.message_dict.values() for message in messages]


# --- Codes -----------------------------------------------------------------------------------


def test_actions_come_back_in_natural_code_order(plan):
    subs = {
        "1.1": sub_objective_in(plan, 1, 1),
        "1.2": sub_objective_in(plan, 1, 2),
        "1.10": sub_objective_in(plan, 1, 10),
        "2.1": sub_objective_in(plan, 2, 1),
    }
    for code in ["1.1.1", "1.1.2", "1.1.10", "1.1.9", "1.10.1", "1.2.1", "2.1.1"]:
        ActionFactory(sub_objective=subs[code.rsplit(".", 1)[0]], code=code)

    codes = list(Action.objects.filter(plan=plan).values_list("code", flat=True))

    assert codes == ["1.1.1", "1.1.2", "1.1.9", "1.1.10", "1.2.1", "1.10.1", "2.1.1"]


def test_duplicate_code_in_the_same_plan_is_refused_by_validation(sub_1_1):
    ActionFactory(sub_objective=sub_1_1, code="1.1.1")

    with pytest.raises(ValidationError) as excinfo:
        unsaved_action(sub_1_1, "1.1.1").full_clean()

    assert excinfo.value.message_dict[NON_FIELD_ERRORS] == [DUPLICATE_CODE]


def test_duplicate_code_in_the_same_plan_is_refused_by_the_database(plan, sub_1_1):
    ActionFactory(sub_objective=sub_1_1, code="1.1.1")

    with pytest.raises(IntegrityError), transaction.atomic():
        unsaved_action(sub_1_1, "1.1.1").save()

    assert Action.objects.filter(plan=plan).count() == 1


def test_same_code_in_another_plan_is_fine(sub_1_1):
    ActionFactory(sub_objective=sub_1_1, code="1.1.1")
    other_sub = sub_objective_in(PlanFactory(), 1, 1)
    action = unsaved_action(other_sub, "1.1.1")

    action.full_clean()
    action.save()

    assert Action.objects.filter(code="1.1.1").count() == 2


def test_an_action_keeps_its_own_code_when_edited(sub_1_1):
    action = ActionFactory(sub_objective=sub_1_1, code="1.1.1")
    action.title = "Nouveau titre"

    action.full_clean()


@pytest.mark.parametrize("code", ["1.a.3", "1..2", "1.1.", "1.1.x"])
def test_malformed_code_is_refused(sub_1_1, code):
    with pytest.raises(ValidationError) as excinfo:
        unsaved_action(sub_1_1, code).full_clean()

    assert any(MALFORMED_CODE in message for message in excinfo.value.message_dict["code"])


@pytest.mark.parametrize("code", ["1.2.3", "1.10.1", "1.1"])
def test_code_not_starting_with_its_sub_objective_code_is_refused(sub_1_1, code):
    with pytest.raises(ValidationError) as excinfo:
        unsaved_action(sub_1_1, code).full_clean()

    assert excinfo.value.message_dict["code"] == [
        f"Le code {code} ne correspond pas au sous-objectif 1.1 : il doit commencer par 1.1."
    ]


def test_action_shows_its_code_and_title(sub_1_1):
    action = ActionFactory(sub_objective=sub_1_1, code="1.1.3", title="Créer une boîte à outils")

    assert str(action) == "1.1.3 Créer une boîte à outils"


# --- Completion ------------------------------------------------------------------------------


def test_completion_above_100_is_refused_by_validation(sub_1_1):
    with pytest.raises(ValidationError) as excinfo:
        unsaved_action(sub_1_1, "1.1.1", completion=101).full_clean()

    assert list(excinfo.value.message_dict) == ["completion"]


def test_completion_above_100_is_refused_by_the_database(sub_1_1):
    action = ActionFactory(sub_objective=sub_1_1, completion=40)

    with pytest.raises(IntegrityError), transaction.atomic():
        Action.objects.filter(pk=action.pk).update(completion=150)

    action.refresh_from_db()
    assert action.completion == 40


@pytest.mark.parametrize("completion", [0, 100])
def test_completion_bounds_are_accepted(sub_1_1, completion):
    action = unsaved_action(sub_1_1, "1.1.1", completion=completion)

    action.full_clean()
    action.save()

    action.refresh_from_db()
    assert action.completion == completion


# --- The action's plan is its sub-objective's plan -------------------------------------------


def test_action_takes_the_plan_of_its_sub_objective(plan, sub_1_1):
    action = ActionFactory(sub_objective=sub_1_1, code="1.1.1")

    action.refresh_from_db()
    assert action.plan == plan


def test_moving_an_action_to_another_plan_moves_its_plan(plan, sub_1_1):
    action = ActionFactory(sub_objective=sub_1_1, code="1.1.1")
    other_plan = PlanFactory()
    other_sub = sub_objective_in(other_plan, 1, 1)

    action.sub_objective = other_sub
    action.full_clean()
    action.save()

    action.refresh_from_db()
    assert action.plan == other_plan
    assert list(Action.objects.filter(plan=other_plan)) == [action]
    assert not Action.objects.filter(plan=plan).exists()


def test_moving_an_action_by_sub_objective_id_also_moves_its_plan(sub_1_1):
    action = ActionFactory(sub_objective=sub_1_1, code="1.1.1")
    other_plan = PlanFactory()

    action.sub_objective_id = sub_objective_in(other_plan, 1, 1).pk
    action.save()

    action.refresh_from_db()
    assert action.plan == other_plan


def test_moving_an_action_into_a_plan_that_has_its_code_is_refused(sub_1_1):
    action = ActionFactory(sub_objective=sub_1_1, code="1.1.1")
    other_sub = sub_objective_in(PlanFactory(), 1, 1)
    ActionFactory(sub_objective=other_sub, code="1.1.1")

    action.sub_objective = other_sub
    with pytest.raises(ValidationError) as excinfo:
        action.full_clean()

    assert error_messages(excinfo) == [DUPLICATE_CODE]


@pytest.mark.parametrize("moved", ["objective", "sub_objective"])
def test_objective_or_sub_objective_cannot_move_to_another_plan(plan, sub_1_1, moved):
    action = ActionFactory(sub_objective=sub_1_1, code="1.1.1")
    other_plan = PlanFactory()
    if moved == "objective":
        moving = sub_1_1.objective
        moving.plan = other_plan
    else:
        moving = sub_1_1
        moving.objective = ObjectiveFactory(plan=other_plan, number=1)

    with pytest.raises(ValidationError) as excinfo:
        moving.full_clean()

    assert "ne change pas de plan" in str(excinfo.value)
    action.refresh_from_db()
    assert action.plan == plan
    assert action.sub_objective.objective.plan == plan


# --- Late ------------------------------------------------------------------------------------

TODAY = datetime.date(2018, 6, 1)


@pytest.fixture
def periods(plan):
    """Ended, current and future periods as seen on TODAY."""
    return {
        "ended": PeriodFactory(
            plan=plan,
            label="2016-2018",
            start=datetime.date(2016, 4, 1),
            end=datetime.date(2018, 3, 31),
        ),
        "current": PeriodFactory(
            plan=plan,
            label="2018-2019",
            start=datetime.date(2018, 4, 1),
            end=datetime.date(2019, 3, 31),
        ),
        "future": PeriodFactory(
            plan=plan,
            label="2019-2020",
            start=datetime.date(2019, 4, 1),
            end=datetime.date(2020, 3, 31),
        ),
    }


def scheduled(sub_objective, periods, status=Status.PLANNED, **fields):
    action = ActionFactory(sub_objective=sub_objective, status=status, **fields)
    action.periods.set(periods)
    return action


def is_late(action, today=TODAY):
    return Action.objects.late(today=today).filter(pk=action.pk).exists()


@pytest.mark.parametrize("status", [Status.PLANNED, Status.IN_PROGRESS, Status.POSTPONED])
def test_open_action_whose_last_period_ended_is_late(sub_1_1, periods, status):
    action = scheduled(sub_1_1, [periods["ended"]], status)

    assert is_late(action)


@pytest.mark.parametrize("status", [Status.DONE, Status.ABANDONED])
def test_closed_action_is_never_late(sub_1_1, periods, status):
    action = scheduled(sub_1_1, [periods["ended"]], status)

    assert not is_late(action)


@pytest.mark.parametrize("still_scheduled_in", ["current", "future"])
def test_action_still_scheduled_later_is_not_late(sub_1_1, periods, still_scheduled_in):
    action = scheduled(sub_1_1, [periods["ended"], periods[still_scheduled_in]])

    assert not is_late(action)


def test_action_without_period_is_never_late(sub_1_1, periods):
    action = scheduled(sub_1_1, [], Status.IN_PROGRESS)

    assert not is_late(action, today=datetime.date(2030, 1, 1))


def test_action_is_late_only_once_its_last_period_has_ended(sub_1_1, periods):
    action = scheduled(sub_1_1, [periods["ended"]])
    last_day = periods["ended"].end

    assert not is_late(action, today=last_day)
    assert is_late(action, today=last_day + datetime.timedelta(days=1))


def test_late_lists_each_late_action_once(sub_1_1, periods):
    # Two ended periods must not list the action twice.
    second_ended = PeriodFactory(
        plan=periods["ended"].plan,
        label="2015-2016",
        start=datetime.date(2015, 4, 1),
        end=datetime.date(2016, 3, 31),
    )
    action = scheduled(sub_1_1, [second_ended, periods["ended"]])

    assert list(Action.objects.late(today=TODAY)) == [action]


def test_with_late_agrees_with_late_on_a_mixed_set(sub_1_1, periods):
    late_ones = {
        scheduled(sub_1_1, [periods["ended"]], Status.PLANNED),
        scheduled(sub_1_1, [periods["ended"]], Status.IN_PROGRESS),
        scheduled(sub_1_1, [periods["ended"]], Status.POSTPONED),
    }
    scheduled(sub_1_1, [periods["ended"]], Status.DONE)
    scheduled(sub_1_1, [periods["ended"]], Status.ABANDONED)
    scheduled(sub_1_1, [periods["ended"], periods["current"]], Status.IN_PROGRESS)
    scheduled(sub_1_1, [periods["future"]], Status.PLANNED)
    scheduled(sub_1_1, [], Status.PLANNED)

    annotated = list(Action.objects.with_late(today=TODAY))

    assert len(annotated) == 8
    assert {a for a in annotated if a.is_late} == late_ones
    assert set(Action.objects.late(today=TODAY)) == late_ones


# --- Postponed actions: late only once their new schedule has passed ------------------------


def test_postponed_action_awaiting_a_new_date_is_not_late(sub_1_1, periods):
    # Its adopted schedule ended long ago: it waits for a date, it is not behind one.
    action = scheduled(sub_1_1, [periods["ended"]], Status.POSTPONED, awaiting_date=True)

    assert not is_late(action, today=datetime.date(2030, 1, 1))
    assert not Action.objects.with_late(today=TODAY).get(pk=action.pk).is_late


def test_postponed_action_with_a_new_period_not_yet_ended_is_not_late(sub_1_1, periods):
    action = scheduled(sub_1_1, [periods["future"]], Status.POSTPONED)

    assert not is_late(action)


def test_postponed_action_whose_new_period_has_ended_is_late(sub_1_1, periods):
    action = scheduled(sub_1_1, [periods["future"]], Status.POSTPONED)

    assert is_late(action, today=periods["future"].end + datetime.timedelta(days=1))


def test_only_a_postponed_action_can_await_a_date(sub_1_1):
    action = ActionFactory.build(
        sub_objective=sub_1_1, status=Status.IN_PROGRESS, awaiting_date=True
    )

    with pytest.raises(ValidationError) as excinfo:
        action.full_clean()
    assert "Seule une action reportée peut attendre une nouvelle date." in str(excinfo.value)


def test_database_refuses_a_wait_without_postponement(sub_1_1):
    action = ActionFactory(sub_objective=sub_1_1, status=Status.POSTPONED, awaiting_date=True)

    with pytest.raises(IntegrityError), transaction.atomic():
        Action.objects.filter(pk=action.pk).update(status=Status.IN_PROGRESS)


def test_summary_late_count_is_late_on_the_same_actions(sub_1_1, periods):
    """summary() counts with late()'s own rule: every case of the rule, one plan."""
    cases = [
        ([periods["ended"]], Status.PLANNED, {}),
        ([periods["ended"]], Status.IN_PROGRESS, {}),
        ([periods["ended"]], Status.POSTPONED, {}),  # its new period passed: late
        ([periods["ended"]], Status.POSTPONED, {"awaiting_date": True}),
        ([periods["future"]], Status.POSTPONED, {}),
        ([periods["ended"]], Status.DONE, {}),
        ([periods["ended"]], Status.ABANDONED, {}),
        ([periods["ended"], periods["current"]], Status.IN_PROGRESS, {}),
        ([], Status.PLANNED, {}),
    ]
    for schedule, status, fields in cases:
        scheduled(sub_1_1, schedule, status, **fields)
    ActionFactory(status=Status.PLANNED).periods.set([periods["ended"]])  # another plan

    actions = Action.objects.filter(plan=sub_1_1.objective.plan)
    (row,) = actions.summary(today=TODAY)
    (grouped,) = actions.summary("plan_id", today=TODAY)

    assert actions.late(today=TODAY).count() == 3
    assert row["late_count"] == grouped["late_count"] == actions.late(today=TODAY).count()


# --- Progress --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "completion", "expected"),
    [
        pytest.param(Status.PLANNED, None, 0, id="planned"),
        pytest.param(Status.PLANNED, 20, 20, id="planned-20"),
        # Nobody reported its progress: half-way, not 0 %, as Decidim's accountability does.
        pytest.param(Status.IN_PROGRESS, None, 50, id="in-progress-no-completion"),
        pytest.param(Status.IN_PROGRESS, 40, 40, id="in-progress-40"),
        pytest.param(Status.IN_PROGRESS, 0, 0, id="in-progress-0-typed"),
        pytest.param(Status.POSTPONED, None, 0, id="postponed"),
        pytest.param(Status.POSTPONED, 30, 30, id="postponed-30"),
        pytest.param(Status.DONE, None, 100, id="done-no-completion"),
        pytest.param(Status.DONE, 80, 100, id="done-is-always-100"),
        pytest.param(Status.ABANDONED, None, None, id="abandoned"),
        pytest.param(Status.ABANDONED, 50, None, id="abandoned-with-completion"),
    ],
)
def test_progress_annotation_follows_status_and_completion(sub_1_1, status, completion, expected):
    action = ActionFactory(sub_objective=sub_1_1, status=status, completion=completion)

    assert Action.objects.with_progress().get(pk=action.pk).progress == expected
    assert Action.progress_for(status, completion) == expected


@pytest.mark.parametrize(
    ("status", "completion", "reported", "estimated"),
    [
        pytest.param(Status.IN_PROGRESS, None, False, True, id="in-progress-estimated"),
        pytest.param(Status.IN_PROGRESS, 40, True, False, id="in-progress-reported"),
        pytest.param(Status.PLANNED, None, False, True, id="planned-estimated"),
        pytest.param(Status.DONE, None, False, False, id="done-settled"),
        pytest.param(Status.DONE, 80, False, False, id="done-typed-ignored"),
        pytest.param(Status.ABANDONED, 50, False, False, id="abandoned-left-out"),
    ],
)
def test_an_actions_progress_says_whether_it_was_reported_or_estimated(
    status, completion, reported, estimated
):
    action = Action(status=status, completion=completion)

    assert (action.progress_reported, action.progress_estimated) == (reported, estimated)


def test_actions_can_be_loaded_with_their_progress_annotation(sub_1_1):
    ActionFactory(sub_objective=sub_1_1, status=Status.DONE)

    assert [a.progress for a in Action.objects.with_progress()] == [100]


def test_summary_counts_statuses_late_actions_and_averages_progress_per_plan(sub_1_1, periods):
    scheduled(sub_1_1, [periods["ended"]], Status.IN_PROGRESS, completion=40)  # late
    scheduled(sub_1_1, [periods["future"]], Status.DONE)
    scheduled(sub_1_1, [periods["ended"]], Status.ABANDONED, completion=90)  # out of the mean
    other_plan_action = ActionFactory(status=Status.DONE)

    rows = {row["plan_id"]: row for row in Action.objects.summary("plan_id", today=TODAY)}

    row = rows[sub_1_1.objective.plan_id]
    assert row["total"] == 3
    assert row["average_progress"] == 70  # (40 + 100) / 2
    assert row["reported_count"] == 1  # the 40 typed; the abandoned one's 90 does not count
    assert row["late_count"] == 1
    assert (row["status_in_progress"], row["status_done"], row["status_abandoned"]) == (1, 1, 1)
    assert row["status_planned"] == 0
    assert rows[other_plan_action.plan_id]["total"] == 1


def test_summary_counts_an_unreported_action_in_progress_half_way(sub_1_1):
    ActionFactory(sub_objective=sub_1_1, status=Status.IN_PROGRESS)
    ActionFactory(sub_objective=sub_1_1, status=Status.IN_PROGRESS)
    ActionFactory(sub_objective=sub_1_1, status=Status.PLANNED)
    ActionFactory(sub_objective=sub_1_1, status=Status.DONE, completion=60)

    (row,) = Action.objects.summary()

    assert row["average_progress"] == 50  # (50 + 50 + 0 + 100) / 4
    assert row["reported_count"] == 0


def test_summary_without_group_is_one_row_even_when_empty():
    (row,) = Action.objects.summary()

    assert row["total"] == 0
    assert row["average_progress"] is None
    assert row["late_count"] == 0


# --- Targets ---------------------------------------------------------------------------------


@pytest.fixture
def action(sub_1_1):
    return ActionFactory(sub_objective=sub_1_1)


def test_deliverable_with_a_target_value_is_refused(action):
    target = Target(
        action=action, description="Boîte à outils", kind=Target.Kind.DELIVERABLE, target_value=3
    )

    with pytest.raises(ValidationError) as excinfo:
        target.full_clean()

    assert excinfo.value.message_dict["target_value"] == [
        "Un livrable n'a pas de valeur cible : choisissez « Nombre »."
    ]


def test_count_target_marked_done_is_refused(action):
    target = Target(
        action=action,
        description="Nombre de producteurs intéressés",
        kind=Target.Kind.COUNT,
        is_done=True,
    )

    with pytest.raises(ValidationError) as excinfo:
        target.full_clean()

    assert excinfo.value.message_dict["is_done"] == ["Seul un livrable se coche comme livré."]


def test_negative_target_value_is_refused(action):
    target = Target(
        action=action, description="Producteurs", kind=Target.Kind.COUNT, target_value=-1
    )

    with pytest.raises(ValidationError) as excinfo:
        target.full_clean()
    assert error_messages(excinfo) == ["La valeur cible ne peut pas être négative."]

    with pytest.raises(IntegrityError), transaction.atomic():
        target.save()
    assert not action.targets.exists()


def test_count_target_with_a_value_and_done_deliverable_are_accepted(action):
    count = Target(action=action, description="Producteurs", kind=Target.Kind.COUNT)
    count.target_value = Decimal("12")
    deliverable = Target(
        action=action, description="Portrait", kind=Target.Kind.DELIVERABLE, is_done=True
    )

    count.full_clean()
    deliverable.full_clean()


def test_actual_values_are_only_for_count_targets(action):
    deliverable = TargetFactory(action=action, kind=Target.Kind.DELIVERABLE)
    value = TargetValue(target=deliverable, date=TODAY, value=3)

    with pytest.raises(ValidationError) as excinfo:
        value.full_clean()

    assert error_messages(excinfo) == ["Seule une cible de type « Nombre » reçoit des valeurs."]


def test_count_target_accepts_an_actual_value(action):
    count = TargetFactory(action=action, kind=Target.Kind.COUNT, target_value=10)
    value = TargetValue(target=count, date=TODAY, value=4)

    value.full_clean()
    value.save()

    assert count.values.get().value == 4


def test_negative_actual_value_is_refused(action):
    count = TargetFactory(action=action, kind=Target.Kind.COUNT)
    value = TargetValue(target=count, date=TODAY, value=-2)

    with pytest.raises(ValidationError) as excinfo:
        value.full_clean()
    assert error_messages(excinfo) == ["Une valeur mesurée ne peut pas être négative."]

    with pytest.raises(IntegrityError), transaction.atomic():
        value.save()
    assert not count.values.exists()


# --- Progress notes --------------------------------------------------------------------------


def test_empty_progress_note_is_refused_by_the_database(action):
    with pytest.raises(IntegrityError), transaction.atomic():
        ProgressNote.objects.create(action=action, kind=ProgressNote.Kind.NOTE, text="")

    assert not action.notes.exists()


def test_empty_progress_note_is_refused_by_validation(action):
    note = ProgressNote(action=action, kind=ProgressNote.Kind.NOTE, text="")

    with pytest.raises(ValidationError) as excinfo:
        note.full_clean()

    assert error_messages(excinfo) == ["Une note de suivi ne peut pas être vide."]


def test_status_change_entry_may_have_no_text(action):
    entry = ProgressNote.objects.create(
        action=action,
        kind=ProgressNote.Kind.STATUS_CHANGE,
        status_from=Status.PLANNED,
        status_to=Status.IN_PROGRESS,
        date=TODAY,
    )

    assert str(entry) == "2018-06-01 : À venir → En cours"


def test_the_stylesheet_draws_each_status_in_its_colour():
    # The colours live in the model (the workbook fills with them) and in the CSS (pages).
    css = (settings.BASE_DIR / "static" / "css" / "common.css").read_text()

    assert set(Action.STATUS_COLOURS) == set(Action.Status)
    for status, colour in Action.STATUS_COLOURS.items():
        assert f"--status-{status}: {colour};" in css, status
