"""The update page of one action: status with its reason, a note, the completion, the targets'
values, the deliverables and the partners' confirmations, saved at once by one service; what
the coordinator loses never (a stale page, a hostile value), and who reaches it."""

import datetime
import re
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from actions.models import Action, ProgressNote, Target, TargetValue
from actions.services import change_status
from partners.models import ActionPartner
from partners.services import update_action
from plans.groups import COORDINATION
from plans.models import Membership
from plans.versions import StaleVersion, latest_records, version_of
from tests.factories import (
    ActionFactory,
    ActionPartnerFactory,
    ObjectiveFactory,
    OrganisationFactory,
    PeriodFactory,
    PlanFactory,
    ProgressNoteFactory,
    SubObjectiveFactory,
    TargetFactory,
    TargetValueFactory,
)
from tests.helpers import form_data, make_user, query_counts

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:actions_action_changelist")
NOTHING_SAVED = "Rien n'a été enregistré."
# Measured (SQLite), plus a small margin; the point is that it does not grow.
UPDATE_PAGE_MAX_QUERIES = 15  # 14, then the plan's periods a postponement chooses among


def update_url(action):
    return reverse("admin:actions_action_update", args=[action.pk])


def html(response):
    return response.content.decode().replace("&#x27;", "'")


def page_data(response):
    """The update form as the browser would post it."""
    return form_data(response.context["form"])


@pytest.fixture
def desk(db, coordinator):
    """Action 1.2.3 as the coordinator finds it: a partner, a count with a value, a
    deliverable, a note in its trail."""
    plan = PlanFactory()
    sub_objective = SubObjectiveFactory(objective=ObjectiveFactory(plan=plan, number=1), number=2)
    Membership.objects.create(coalition=plan.coalition, user=coordinator)
    action = ActionFactory(
        sub_objective=sub_objective, code="1.2.3", title="Mobiliser les producteurs"
    )
    link = ActionPartnerFactory(
        action=action, organisation=OrganisationFactory(name="Moisson Laval", short_name="ML")
    )
    count = TargetFactory(
        action=action,
        description="Nombre de producteurs intéressés",
        kind=Target.Kind.COUNT,
        target_value=10,
        unit="producteurs",
        order=1,
    )
    TargetValueFactory(target=count, value=4, date=datetime.date(2019, 3, 1))
    deliverable = TargetFactory(action=action, description="Boîte à outils", order=2)
    ProgressNoteFactory(action=action, text="Première rencontre tenue avec les producteurs.")
    return SimpleNamespace(
        action=action, link=link, count=count, deliverable=deliverable, plan=plan
    )


@pytest.fixture
def colleague(django_user_model, desk):
    user = make_user(django_user_model, "coordo2", COORDINATION)
    Membership.objects.create(coalition=desk.plan.coalition, user=user)
    return user


def everything_typed(desk):
    """A postponement with its reason, a note, a completion, a value, a tick, a confirmation."""
    return {
        "status": Action.Status.POSTPONED,
        "reason": "Pas de financement cette année.",
        "without_date": "on",
        "note": "Les producteurs attendent la subvention.",
        "completion": "30",
        f"value-{desk.count.pk}": "7",
        f"date-{desk.count.pk}": "2019-05-01",
        f"done-{desk.deliverable.pk}": "on",
        f"confirmation-{desk.link.pk}": ActionPartner.Confirmation.CONFIRMED_MEMBER,
    }


def state(desk):
    """Everything the page can change, as stored."""
    action = Action.objects.get(pk=desk.action.pk)
    return (
        action.status,
        action.completion,
        ProgressNote.objects.filter(action=action).count(),
        TargetValue.objects.filter(target__action=action).count(),
        Target.objects.get(pk=desk.deliverable.pk).is_done,
        ActionPartner.objects.get(pk=desk.link.pk).confirmation,
    )


# --- What the page shows ---------------------------------------------------------------------


