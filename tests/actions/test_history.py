"""Each action's history knows its related actions, whichever side made or removed the link."""

import datetime
from html import unescape

import pytest
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from actions.models import Action
from partners.timeline import plan_changes
from plans.groups import COORDINATION
from tests.factories import build_plan
from tests.helpers import change_form_data, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("coordinator_of_every_coalition")]


@pytest.fixture
def actions():
    _plan, actions = build_plan(actions=3, periods=1, partners_per_action=0)
    return actions


def latest(action):
    return Action.history.filter(id=action.pk).order_by("-history_date", "-history_id").first()


def listed(action):
    """The codes of the related actions in the action's latest history record."""
    return {row.to_action.code for row in latest(action).related_actions.all()}


def change_url(action):
    return reverse("admin:actions_action_change", args=[action.pk])


@pytest.mark.parametrize(
    "link",
    [
        pytest.param(lambda a, b: a.related_actions.add(b), id="added-from-one-side"),
        pytest.param(lambda a, b: b.related_actions.add(a), id="added-from-the-other"),
        pytest.param(lambda a, b: b.related_actions.set([a]), id="set-from-the-other"),
    ],
)
def test_a_link_is_in_the_history_of_both_actions(actions, coordinator, link):
    first, second, third = actions
    first._history_user = second._history_user = coordinator

    link(first, second)

    assert listed(first) == {second.code}
    assert listed(second) == {first.code}
    assert listed(third) == set()
    assert latest(first).history_user == latest(second).history_user == coordinator
    assert latest(second).history_type == "~"


@pytest.mark.parametrize(
    "unlink",
    [
        pytest.param(lambda a, b: a.related_actions.remove(b), id="removed-from-one-side"),
        pytest.param(lambda a, b: b.related_actions.remove(a), id="removed-from-the-other"),
        pytest.param(lambda a, b: b.related_actions.clear(), id="cleared-from-the-other"),
        pytest.param(lambda a, b: b.related_actions.set([]), id="set-empty-from-the-other"),
    ],
)
def test_a_removed_link_leaves_the_history_of_both_actions(actions, unlink):
    first, second, third = actions
    first.related_actions.add(second, third)

    unlink(first, second)

    assert listed(first) == {third.code}
    assert listed(second) == set()
    assert listed(third) == {first.code}


def test_removing_an_action_that_was_not_linked_records_nothing_for_it(actions):
    first, second, third = actions
    first.related_actions.add(second)
    records = Action.history.filter(id=third.pk).count()

    first.related_actions.remove(third)

    assert Action.history.filter(id=third.pk).count() == records
    assert listed(first) == {second.code}


def test_an_action_linked_to_itself_gets_one_record(actions):
    first, *_others = actions
    records = Action.history.filter(id=first.pk).count()

    first.related_actions.add(first)

    assert Action.history.filter(id=first.pk).count() == records + 1
    assert listed(first) == {first.code}


def test_with_history_switched_off_nothing_is_recorded(actions):
    """A backup's restore and the seed's loading switch history off: no stray records."""
    first, second, _third = actions
    records = Action.history.count()

    with override_settings(SIMPLE_HISTORY_ENABLED=False):
        first.related_actions.add(second)

    assert Action.history.count() == records
    assert set(second.related_actions.all()) == {first}


def test_a_link_made_in_the_admin_form_is_in_the_other_actions_history(
    coordinator_client, coordinator, actions
):
    first, second, _third = actions
    data = change_form_data(coordinator_client.get(change_url(second)))
    data["related_actions"] = [str(first.pk)]

    response = coordinator_client.post(change_url(second), data)

    assert response.status_code == 302
    assert listed(first) == {second.code}
    assert latest(first).history_user == coordinator


def test_the_other_actions_open_form_is_refused_rather_than_undo_the_link(
    coordinator_client, django_user_model, actions
):
    """Her page still shows no link: saved as is, it would remove the one just made."""
    first, second, _third = actions
    colleague = make_user(django_user_model, "coordo2", COORDINATION)
    opened = coordinator_client.get(change_url(first))
    second._history_user = colleague
    second.related_actions.add(first)  # meanwhile, from the other action
    data = change_form_data(opened)
    data["title"] = "Titre retouché"

    response = coordinator_client.post(change_url(first), data)

    assert response.status_code == 200
    page = response.content.decode()
    assert "coordo2 a enregistré" in page
    assert f"Actions liées : — → {second}. " in unescape(page)
    assert set(first.related_actions.all()) == {second}


def test_links_add_nothing_to_what_changed(actions, coordinator):
    """The members' "what changed" page lists what a reader cares about; the history of
    links is there for restoring a deleted action, not to read as changes."""
    first, second, third = actions
    long_ago = timezone.now() - datetime.timedelta(days=60)
    Action.history.update(history_date=long_ago)
    first._history_user = second._history_user = coordinator

    first.related_actions.add(second, third)
    second.related_actions.remove(first)

    changes = plan_changes(first.plan, timezone.localdate())
    assert [change for change in changes if change.kind == "action"] == []
