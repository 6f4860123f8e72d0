"""The services that write an action and its trail: every change validated, signed by its
author, or nothing written."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from actions.models import Action, ProgressNote, Target, TargetValue
from actions.services import (
    add_note,
    change_status,
    change_statuses,
    record_target_value,
    save_note,
)
from partners.timeline import action_timeline
from tests.factories import (
    ActionFactory,
    PeriodFactory,
    ProgressNoteFactory,
    SubObjectiveFactory,
    TargetFactory,
)

pytestmark = pytest.mark.django_db

Status = Action.Status
DAY = datetime.date(2018, 5, 15)


@pytest.fixture
def action():
    return ActionFactory(status=Status.PLANNED, title="Créer une boîte à outils")


def stored_status(action):
    return Action.objects.values_list("status", flat=True).get(pk=action.pk)


def trail(action):
    return list(ProgressNote.objects.filter(action_id=action.pk))


def test_status_change_writes_one_signed_and_dated_trail_entry(action, coordinator):
    entry = change_status(
        action=action,
        status=Status.IN_PROGRESS,
        user=coordinator,
        reason="  Financement PIC obtenu  ",
        note="Première rencontre du comité tenue.",
        date=DAY,
    )

    assert trail(action) == [entry]
    entry.refresh_from_db()
    assert entry.kind == ProgressNote.Kind.STATUS_CHANGE
    assert (entry.status_from, entry.status_to) == (Status.PLANNED, Status.IN_PROGRESS)
    assert entry.reason == "Financement PIC obtenu"
    assert entry.text == "Première rencontre du comité tenue."
    assert entry.author == coordinator
    assert entry.date == DAY
    assert stored_status(action) == Status.IN_PROGRESS


@pytest.mark.parametrize("status", [Status.POSTPONED, Status.ABANDONED])
@pytest.mark.parametrize("reason", ["", "   "], ids=["empty", "blank"])
def test_postponing_or_abandoning_without_reason_is_refused_and_saves_nothing(
    action, coordinator, status, reason
):
    history_before = action.history.count()
    action.title = "Titre modifié en même temps"

    with pytest.raises(ValidationError) as excinfo:
        change_status(action=action, status=status, user=coordinator, reason=reason, date=DAY)

    assert "raison" in excinfo.value.message_dict["reason"][0]
    action_in_db = Action.objects.get(pk=action.pk)
    assert action_in_db.status == Status.PLANNED
    assert action_in_db.title == "Créer une boîte à outils"
    assert trail(action) == []
    assert action.history.count() == history_before


@pytest.mark.parametrize("status", [Status.POSTPONED, Status.ABANDONED])
def test_postponing_or_abandoning_with_a_reason_keeps_it(action, coordinator, status):
    change_status(
        action=action,
        status=status,
        user=coordinator,
        reason="Le partenaire porteur s'est retiré.",
        date=DAY,
        without_date=True,  # what a postponement also asks; an abandonment ignores it
    )

    [entry] = trail(action)
    assert entry.status_to == status
    assert entry.reason == "Le partenaire porteur s'est retiré."
    assert stored_status(action) == status


def test_saving_with_the_same_status_writes_no_trail_entry(action, coordinator):
    action.means = "Moyens revus."

    result = change_status(action=action, status=Status.PLANNED, user=coordinator)

    assert result is None
    assert trail(action) == []
    assert Action.objects.get(pk=action.pk).means == "Moyens revus."


def test_an_already_postponed_action_needs_no_new_reason(coordinator):
    action = ActionFactory(status=Status.POSTPONED)

    result = change_status(action=action, status=Status.POSTPONED, user=coordinator)

    assert result is None
    assert trail(action) == []


def test_a_new_action_created_as_planned_writes_no_trail_entry(coordinator):
    sub_objective = SubObjectiveFactory()
    action = Action(
        sub_objective=sub_objective, code=f"{sub_objective.code}.1", title="Nouvelle action"
    )

    result = change_status(action=action, status=Status.PLANNED, user=coordinator)

    assert result is None
    assert action.pk is not None
    assert Action.objects.get(pk=action.pk).status == Status.PLANNED
    assert trail(action) == []
    assert action.history.first().history_user == coordinator


def test_historical_record_names_the_acting_user_outside_a_request(action, coordinator):
    change_status(action=action, status=Status.IN_PROGRESS, user=coordinator, date=DAY)

    latest = action.history.first()
    assert latest.history_user == coordinator
    assert latest.status == Status.IN_PROGRESS
    assert trail(action)[0].history.first().history_user == coordinator


def test_historical_record_names_the_user_even_without_a_status_change(action, member):
    change_status(action=action, status=Status.PLANNED, user=member)

    assert action.history.first().history_user == member


def test_other_pending_edits_are_saved_with_the_status(action, coordinator):
    action.title = "Boîte à outils pour les organismes"
    action.completion = 50

    change_status(action=action, status=Status.IN_PROGRESS, user=coordinator, date=DAY)

    action_in_db = Action.objects.get(pk=action.pk)
    assert action_in_db.title == "Boîte à outils pour les organismes"
    assert action_in_db.completion == 50
    assert action_in_db.status == Status.IN_PROGRESS


def test_invalid_pending_edits_refuse_the_whole_change(action, coordinator):
    action.completion = 150

    with pytest.raises(ValidationError) as excinfo:
        change_status(action=action, status=Status.IN_PROGRESS, user=coordinator, date=DAY)

    assert "completion" in excinfo.value.message_dict
    assert stored_status(action) == Status.PLANNED
    assert trail(action) == []


def test_the_stored_status_is_compared_not_the_instance_status(action, coordinator):
    # A stale form already says "done"; the database still says "planned".
    action.status = Status.DONE

    entry = change_status(action=action, status=Status.DONE, user=coordinator, date=DAY)

    assert entry is not None
    assert (entry.status_from, entry.status_to) == (Status.PLANNED, Status.DONE)
    assert len(trail(action)) == 1


def test_a_stale_instance_status_does_not_invent_a_change(coordinator):
    action = ActionFactory(status=Status.POSTPONED)
    # In memory the action looks planned; stored, it is already postponed: no reason needed.
    action.status = Status.PLANNED

    result = change_status(action=action, status=Status.POSTPONED, user=coordinator)

    assert result is None
    assert trail(action) == []
    assert stored_status(action) == Status.POSTPONED


def test_the_reason_is_the_history_record_s_change_reason(coordinator):
    action = ActionFactory()

    change_status(
        action=action, status=Action.Status.ABANDONED, user=coordinator, reason="Plus de local."
    )

    assert action.history.first().history_change_reason == "Plus de local."


# Recording a target value, adding a note: validated, signed, or nothing written ----------


def test_a_recorded_target_value_is_signed_by_its_author_in_history(action, coordinator):
    target = TargetFactory(action=action, kind=Target.Kind.COUNT, target_value=10)

    value = record_target_value(target=target, value=4, date=DAY, user=coordinator)

    stored = TargetValue.objects.get(target=target)
    assert (stored.pk, stored.value, stored.date) == (value.pk, 4, DAY)
    assert stored.history.get().history_user == coordinator


def test_a_target_value_without_date_is_today_s(action, coordinator):
    target = TargetFactory(action=action, kind=Target.Kind.COUNT)

    record_target_value(target=target, value=1, user=coordinator)

    assert TargetValue.objects.get(target=target).date == timezone.localdate()


@pytest.mark.parametrize(
    ("kind", "value"),
    [(Target.Kind.DELIVERABLE, 3), (Target.Kind.COUNT, -1)],
    ids=["deliverable", "negative"],
)
def test_a_value_the_target_cannot_receive_is_refused_and_nothing_is_written(
    action, coordinator, kind, value
):
    target = TargetFactory(action=action, kind=kind)

    with pytest.raises(ValidationError):
        record_target_value(target=target, value=value, user=coordinator)

    assert not TargetValue.objects.filter(target=target).exists()
    assert not TargetValue.history.filter(target_id=target.pk).exists()


def test_the_target_s_stored_kind_decides_not_a_stale_copy(action, coordinator):
    """A colleague made the target a deliverable after this copy was read."""
    target = TargetFactory(action=action, kind=Target.Kind.COUNT)
    Target.objects.filter(pk=target.pk).update(kind=Target.Kind.DELIVERABLE)

    with pytest.raises(ValidationError):
        record_target_value(target=target, value=2, user=coordinator)

    assert not TargetValue.objects.filter(target=target).exists()


def test_an_added_note_is_written_and_signed_by_its_author(action, coordinator):
    note = add_note(action=action, text="Comité réuni.", user=coordinator, date=DAY)

    assert trail(action) == [note]
    note.refresh_from_db()
    assert (note.kind, note.text, note.author, note.date) == (
        ProgressNote.Kind.NOTE,
        "Comité réuni.",
        coordinator,
        DAY,
    )
    assert note.history.get().history_user == coordinator


def test_an_empty_note_is_refused_and_nothing_is_written(action, coordinator):
    with pytest.raises(ValidationError):
        add_note(action=action, text="", user=coordinator)

    assert trail(action) == []
    assert not ProgressNote.history.filter(action_id=action.pk).exists()


def test_a_saved_note_cannot_be_rewritten(action, coordinator, django_user_model):
    colleague = django_user_model.objects.create_user("collegue")
    note = ProgressNoteFactory(action=action, text="Première version", author=coordinator)

    note.text = "Version réécrite"
    with pytest.raises(ValidationError, match="ne se modifie pas"):
        save_note(note, user=colleague)

    note.refresh_from_db()
    assert (note.text, note.author) == ("Première version", coordinator)


def test_a_status_change_reason_is_kept_in_the_action_s_history(action, coordinator):
    change_status(
        action=action,
        status=Status.POSTPONED,
        user=coordinator,
        reason=" Pas de local ",
        without_date=True,
    )

    latest = action.history.latest("history_id")
    assert (latest.history_user, latest.history_change_reason) == (coordinator, "Pas de local")


@pytest.mark.parametrize("status", list(Status))
@pytest.mark.parametrize("completion", [None, 40])
def test_implied_progress_is_what_the_lists_show(action, status, completion):
    Action.objects.filter(pk=action.pk).update(status=status, completion=completion)

    shown = Action.objects.with_progress().get(pk=action.pk).progress

    expected = Action.implied_progress(status)
    if completion is not None and status not in (Status.DONE, Status.ABANDONED):
        expected = completion
    assert shown == expected == Action.progress_for(status, completion)


# --- Postponing asks for the new schedule, or says it waits without a date -------------------


@pytest.fixture
def schedule(action):
    """The action's plan's periods around today: one ended (its adopted schedule), one to come."""
    today = timezone.localdate()
    ended = PeriodFactory(
        plan=action.plan,
        label="Avant",
        start=today - datetime.timedelta(days=700),
        end=today - datetime.timedelta(days=300),
    )
    coming = PeriodFactory(
        plan=action.plan,
        label="Après",
        start=today - datetime.timedelta(days=10),
        end=today + datetime.timedelta(days=300),
    )
    action.periods.set([ended])
    return {"ended": ended, "coming": coming}


def postpone(action, user, **choice):
    return change_status(
        action=action,
        status=Status.POSTPONED,
        user=user,
        reason="Pas de local.",
        **choice,
    )


def schedule_of(action):
    return set(Action.objects.get(pk=action.pk).periods.all())


@pytest.mark.parametrize(
    "choice",
    [
        pytest.param({}, id="neither"),
        pytest.param({"periods": [], "without_date": False}, id="empty"),
        pytest.param({"periods": "both", "without_date": True}, id="both"),
    ],
)
def test_postponing_without_saying_when_is_refused_and_writes_nothing(
    action, coordinator, schedule, choice
):
    if choice.get("periods") == "both":
        choice = {**choice, "periods": [schedule["coming"]]}
    history_before = action.history.count()

    with pytest.raises(ValidationError) as excinfo:
        postpone(action, coordinator, **choice)

    [message] = excinfo.value.message_dict["periods"]
    assert "nouvelle" in message and "date" in message
    stored = Action.objects.get(pk=action.pk)
    assert (stored.status, stored.awaiting_date) == (Status.PLANNED, False)
    assert schedule_of(action) == {schedule["ended"]}
    assert trail(action) == []
    assert action.history.count() == history_before


def test_the_refusal_asks_for_the_periods_or_the_wait(action, coordinator, schedule):
    with pytest.raises(ValidationError) as excinfo:
        postpone(action, coordinator)

    assert excinfo.value.message_dict["periods"] == [
        "Choisissez la ou les nouvelles périodes, ou indiquez que l'action attend une "
        "nouvelle date."
    ]


def test_postponing_to_periods_of_another_plan_is_refused(action, coordinator, schedule):
    foreign = PeriodFactory(
        label="2030-2031", start=datetime.date(2030, 4, 1), end=datetime.date(2031, 3, 31)
    )

    with pytest.raises(ValidationError) as excinfo:
        postpone(action, coordinator, periods=[foreign])

    assert "2030-2031" in excinfo.value.message_dict["periods"][0]
    assert stored_status(action) == Status.PLANNED
    assert schedule_of(action) == {schedule["ended"]}
    assert trail(action) == []


def test_postponing_to_periods_all_ended_is_refused(action, coordinator, schedule):
    with pytest.raises(ValidationError) as excinfo:
        postpone(action, coordinator, periods=[schedule["ended"]])

    assert excinfo.value.message_dict["periods"][0].startswith(
        "La nouvelle période doit se terminer après aujourd'hui"
    )
    assert stored_status(action) == Status.PLANNED
    assert trail(action) == []


def test_postponing_to_new_periods_replaces_the_schedule_and_says_so(
    action, coordinator, schedule
):
    entry = postpone(action, coordinator, periods=[schedule["coming"]])

    stored = Action.objects.get(pk=action.pk)
    assert (stored.status, stored.awaiting_date) == (Status.POSTPONED, False)
    assert schedule_of(action) == {schedule["coming"]}
    assert entry.reason == "Pas de local."
    assert entry.text == "Reportée à Après."
    assert not Action.objects.late().filter(pk=action.pk).exists()
    # The action's story keeps the adopted schedule beside the new one.
    changes = [(f.label, f.before, f.after) for c in action_timeline(stored) for f in c.fields]
    assert ("Périodes prévues", "Avant", "Après") in changes


def test_postponing_without_a_date_keeps_the_schedule_and_is_not_late(
    action, coordinator, schedule
):
    assert Action.objects.late().filter(pk=action.pk).exists()  # its schedule has ended

    entry = postpone(action, coordinator, without_date=True, note="On cherche un local.")

    stored = Action.objects.get(pk=action.pk)
    assert (stored.status, stored.awaiting_date) == (Status.POSTPONED, True)
    assert schedule_of(action) == {schedule["ended"]}
    assert entry.text == "Reportée sans nouvelle date.\n\nOn cherche un local."
    assert not Action.objects.late().filter(pk=action.pk).exists()


def test_leaving_postponed_ends_the_wait(action, coordinator, schedule):
    postpone(action, coordinator, without_date=True)

    change_status(action=action, status=Status.IN_PROGRESS, user=coordinator)

    stored = Action.objects.get(pk=action.pk)
    assert (stored.status, stored.awaiting_date) == (Status.IN_PROGRESS, False)
    assert Action.objects.late().filter(pk=action.pk).exists()  # its schedule still ended


def test_bulk_postponing_gives_each_action_the_periods_of_its_own_plan(coordinator):
    today = timezone.localdate()
    first, second = ActionFactory(), ActionFactory()
    coming = {
        action.plan_id: PeriodFactory(
            plan=action.plan, start=today, end=today + datetime.timedelta(days=100)
        )
        for action in (first, second)
    }

    change_statuses(
        actions=Action.objects.filter(pk__in=[first.pk, second.pk]),
        status=Status.POSTPONED,
        user=coordinator,
        reason="Fusion des comités.",
        periods=list(coming.values()),
    )

    for action in (first, second):
        assert schedule_of(action) == {coming[action.plan_id]}
