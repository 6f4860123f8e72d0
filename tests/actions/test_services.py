"""change_status: every status change leaves one dated, signed entry in the action's trail."""

import datetime

import pytest
from django.core.exceptions import ValidationError

from actions.models import Action, ProgressNote
from actions.services import change_status
from tests.factories import ActionFactory, SubObjectiveFactory

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