def test_the_page_shows_the_action_and_all_it_changes_on_one_screen(coordinator_client, desk):
    response = coordinator_client.get(update_url(desk.action))

    assert response.status_code == 200
    content = html(response)
    assert "Mettre à jour l'action 1.2.3" in content
    assert "Mobiliser les producteurs" in content
    for label in ["À venir", "En cours", "Réalisée", "Reportée", "Abandonnée"]:
        assert label in content
    assert 'name="reason"' in content
    assert 'name="note"' in content
    assert 'name="completion"' in content
    # The count: its target and its latest value beside the new one, dated today by default.
    assert "Nombre de producteurs intéressés" in content
    assert re.search(r"Visé :\s*<strong>10</strong> producteurs", content)
    assert re.search(r"Dernière valeur :\s*<strong>4</strong>", content)
    assert f'name="value-{desk.count.pk}"' in content
    assert f'value="{datetime.date.today().isoformat()}"' in content
    # The deliverable's box, the partner in its legend colour with its confirmation.
    assert f'name="done-{desk.deliverable.pk}"' in content
    assert 'class="partner-chip confirmation-not_specified"' in content
    assert f'name="confirmation-{desk.link.pk}"' in content
    # What was written before, read-only.
    assert "Première rencontre tenue avec les producteurs." in content
    assert content.count('value="Enregistrer"') == 1  # one button saves it all
    assert f'href="{CHANGELIST}" class="button cancel-link"' in content


def test_its_queries_do_not_grow_with_the_action(
    client, coordinator, django_assert_max_num_queries
):
    def check(response, data, actions):
        assert response.status_code == 200
        assert len(response.context["form"].counted) >= 1

    counts = query_counts(
        client,
        coordinator,
        django_assert_max_num_queries,
        address=lambda data: update_url(data.action),
        cap=UPDATE_PAGE_MAX_QUERIES,
        check=check,
    )
    assert counts[0] == counts[1]


# --- Saving: everything at once, signed ------------------------------------------------------


def test_one_save_writes_everything_with_its_author(coordinator_client, coordinator, desk):
    data = {**page_data(coordinator_client.get(update_url(desk.action))), **everything_typed(desk)}

    response = coordinator_client.post(update_url(desk.action), data)

    assert response.status_code == 302
    assert response.url == CHANGELIST
    action = Action.objects.get(pk=desk.action.pk)
    assert (action.status, action.completion) == (Action.Status.POSTPONED, 30)
    assert action.history.latest().history_user == coordinator
    entry = ProgressNote.objects.get(action=action, kind=ProgressNote.Kind.STATUS_CHANGE)
    assert (entry.status_from, entry.status_to) == ("planned", "postponed")
    assert entry.reason == "Pas de financement cette année."
    assert entry.text == (
        "Reportée sans nouvelle date.\n\nLes producteurs attendent la subvention."
    )
    assert action.awaiting_date
    assert entry.author == coordinator
    value = TargetValue.objects.get(target=desk.count, value=7)
    assert value.date == datetime.date(2019, 5, 1)
    assert value.history.get().history_user == coordinator
    deliverable = Target.objects.get(pk=desk.deliverable.pk)
    assert deliverable.is_done
    assert deliverable.history.latest().history_user == coordinator
    link = ActionPartner.objects.get(pk=desk.link.pk)
    assert link.confirmation == ActionPartner.Confirmation.CONFIRMED_MEMBER
    assert link.history.latest().history_user == coordinator
    messages = [str(m) for m in response.wsgi_request._messages]
    assert "L'action 1.2.3 est mise à jour." in messages


def test_a_note_beside_an_unchanged_status_is_kept_as_a_note(
    coordinator_client, coordinator, desk
):
    """Moved from the full form's « Note de suivi » (tests/actions/test_admin.py)."""
    data = page_data(coordinator_client.get(update_url(desk.action)))
    data["note"] = "Les producteurs attendent la subvention."

    response = coordinator_client.post(update_url(desk.action), data)

    assert response.status_code == 302
    note = ProgressNote.objects.get(text="Les producteurs attendent la subvention.")
    assert (note.kind, note.author) == (ProgressNote.Kind.NOTE, coordinator)
    assert not ProgressNote.objects.filter(kind=ProgressNote.Kind.STATUS_CHANGE).exists()
    # The action itself was not saved: no empty change in its history.
    assert desk.action.history.count() == 1


def test_the_page_untouched_writes_nothing(coordinator_client, desk):
    before = state(desk)

    response = coordinator_client.post(
        update_url(desk.action), page_data(coordinator_client.get(update_url(desk.action)))
    )

    assert response.status_code == 302
    assert state(desk) == before
    assert desk.action.history.count() == 1
    assert desk.link.history.count() == 1


