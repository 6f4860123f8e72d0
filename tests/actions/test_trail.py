"""The trail is a record, and the back-office tells an action's whole story.

Entries (notes and status changes) are added, never rewritten or removed in the admin; a
mistake is corrected by a new entry pointing at it. The action's history in the admin is the
members' timeline: fields, targets and values, partners, notes and schedule, newest first,
and the seed load reads as one entry."""

import re
from html import unescape

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from actions.models import Action, ProgressNote, Target
from actions.services import add_note, change_status, correct_note, record_target_value
from devdata.management.commands.setup_demo import load_seed
from partners.models import ActionPartner
from partners.services import change_link
from partners.timeline import action_timeline
from plans.groups import COORDINATION
from plans.history import SEED_REASON
from plans.models import Period
from plans.services import save_with_author
from tests.factories import (
    ActionFactory,
    ActionPartnerFactory,
    OrganisationFactory,
    PeriodFactory,
    TargetFactory,
)
from tests.helpers import change_form_data, make_user, member_of_every_coalition, query_counts

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("coordinator_of_every_coalition")]


def html(response):
    return unescape(response.content.decode())


def history_url(action):
    return reverse("admin:actions_action_history", args=[action.pk])


def timeline_items(response):
    """The timeline's entries as text, in the order shown."""
    timeline = re.search(r'<ol class="timeline">(.*?)</ol>', html(response), flags=re.S)[1]
    items = re.findall(r"<li class=\"change[^>]*>(.*?)</li>", timeline, flags=re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", item).split()) for item in items]


@pytest.fixture
def note(coordinator):
    action = ActionFactory(title="Mobiliser les producteurs")
    return add_note(action=action, text="Rencontre tenue le 3 mai.", user=coordinator)


# --- Nobody rewrites the trail in the admin --------------------------------------------------


def test_the_action_form_has_no_rows_of_notes(coordinator_client, note):
    response = coordinator_client.get(
        reverse("admin:actions_action_change", args=[note.action_id])
    )

    assert response.status_code == 200
    assert "notes-TOTAL_FORMS" not in html(response)
    assert not any(
        formset.formset.model is ProgressNote
        for formset in response.context["inline_admin_formsets"]
    )


def test_a_note_s_page_is_read_only_with_a_correct_button(coordinator_client, note):
    response = coordinator_client.get(reverse("admin:actions_progressnote_change", args=[note.pk]))

    content = html(response)
    assert response.status_code == 200
    assert 'name="_save"' not in content
    assert 'name="text"' not in content  # no field to type into
    assert "Rencontre tenue le 3 mai." in content
    correct = reverse("admin:actions_progressnote_correct", args=[note.pk])
    assert f'href="{correct}"' in content
    assert "Supprimer" not in re.search(r'<div id="content-main">.*', content, re.S)[0]


def test_posting_a_changed_note_changes_nothing(coordinator_client, note):
    url = reverse("admin:actions_progressnote_change", args=[note.pk])

    response = coordinator_client.post(
        url, {"action": note.action_id, "date": "2001-01-01", "kind": "note", "text": "Réécrit"}
    )

    assert response.status_code == 403
    note.refresh_from_db()
    assert note.text == "Rencontre tenue le 3 mai."


def test_a_note_cannot_be_deleted_alone_or_in_bulk(coordinator_client, note):
    delete = reverse("admin:actions_progressnote_delete", args=[note.pk])
    assert coordinator_client.post(delete, {"post": "yes"}).status_code == 403

    changelist = reverse("admin:actions_progressnote_changelist")
    listed = coordinator_client.get(changelist)
    assert "delete_selected" not in html(listed)
    coordinator_client.post(
        changelist, {"action": "delete_selected", "_selected_action": [note.pk], "post": "yes"}
    )

    assert ProgressNote.objects.filter(pk=note.pk).exists()


def test_the_admin_has_no_page_to_write_a_note_beside_the_action(coordinator_client):
    response = coordinator_client.get(reverse("admin:actions_progressnote_add"))

    assert response.status_code == 403


# --- A correction is a new entry --------------------------------------------------------------


def test_a_correction_is_a_new_entry_pointing_at_the_old_one(coordinator, note):
    correction = correct_note(note=note, text="C'était le 4 mai.", user=coordinator)

    note.refresh_from_db()
    assert note.text == "Rencontre tenue le 3 mai."
    assert (correction.corrects, correction.action, correction.author) == (
        note,
        note.action,
        coordinator,
    )
    assert correction.pk != note.pk
    assert ProgressNote.objects.filter(action=note.action).count() == 2


def test_an_empty_correction_is_refused_and_writes_nothing(coordinator, note):
    with pytest.raises(ValidationError):
        correct_note(note=note, text="   ", user=coordinator)

    assert ProgressNote.objects.count() == 1


def test_a_correction_of_another_action_s_entry_is_refused(coordinator, note):
    other = ActionFactory(code="9.9.9")
    stray = ProgressNote(
        action=other, corrects=note, text="Ailleurs", author=coordinator, kind="note"
    )

    with pytest.raises(ValidationError, match="même action"):
        stray.full_clean()


def test_a_correction_is_a_note_not_a_status_change(coordinator, note):
    stray = ProgressNote(
        action=note.action,
        corrects=note,
        kind=ProgressNote.Kind.STATUS_CHANGE,
        status_to=Action.Status.DONE,
        author=coordinator,
    )

    with pytest.raises(ValidationError, match="Une correction est une note de suivi"):
        stray.full_clean()


def test_the_correct_page_adds_the_correction_and_shows_it_in_both_timelines(
    coordinator_client, client, member, note
):
    url = reverse("admin:actions_progressnote_correct", args=[note.pk])
    form = coordinator_client.get(url)
    assert "Rencontre tenue le 3 mai." in html(form)

    response = coordinator_client.post(url, {"text": "C'était le 4 mai."})

    assert response.status_code == 302
    assert response["Location"] == history_url(note.action)
    admin_items = timeline_items(coordinator_client.get(history_url(note.action)))
    day = re.search(r"\d+ \w+ \d{4}", admin_items[0])[0]
    assert admin_items[0].startswith(day)
    assert f"Correction de l'entrée du {day}" in admin_items[0]
    assert "C'était le 4 mai." in admin_items[0]
    assert "Rencontre tenue le 3 mai." in admin_items[1]
    assert "corrigée par une entrée plus récente" in admin_items[1]
    # The members' page tells the same.
    client.force_login(member)
    with member_of_every_coalition(member):
        page = client.get(note.action.get_absolute_url())
    member_items = timeline_items(page)
    assert "Correction de l'entrée du" in member_items[0]
    assert "corrigée par une entrée plus récente" in member_items[1]
    assert "Corriger" not in html(page)


@pytest.mark.parametrize("text", ["", "x" * 5001])
def test_a_bad_correction_answers_in_french_and_writes_nothing(coordinator_client, note, text):
    url = reverse("admin:actions_progressnote_correct", args=[note.pk])

    response = coordinator_client.post(url, {"text": text})

    assert response.status_code == 200
    assert re.search(r"(Ce champ est obligatoire|au plus 5000 caractères)", html(response))
    assert ProgressNote.objects.count() == 1


@pytest.fixture
def member(backoffice_member):
    """A member let into the back-office (members are not staff by default: those are sent
    to the login page, tests/backoffice/test_member_access.py)."""
    return backoffice_member


def test_a_member_cannot_correct(member_client, member, note):
    with member_of_every_coalition(member):
        response = member_client.post(
            reverse("admin:actions_progressnote_correct", args=[note.pk]), {"text": "Non."}
        )

    assert response.status_code == 403
    assert ProgressNote.objects.count() == 1


# --- The admin's history is the whole story -------------------------------------------------


def test_the_admin_history_lists_every_kind_of_change_newest_first(
    coordinator_client, coordinator
):
    action = ActionFactory()
    first, second = (
        PeriodFactory(plan=action.plan, label="2016-2017"),
        PeriodFactory(plan=action.plan, label="2017-2018"),
    )
    action.periods.set([first])
    target = TargetFactory(
        action=action, description="Producteurs joints", kind=Target.Kind.COUNT, target_value=10
    )
    link = ActionPartnerFactory(action=action, organisation=OrganisationFactory(name="CSDL"))
    change_status(action=action, status=Action.Status.IN_PROGRESS, user=coordinator)
    add_note(action=action, text="Comité réuni.", user=coordinator)
    record_target_value(target=target, value=4, user=coordinator)
    change_link(link=link, user=coordinator, confirmation=ActionPartner.Confirmation.POTENTIAL)
    # The schedule, through the action's form, as the coordinator changes it.
    url = reverse("admin:actions_action_change", args=[action.pk])
    data = change_form_data(coordinator_client.get(url))
    data["periods"] = [str(first.pk), str(second.pk)]
    assert coordinator_client.post(url, data).status_code == 302

    items = timeline_items(coordinator_client.get(history_url(action)))

    def position(text):
        return next(i for i, item in enumerate(items) if text in item)

    schedule = position("Périodes prévues")
    partner = position("Porteur ou partenaire modifié : CSDL")
    value = position("Nouvelle valeur pour « Producteurs joints » : 4")
    note = position("Comité réuni.")
    status = position("Statut : À venir → En cours")
    assert schedule < partner < value < note < status, items
    assert "2016-2017, 2017-2018" in items[schedule]
    assert all("coordo" in items[i] for i in (schedule, partner, value, note, status))
    # The versions of the action's own fields are still there, to revert one.
    assert 'id="change-history"' in html(coordinator_client.get(history_url(action)))


def test_the_admin_history_fetches_in_a_constant_number_of_queries(
    client, django_user_model, django_assert_max_num_queries
):
    # A coordinator of no coalition yet: rich_plan makes her one of its plans'.
    author = make_user(django_user_model, "coordo-mesure", COORDINATION)

    def check(response, data, actions):
        assert response.status_code == 200
        assert "Démarrée, étape 0." in html(response)

    counts = query_counts(
        client,
        author,
        django_assert_max_num_queries,
        address=lambda data: history_url(data.action),
        cap=40,
        check=check,
    )

    assert counts[0] == counts[1], f"{counts[0]} queries when small, {counts[1]} when large"


# --- The seed load is one entry ---------------------------------------------------------------


def test_the_seed_load_is_one_entry_per_action(coordinator_client):
    load_seed("themes", "casal_2016_2020")
    action = Action.objects.get(plan__slug="casal-2016-2020", code="1.1.1")
    assert Target.history.filter(action_id=action.pk, history_change_reason=SEED_REASON)
    assert ActionPartner.history.filter(action_id=action.pk, history_change_reason=SEED_REASON)

    changes = action_timeline(action)

    assert [change.headline for change in changes] == ["Chargé depuis le plan adopté"]
    assert changes[0].author == ""
    items = timeline_items(coordinator_client.get(history_url(action)))
    assert len(items) == 1
    assert "Chargé depuis le plan adopté" in items[0]
    assert "(système)" not in items[0]


def test_changes_after_the_seed_load_follow_its_one_entry(coordinator):
    load_seed("themes", "casal_2016_2020")
    action = Action.objects.get(plan__slug="casal-2016-2020", code="1.1.1")
    action.periods.set(Period.objects.filter(plan=action.plan)[:1])
    save_with_author(action, user=coordinator)
    change_status(action=action, status=Action.Status.DONE, user=coordinator, note="Fait.")

    headlines = [change.headline for change in action_timeline(action)]

    assert headlines[-1] == "Chargé depuis le plan adopté"
    assert headlines.count("Chargé depuis le plan adopté") == 1
    assert "Statut : À venir → Réalisée" in headlines


def test_a_deleted_action_comes_back_from_the_trash_with_its_trail_and_corrections(
    coordinator_client, coordinator, note
):
    correction = correct_note(note=note, text="C'était le 4 mai.", user=coordinator)
    action = note.action
    delete = reverse("admin:actions_action_delete", args=[action.pk])
    deleted = coordinator_client.post(delete, {"post": "yes"})
    assert deleted.status_code == 302, html(deleted)[-3000:]
    assert not ProgressNote.objects.filter(action=action.pk).exists()
    deletion = Action.history.get(id=action.pk, history_type="-")

    response = coordinator_client.post(
        reverse("admin:actions_action_recover", args=[deletion.history_id])
    )

    assert response.status_code == 302, re.findall(r'<li class="error">(.*?)</li>', html(response))
    restored = ProgressNote.objects.get(pk=correction.pk)
    assert (restored.corrects_id, restored.text) == (note.pk, "C'était le 4 mai.")
    assert ProgressNote.objects.get(pk=note.pk).text == "Rencontre tenue le 3 mai."