def test_it_goes_back_where_she_came_from(coordinator_client, desk):
    page = f"/plans/{desk.plan.slug}/actions/1.2.3/"
    opened = coordinator_client.get(update_url(desk.action), {"next": page})
    data = {**page_data(opened), "next": page, "note": "Vu."}

    assert coordinator_client.post(update_url(desk.action), data).url == page
    data["next"] = "https://ailleurs.example/"
    assert coordinator_client.post(update_url(desk.action), data).url == CHANGELIST


def test_it_goes_back_to_the_list_as_she_left_it(coordinator_client, desk):
    listed = f"http://testserver{CHANGELIST}?status__exact=planned&o=2"
    opened = coordinator_client.get(update_url(desk.action), headers={"referer": listed})
    assert f'name="next" value="{listed.replace("&", "&amp;")}"' in html(opened)
    data = {**page_data(opened), "next": opened.context["back"], "note": "Vu."}

    assert coordinator_client.post(update_url(desk.action), data).url == listed


# --- Postponing: new periods or none yet ----------------------------------------------------


@pytest.fixture
def periods(desk):
    today = datetime.date.today()
    return SimpleNamespace(
        ended=PeriodFactory(
            plan=desk.plan,
            label="2016-2018",
            start=datetime.date(2016, 4, 1),
            end=datetime.date(2018, 3, 31),
        ),
        coming=PeriodFactory(
            plan=desk.plan,
            label="Prochaine",
            start=today,
            end=today + datetime.timedelta(days=365),
        ),
    )


def test_postponing_offers_the_plans_periods_and_the_wait(coordinator_client, desk, periods):
    content = html(coordinator_client.get(update_url(desk.action)))

    assert "Reportée : quand aura-t-elle lieu ?" in content
    ended = re.search(rf'<input[^>]*value="{periods.ended.pk}"[^>]*>', content)[0]
    coming = re.search(rf'<input[^>]*value="{periods.coming.pk}"[^>]*>', content)[0]
    assert 'name="periods"' in ended and "disabled" in ended
    assert "2016-2018 (terminée)" in content
    assert "disabled" not in coming
    assert 'name="without_date"' in content
    assert "Attend une nouvelle date (sans date)" in content


def test_postponing_to_a_new_period_replaces_the_schedule(
    coordinator_client, coordinator, desk, periods
):
    desk.action.periods.set([periods.ended])
    data = {
        **page_data(coordinator_client.get(update_url(desk.action))),
        "status": Action.Status.POSTPONED,
        "reason": "Pas de local.",
        "periods": [str(periods.coming.pk)],
    }

    response = coordinator_client.post(update_url(desk.action), data)

    assert response.status_code == 302
    action = Action.objects.get(pk=desk.action.pk)
    assert (action.status, action.awaiting_date) == (Action.Status.POSTPONED, False)
    assert list(action.periods.all()) == [periods.coming]
    entry = ProgressNote.objects.get(action=action, kind=ProgressNote.Kind.STATUS_CHANGE)
    assert entry.text == "Reportée à Prochaine."


def test_postponing_to_an_ended_period_writes_nothing_and_says_why(
    coordinator_client, desk, periods
):
    data = {
        **page_data(coordinator_client.get(update_url(desk.action))),
        "status": Action.Status.POSTPONED,
        "reason": "Pas de local.",
        "periods": [str(periods.ended.pk)],  # posted although the box is disabled
    }
    before = state(desk)

    response = coordinator_client.post(update_url(desk.action), data)

    assert response.status_code == 200
    content = html(response)
    assert NOTHING_SAVED in content
    assert "La nouvelle période doit se terminer après aujourd'hui" in content
    assert state(desk) == before
    assert not desk.action.periods.exists()


# --- Refused, writing nothing ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param({"reason": ""}, "Indiquez la raison", id="postponed-without-reason"),
        pytest.param(
            {"without_date": ""},
            "Choisissez la ou les nouvelles périodes, ou indiquez que l'action attend une "
            "nouvelle date.",
            id="postponed-without-saying-when",
        ),
        pytest.param(
            {"status": Action.Status.ABANDONED, "reason": "   "},
            "Indiquez la raison",
            id="abandoned-with-blank-reason",
        ),
        pytest.param({"completion": "150"}, "inférieure ou égale à 100", id="completion-150"),
        pytest.param({"completion": "-5"}, "supérieure ou égale à 0", id="completion-negative"),
        pytest.param({"value": "-3"}, "supérieure ou égale à 0", id="negative-value"),
        pytest.param({"value": "1e15"}, "pas plus de 12 chiffres", id="huge-value"),
        pytest.param({"value": "douze"}, "Saisissez un nombre", id="words-for-a-value"),
        pytest.param({"value": "NaN"}, "Saisissez un nombre", id="nan-value"),
        pytest.param({"date": "2019-02-30"}, "Saisissez une date valide", id="no-such-day"),
        pytest.param({"confirmation": "owner"}, "Sélectionnez un choix valide", id="bad-choice"),
        pytest.param({"status": "done'; DROP TABLE"}, "Sélectionnez un choix valide", id="status"),
        pytest.param({"note": "x" * 10001}, "au plus 10000", id="huge-note"),
    ],
)
def test_a_hostile_or_mistaken_value_writes_nothing_and_says_why(
    coordinator_client, desk, change, message
):
    data = {**page_data(coordinator_client.get(update_url(desk.action))), **everything_typed(desk)}
    for name, value in change.items():
        key = {
            "value": f"value-{desk.count.pk}",
            "date": f"date-{desk.count.pk}",
            "confirmation": f"confirmation-{desk.link.pk}",
        }.get(name, name)
        data[key] = value
    before = state(desk)

    response = coordinator_client.post(update_url(desk.action), data)

    assert response.status_code == 200
    content = html(response).replace("\u202f", " ").replace("\xa0", " ")
    assert NOTHING_SAVED in content
    assert message in content
    kept = "Pas de financement cette année." if "note" in change else "Les producteurs"
    assert kept in content  # what she typed stays
    assert state(desk) == before


def test_fields_of_another_action_are_ignored_by_the_page(coordinator_client, desk):
    """A posted target or link of another action is no field of this page: nothing of the
    other action changes."""
    other = ActionFactory()
    foreign = TargetFactory(action=other, kind=Target.Kind.COUNT)
    foreign_deliverable = TargetFactory(action=other)
    foreign_link = ActionPartnerFactory(action=other)
    data = page_data(coordinator_client.get(update_url(desk.action)))
    data.update(
        {
            f"value-{foreign.pk}": "5",
            f"done-{foreign_deliverable.pk}": "on",
            f"confirmation-{foreign_link.pk}": ActionPartner.Confirmation.DECLINED,
        }
    )

    coordinator_client.post(update_url(desk.action), data)

    assert not TargetValue.objects.filter(target=foreign).exists()
    assert not Target.objects.get(pk=foreign_deliverable.pk).is_done
    assert ActionPartner.objects.get(pk=foreign_link.pk).confirmation == "not_specified"


@pytest.mark.parametrize(
    "arguments",
    [
        pytest.param(
            lambda d, o: {"values": {o.count.pk: (Decimal(5), None)}}, id="foreign-value"
        ),
        pytest.param(
            lambda d, o: {"values": {d.deliverable.pk: (Decimal(5), None)}},
            id="value-on-deliverable",
        ),
        pytest.param(
            lambda d, o: {"deliverables": {o.deliverable.pk: True}}, id="foreign-deliverable"
        ),
        pytest.param(lambda d, o: {"deliverables": {d.count.pk: True}}, id="tick-on-a-count"),
        pytest.param(lambda d, o: {"confirmations": {o.link.pk: "declined"}}, id="foreign-link"),
        pytest.param(lambda d, o: {"confirmations": {d.link.pk: "owner"}}, id="bad-confirmation"),
        pytest.param(lambda d, o: {"values": {d.count.pk: (Decimal("1e13"), None)}}, id="huge"),
        pytest.param(lambda d, o: {"completion": 150}, id="completion-150"),
        pytest.param(lambda d, o: {"status": Action.Status.ABANDONED}, id="no-reason"),
    ],
)
def test_the_service_writes_nothing_when_any_part_is_refused(coordinator, desk, arguments):
    """The service is the last gate (imports and scripts call it too): one refused part and
    nothing of the others is written."""
    other_action = ActionFactory()
    other = SimpleNamespace(
        count=TargetFactory(action=other_action, kind=Target.Kind.COUNT),
        deliverable=TargetFactory(action=other_action),
        link=ActionPartnerFactory(action=other_action),
    )
    valid = {
        "status": Action.Status.IN_PROGRESS,
        "note": "Démarrée.",
        "values": {desk.count.pk: (Decimal(6), None)},
        "confirmations": {desk.link.pk: ActionPartner.Confirmation.CONFIRMED_MEMBER},
    }
    hostile = arguments(desk, other)
    merged = {
        **valid,
        **{
            key: {**valid.get(key, {}), **value} if isinstance(value, dict) else value
            for key, value in hostile.items()
        },
    }
    before = state(desk)

    with pytest.raises(ValidationError):
        update_action(action=desk.action, user=coordinator, **merged)

    assert state(desk) == before
    assert not TargetValue.objects.filter(target=other.count).exists()
    assert not Target.objects.get(pk=other.deliverable.pk).is_done
    assert ActionPartner.objects.get(pk=other.link.pk).confirmation == "not_specified"


# --- A stale page ----------------------------------------------------------------------------


def test_a_stale_page_is_refused_keeps_what_she_typed_and_shows_the_action_as_it_is(
    coordinator_client, colleague, desk
):
    """Moved from the list's editable status and the full form: a page opened before a
    colleague's save never undoes it."""
    opened = coordinator_client.get(update_url(desk.action))
    change_status(action=desk.action, status=Action.Status.DONE, user=colleague)  # meanwhile
    data = {**page_data(opened), "note": "Les producteurs attendent la subvention."}
    data[f"value-{desk.count.pk}"] = "8"

    response = coordinator_client.post(update_url(desk.action), data)

    assert response.status_code == 200
    content = html(response)
    assert "Coordo2 a enregistré « 1.2.3 Mobiliser les producteurs » le" in content
    assert "Statut : À venir → Réalisée" in content
    assert "Rien n'a été enregistré : la page montre maintenant l'action telle qu'elle est" in (
        content
    )
    assert "Les producteurs attendent la subvention." in content
    assert f'name="value-{desk.count.pk}" value="8"' in content
    action = Action.objects.get(pk=desk.action.pk)
    assert action.status == Action.Status.DONE
    assert not ProgressNote.objects.filter(text__startswith="Les producteurs").exists()
    assert not TargetValue.objects.filter(value=8).exists()
    # The page now shows her colleague's status, so saving again keeps it.
    form = response.context["form"]
    assert form["status"].value() == Action.Status.DONE

    again = coordinator_client.post(update_url(desk.action), page_data(response))

    assert again.status_code == 302
    assert Action.objects.get(pk=desk.action.pk).status == Action.Status.DONE
    assert ProgressNote.objects.filter(text="Les producteurs attendent la subvention.").exists()
    assert TargetValue.objects.filter(value=8).exists()


def test_a_status_she_changed_on_a_stale_page_stays_in_the_form(
    coordinator_client, colleague, desk
):
    opened = coordinator_client.get(update_url(desk.action))
    desk.action.means = "Autres moyens"
    desk.action._history_user = colleague
    desk.action.save()
    data = {**page_data(opened), "status": Action.Status.IN_PROGRESS}

    response = coordinator_client.post(update_url(desk.action), data)

    assert response.status_code == 200
    assert response.context["form"]["status"].value() == Action.Status.IN_PROGRESS
    assert Action.objects.get(pk=desk.action.pk).status == Action.Status.PLANNED


def test_a_confirmation_changed_meanwhile_is_not_undone(coordinator_client, colleague, desk):
    opened = coordinator_client.get(update_url(desk.action))
    desk.link.confirmation = ActionPartner.Confirmation.POTENTIAL
    desk.link._history_user = colleague
    desk.link.save()  # meanwhile, on the partners' list
    data = {**page_data(opened), f"confirmation-{desk.link.pk}": "confirmed_member"}

    response = coordinator_client.post(update_url(desk.action), data)

    assert response.status_code == 200
    assert "Coordo2 a enregistré" in html(response)
    assert ActionPartner.objects.get(pk=desk.link.pk).confirmation == "potential"


def test_a_confirmation_changed_meanwhile_survives_a_save_that_did_not_touch_it(
    coordinator_client, colleague, desk
):
    opened = coordinator_client.get(update_url(desk.action))
    desk.link.confirmation = ActionPartner.Confirmation.POTENTIAL
    desk.link._history_user = colleague
    desk.link.save()
    data = {**page_data(opened), "note": "Rien d'autre."}

    assert coordinator_client.post(update_url(desk.action), data).status_code == 302
    assert ActionPartner.objects.get(pk=desk.link.pk).confirmation == "potential"


def test_the_service_refuses_a_version_older_than_the_action(coordinator, colleague, desk):
    seen = version_of(latest_records(Action, [desk.action.pk])[desk.action.pk])
    change_status(action=desk.action, status=Action.Status.DONE, user=colleague)

    with pytest.raises(StaleVersion):
        update_action(
            action=Action.objects.get(pk=desk.action.pk),
            user=coordinator,
            status=Action.Status.IN_PROGRESS,
            note="Trop tard.",
            seen_version=seen,
        )

    assert Action.objects.get(pk=desk.action.pk).status == Action.Status.DONE
    assert not ProgressNote.objects.filter(text="Trop tard.").exists()


# --- Who reaches it --------------------------------------------------------------------------


@pytest.fixture
def member(backoffice_member):
    """A member let into the back-office (members are not staff by default: those are sent
    to the login page, tests/backoffice/test_member_access.py)."""
    return backoffice_member


def test_a_member_gets_no_page_and_no_link(member_client, member, desk):
    Membership.objects.create(coalition=desk.plan.coalition, user=member)
    before = state(desk)

    assert member_client.get(update_url(desk.action)).status_code == 403
    response = member_client.post(update_url(desk.action), everything_typed(desk))

    assert response.status_code == 403
    assert state(desk) == before
    assert update_url(desk.action) not in html(member_client.get(CHANGELIST))
    dashboard = member_client.get(desk.action.get_absolute_url())
    assert dashboard.status_code == 200
    assert update_url(desk.action) not in html(dashboard)


def test_a_coordinator_of_another_coalition_gets_no_page(client, django_user_model, desk):
    stranger = make_user(django_user_model, "coordo-ailleurs", COORDINATION)
    Membership.objects.create(coalition=PlanFactory().coalition, user=stranger)
    client.force_login(stranger)
    before = state(desk)

    assert client.get(update_url(desk.action)).status_code == 404
    assert client.post(update_url(desk.action), everything_typed(desk)).status_code == 404
    assert state(desk) == before


@pytest.mark.parametrize("who", ["outsider", "anonymous"])
def test_non_staff_are_sent_to_the_login_page(client, outsider, desk, who):
    if who == "outsider":
        client.force_login(outsider)

    response = client.post(update_url(desk.action), everything_typed(desk))

    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))
    assert Action.objects.get(pk=desk.action.pk).status == Action.Status.PLANNED


# --- One click from the list, the action's page and the full form ----------------------------


def test_each_row_of_the_list_links_to_its_update_page(coordinator_client, desk):
    content = html(coordinator_client.get(CHANGELIST))

    assert f'href="{update_url(desk.action)}">Mettre à jour' in content
    # No trap: no status menu that looks saved, no save button at the foot of the list.
    assert 'name="form-0-status' not in content
    assert 'name="_save"' not in content
    assert '<span class="status-badge status-planned">À venir</span>' in content


def test_the_dashboard_action_page_links_to_the_update_page(coordinator_client, desk):
    page = desk.action.get_absolute_url()

    content = html(coordinator_client.get(page))

    assert f'href="{update_url(desk.action)}?next={page}"' in content
    assert "Mettre à jour" in content


def test_the_full_form_shows_the_status_read_only_and_links_to_the_update_page(
    coordinator_client, desk
):
    content = html(
        coordinator_client.get(reverse("admin:actions_action_change", args=[desk.action.pk]))
    )

    assert 'name="status"' not in content
    assert 'name="completion"' not in content
    assert '<span class="status-badge status-planned">À venir</span>' in content
    assert content.count(f'href="{update_url(desk.action)}"') == 2  # at the top, by the status
