"""No silent overwrite (plans/versions.py), as two coordinators meet it: one opens a page, the
other saves the same object meanwhile, the first saves her page. The stale save is refused,
says who changed what, keeps what she typed, and writes nothing; a save that overwrites
nothing goes through.

The colleague saves the way she would, by posting the admin's own form from a second
browser (so the history names her), unless a test needs a save that touches one object only.
"""

import datetime
import re
from html import unescape
from types import SimpleNamespace

import pytest
from django.contrib.admin import ModelAdmin
from django.test import Client
from django.urls import reverse

from actions.models import Action, ProgressNote, Target
from actions.services import add_note, change_status
from partners.models import ActionPartner, Organisation
from plans.groups import COORDINATION
from plans.models import Plan
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
)
from tests.helpers import (
    change_form_data,
    formset_data,
    make_user,
    member_of_every_coalition,
    row_index,
)

# These test the admin for the coalitions the coordinator works for; the lines between
# coalitions are drawn in tests/test_permissions.py.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("coordinator_of_every_coalition")]

FIX_ERRORS = "Corrigez"  # « Corrigez l'erreur ci-dessous. » / « … les erreurs … »
NOT_SAVED = "Vos changements ne sont pas enregistrés ; ils restent dans le formulaire."
PARTNER_LIST = reverse("admin:partners_actionpartner_changelist")
# The plan page: the plan, its periods and objectives, and their versions (the plan's, then
# each inline's rows at once). Measured: 12 to 13 queries on SQLite and PostgreSQL, at 2 rows
# per inline as at 20; plus a small margin.
PLAN_PAGE_MAX_QUERIES = 16


@pytest.fixture
def member(backoffice_member):
    """The member of these tests may enter the back-office (tests/conftest.py)."""
    return backoffice_member


def change_url(obj):
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])


# --- Posting a rendered form back, as a browser would ----------------------------------------


def list_data(response, changes=None):
    """The list's editable formset as rendered, `changes` ({(obj, field): value}) applied,
    posted with the list's « Enregistrer » button."""
    data = formset_data(response.context["cl"].formset)
    for (obj, field), value in (changes or {}).items():
        data[f"form-{row_index(data, 'form', obj.pk)}-{field}"] = value
    data["_save"] = "Enregistrer"
    return data


# --- Reading what the coordinator sees -------------------------------------------------------


def html(response):
    return response.content.decode()


def text(response):
    """The page as read: tags dropped, entities decoded, spaces collapsed."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html(response))))


def main_form_errors(response):
    return list(response.context["adminform"].form.non_field_errors())


def inline_rows(response, prefix):
    return next(
        inline.formset
        for inline in response.context["inline_admin_formsets"]
        if inline.formset.prefix == prefix
    ).forms


def row_errors(response, prefix, obj):
    """The errors of the row of `obj` in the re-rendered inline `prefix`."""
    form = next(f for f in inline_rows(response, prefix) if f.instance.pk == obj.pk)
    return list(form.non_field_errors())


def stale_note(who, obj):
    return f"{who} a enregistré « {obj} » le"


# --- People and data -------------------------------------------------------------------------


@pytest.fixture
def colleague(django_user_model):
    """A second coordinator of the same coalitions."""
    user = make_user(django_user_model, "coordo2", COORDINATION)
    with member_of_every_coalition(user):
        yield user


@pytest.fixture
def colleague_client(colleague):
    """The colleague's own browser."""
    browser = Client()
    browser.force_login(colleague)
    return browser


@pytest.fixture
def member_client(client, member):
    """A member of the coalitions, who reads."""
    with member_of_every_coalition(member):
        client.force_login(member)
        yield client


def by(user, obj):
    """`obj`, whose next save the history will credit to `user`."""
    obj._history_user = user
    return obj


def saves(browser, url, change):
    """Opens `url` in `browser`, applies `change` to the form's data, saves: the colleague's
    save meanwhile, which must go through."""
    data = change_form_data(browser.get(url))
    change(data)
    response = browser.post(url, data)
    assert response.status_code == 302, main_form_errors(response)
    return response


@pytest.fixture
def tracked(db):
    """An action as the coordinator finds it: a partner, two targets, a note."""
    plan = PlanFactory(title="Plan d'action 2016-2020")
    PeriodFactory(plan=plan, label="2016-2018")
    objective = ObjectiveFactory(plan=plan, number=1, title="Améliorer l'accès")
    sub_objective = SubObjectiveFactory(objective=objective, number=2, title="Producteurs")
    action = ActionFactory(
        sub_objective=sub_objective,
        code="1.2.3",
        title="Mobiliser les producteurs",
        means="Rencontrer les producteurs.",
    )
    organisation = OrganisationFactory(name="Moisson Laval", short_name="ML")
    link = ActionPartnerFactory(action=action, organisation=organisation)
    count = TargetFactory(
        action=action,
        description="Nombre de producteurs intéressés",
        kind=Target.Kind.COUNT,
        target_value=10,
        order=1,
    )
    deliverable = TargetFactory(action=action, description="Boîte à outils", order=2)
    note = ProgressNoteFactory(
        action=action, text="Première rencontre tenue.", date=datetime.date(2017, 5, 1)
    )
    return SimpleNamespace(
        plan=plan,
        objective=objective,
        sub_objective=sub_objective,
        action=action,
        organisation=organisation,
        link=link,
        count=count,
        deliverable=deliverable,
        note=note,
    )


# --- 1. An inline row of the action page -----------------------------------------------------

# Each inline of the action page: the row the colleague changes, how, and how the refusal
# words it (the field's label, then old → new).
INLINE_ROWS = {
    "target": SimpleNamespace(
        prefix="targets",
        row="deliverable",
        field="description",
        new="Boîte à outils régionale",
        shown_as="« Boîte à outils régionale »",
        change="Description : Boîte à outils → Boîte à outils régionale",
    ),
    "partner link": SimpleNamespace(
        prefix="partner_links",
        row="link",
        field="confirmation",
        new=ActionPartner.Confirmation.CONFIRMED_MEMBER,
        shown_as="« Moisson Laval (Membre confirmé) »",
        change="Confirmation : Non précisé → Membre confirmé",
    ),
}


@pytest.mark.parametrize("inline", INLINE_ROWS.values(), ids=INLINE_ROWS.keys())
def test_row_changed_meanwhile_refuses_the_page_and_keeps_what_she_typed(
    coordinator_client, coordinator, colleague_client, tracked, inline
):
    action, row = tracked.action, getattr(tracked, inline.row)
    url = change_url(action)
    opened = coordinator_client.get(url)

    def colleague_change(data):
        data[f"{inline.prefix}-{row_index(data, inline.prefix, row.pk)}-{inline.field}"] = (
            inline.new
        )

    saves(colleague_client, url, colleague_change)
    data = change_form_data(opened)
    data["means"] = "Rencontrer les producteurs et les épiceries."

    response = coordinator_client.post(url, data)

    assert response.status_code == 200
    page = text(response)
    assert FIX_ERRORS in page
    assert f"coordo2 a enregistré {inline.shown_as} le" in page
    assert inline.change in page
    assert NOT_SAVED in page
    [error] = row_errors(response, inline.prefix, row)  # on the row itself
    assert inline.change in error
    # What she typed is still in the form, to carry over.
    assert response.context["adminform"].form["means"].value() == data["means"]
    assert "Rencontrer les producteurs et les épiceries." in page
    # The database holds the colleague's row and none of her page.
    row.refresh_from_db()
    assert getattr(row, inline.field) == inline.new
    action.refresh_from_db()
    assert action.means == "Rencontrer les producteurs."
    assert not action.history.filter(history_user=coordinator).exists()


# --- 2. Other models' own forms --------------------------------------------------------------


def test_plan_changed_meanwhile_refuses_the_plan_page(
    coordinator_client, coordinator, colleague_client, tracked
):
    plan = tracked.plan
    url = change_url(plan)
    opened = coordinator_client.get(url)
    saves(colleague_client, url, lambda data: data.update(title="Plan d'action 2016-2021"))
    data = change_form_data(opened)
    data["notes"] = "Adopté en assemblée."

    response = coordinator_client.post(url, data)

    assert response.status_code == 200
    [error] = main_form_errors(response)
    assert error.startswith(stale_note("coordo2", "Plan d'action 2016-2021"))
    assert "Titre : Plan d'action 2016-2020 → Plan d'action 2016-2021" in error
    page = text(response)
    assert stale_note("coordo2", "Plan d'action 2016-2021") in page
    assert "Adopté en assemblée." in page
    plan.refresh_from_db()
    assert (plan.title, plan.notes) == ("Plan d'action 2016-2021", "")
    # Saving the refused page again, as it came back, is refused again.
    assert coordinator_client.post(url, change_form_data(response)).status_code == 200
    plan.refresh_from_db()
    assert plan.notes == ""
    assert not plan.history.filter(history_user=coordinator).exists()


def test_organisation_changed_meanwhile_refuses_the_organisation_page(
    coordinator_client, coordinator, colleague_client, tracked
):
    organisation = tracked.organisation
    url = change_url(organisation)
    opened = coordinator_client.get(url)
    saves(colleague_client, url, lambda data: data.update(short_name="MLaval"))
    data = change_form_data(opened)
    data["kind"] = Organisation.Kind.COMMUNITY

    response = coordinator_client.post(url, data)

    assert response.status_code == 200
    [error] = main_form_errors(response)
    assert error.startswith(stale_note("coordo2", "Moisson Laval"))
    assert "Nom court : ML → MLaval" in error
    assert stale_note("coordo2", "Moisson Laval") in text(response)
    assert response.context["adminform"].form["kind"].value() == Organisation.Kind.COMMUNITY
    organisation.refresh_from_db()
    assert (organisation.short_name, organisation.kind) == (
        "MLaval",
        Organisation.Kind.NOT_SPECIFIED,
    )
    assert not organisation.history.filter(history_user=coordinator).exists()


def test_sub_objective_changed_meanwhile_refuses_the_objective_page(
    coordinator_client, coordinator, colleague_client, tracked
):
    """The colleague edits the sub-objective on its own page: only its row is stale, and the
    objective's own form is not blamed; still nothing of the page is saved."""
    objective, sub_objective = tracked.objective, tracked.sub_objective
    url = change_url(objective)
    opened = coordinator_client.get(url)
    saves(
        colleague_client,
        change_url(sub_objective),
        lambda data: data.update(title="Producteurs et transformateurs"),
    )
    data = change_form_data(opened)
    data["description"] = "Rendre les aliments sains accessibles."
    index = row_index(data, "sub_objectives", sub_objective.pk)
    data[f"sub_objectives-{index}-number"] = "3"

    response = coordinator_client.post(url, data)

    assert response.status_code == 200
    assert main_form_errors(response) == []
    [error] = row_errors(response, "sub_objectives", sub_objective)
    assert error.startswith(stale_note("coordo2", "1.2 Producteurs et transformateurs"))
    assert "Titre : Producteurs → Producteurs et transformateurs" in error
    page = text(response)
    assert "Titre : Producteurs → Producteurs et transformateurs" in page
    assert "Rendre les aliments sains accessibles." in page
    sub_objective.refresh_from_db()
    assert (sub_objective.number, sub_objective.title) == (2, "Producteurs et transformateurs")
    objective.refresh_from_db()
    assert objective.description == ""
    assert not objective.history.filter(history_user=coordinator).exists()


# --- 3. The list's editable columns ----------------------------------------------------------


@pytest.fixture
def two_links(tracked):
    market = ActionPartnerFactory(
        action=tracked.action,
        organisation=OrganisationFactory(name="Marché solidaire", short_name="MS"),
    )
    return SimpleNamespace(moisson=tracked.link, market=market)


def test_stale_partner_list_does_not_overwrite_a_newer_confirmation(
    coordinator_client, coordinator, colleague_client, two_links
):
    moisson, market = two_links.moisson, two_links.market
    shown = coordinator_client.get(PARTNER_LIST)
    theirs = colleague_client.get(PARTNER_LIST)
    colleague_post = colleague_client.post(
        PARTNER_LIST,
        list_data(
            theirs, {(moisson, "confirmation"): ActionPartner.Confirmation.CONFIRMED_MEMBER}
        ),
    )
    assert colleague_post.status_code == 302
    data = list_data(
        shown,
        {
            (moisson, "confirmation"): ActionPartner.Confirmation.POTENTIAL,
            (market, "confirmation"): ActionPartner.Confirmation.POTENTIAL,
        },
    )

    response = coordinator_client.post(PARTNER_LIST, data)

    assert response.status_code == 200
    page = text(response)
    assert FIX_ERRORS in page
    assert stale_note("coordo2", "Moisson Laval (Membre confirmé)") in page
    assert "Confirmation : Non précisé → Membre confirmé" in page
    rows = {form.instance.pk: form for form in response.context["cl"].formset.forms}
    assert rows[moisson.pk].non_field_errors()
    assert not rows[market.pk].errors
    # Her choice for the other row is still in the list, to save again.
    assert rows[market.pk]["confirmation"].value() == ActionPartner.Confirmation.POTENTIAL
    moisson.refresh_from_db()
    market.refresh_from_db()
    assert moisson.confirmation == ActionPartner.Confirmation.CONFIRMED_MEMBER
    assert market.confirmation == ActionPartner.Confirmation.NOT_SPECIFIED  # nothing half-saved
    assert not ActionPartner.history.filter(history_user=coordinator).exists()


def test_a_row_a_colleague_changed_and_she_left_alone_does_not_block_her_save(
    coordinator_client, colleague_client, two_links
):
    moisson, market = two_links.moisson, two_links.market
    shown = coordinator_client.get(PARTNER_LIST)
    colleague_client.post(
        PARTNER_LIST,
        list_data(
            colleague_client.get(PARTNER_LIST),
            {(moisson, "confirmation"): ActionPartner.Confirmation.CONFIRMED_MEMBER},
        ),
    )
    data = list_data(shown, {(market, "confirmation"): ActionPartner.Confirmation.POTENTIAL})

    response = coordinator_client.post(PARTNER_LIST, data)

    assert response.status_code == 302
    moisson.refresh_from_db()
    market.refresh_from_db()
    # Her untouched row is not saved, so the colleague's value stays.
    assert moisson.confirmation == ActionPartner.Confirmation.CONFIRMED_MEMBER
    assert market.confirmation == ActionPartner.Confirmation.POTENTIAL


def test_fresh_partner_list_saves(coordinator_client, colleague_client, two_links):
    moisson, market = two_links.moisson, two_links.market
    colleague_client.post(
        PARTNER_LIST,
        list_data(
            colleague_client.get(PARTNER_LIST),
            {(moisson, "confirmation"): ActionPartner.Confirmation.CONFIRMED_MEMBER},
        ),
    )
    data = list_data(
        coordinator_client.get(PARTNER_LIST),  # shown after the colleague's save
        {(market, "confirmation"): ActionPartner.Confirmation.POTENTIAL},
    )

    response = coordinator_client.post(PARTNER_LIST, data)

    assert response.status_code == 302
    moisson.refresh_from_db()
    market.refresh_from_db()
    assert moisson.confirmation == ActionPartner.Confirmation.CONFIRMED_MEMBER
    assert market.confirmation == ActionPartner.Confirmation.POTENTIAL


# --- 3b. A save between the page's reads ----------------------------------------------------


def test_a_save_committed_while_the_page_is_read_is_never_undone_by_it(
    coordinator_client, colleague, tracked, monkeypatch
):
    """Found by the multi-server run: the page read the action, then its version; a save
    committed between the two reads gave it the newer version with the older text, and its
    save then undid the colleague's unseen. The version is now read first."""
    action = tracked.action
    original = ModelAdmin.get_object

    def read_then_colleague_saves(self, request, object_id, from_field=None):
        obj = original(self, request, object_id, from_field)
        if request.method == "GET":
            theirs = Action.objects.get(pk=action.pk)
            theirs.means = "Moyens du comité, enregistrés pendant l'affichage."
            change_status(action=theirs, status=theirs.status, user=colleague)
        return obj

    monkeypatch.setattr(ModelAdmin, "get_object", read_then_colleague_saves)
    data = change_form_data(coordinator_client.get(change_url(action)))
    monkeypatch.undo()
    data["title"] = "Mobiliser les producteurs de la région"

    response = coordinator_client.post(change_url(action), data)

    action.refresh_from_db()
    assert action.means == "Moyens du comité, enregistrés pendant l'affichage."
    assert response.status_code == 200
    assert stale_note("coordo2", action) in text(response)


# --- 4. No false alarm -----------------------------------------------------------------------


def test_same_coordinator_saves_twice_with_a_reload_between(coordinator_client, tracked):
    action = tracked.action
    url = change_url(action)
    data = change_form_data(coordinator_client.get(url))
    data["means"] = "Premier jet."
    data["_continue"] = "Enregistrer et continuer les modifications"
    first = coordinator_client.post(url, data, follow=True)  # back on the page, reloaded
    assert first.redirect_chain[-1][1] == 302
    data = change_form_data(first)
    data[f"targets-{row_index(data, 'targets', tracked.deliverable.pk)}-description"] = (
        "Boîte à outils régionale"
    )
    data["means"] = "Second jet."

    response = coordinator_client.post(url, data)

    assert response.status_code == 302
    action.refresh_from_db()
    tracked.deliverable.refresh_from_db()
    assert action.means == "Second jet."
    assert tracked.deliverable.description == "Boîte à outils régionale"


def test_two_coordinators_on_two_actions_both_save(
    coordinator_client, colleague_client, coordinator, colleague, tracked
):
    mine, theirs = (
        tracked.action,
        ActionFactory(sub_objective=tracked.sub_objective, code="1.2.4", title="Ouvrir un marché"),
    )
    TargetFactory(action=theirs, description="Un marché ouvert")
    my_page = coordinator_client.get(change_url(mine))
    their_page = colleague_client.get(change_url(theirs))
    their_data = change_form_data(their_page)
    their_data["means"] = "Trouver un local."
    assert colleague_client.post(change_url(theirs), their_data).status_code == 302
    my_data = change_form_data(my_page)
    my_data["means"] = "Rencontrer les producteurs et les épiceries."

    response = coordinator_client.post(change_url(mine), my_data)

    assert response.status_code == 302
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.means == "Rencontrer les producteurs et les épiceries."
    assert theirs.means == "Trouver un local."
    assert mine.history.first().history_user == coordinator
    assert theirs.history.first().history_user == colleague


def test_only_the_row_changed_meanwhile_is_refused(coordinator_client, colleague_client, tracked):
    """The colleague corrects one target on its own page; the coordinator changes the other
    target on the action page. Her page still carries the first target as it was, which would
    undo the correction: that row, and only that row, is refused."""
    url = change_url(tracked.action)
    opened = coordinator_client.get(url)
    saves(
        colleague_client,
        change_url(tracked.count),
        lambda data: data.update(description="Nombre de producteurs inscrits"),
    )
    data = change_form_data(opened)
    data[f"targets-{row_index(data, 'targets', tracked.deliverable.pk)}-description"] = (
        "Boîte à outils régionale"
    )

    response = coordinator_client.post(url, data)

    assert response.status_code == 200
    assert main_form_errors(response) == []  # the action itself did not change
    [error] = row_errors(response, "targets", tracked.count)
    assert (
        "Description : Nombre de producteurs intéressés → Nombre de producteurs inscrits" in error
    )
    assert row_errors(response, "targets", tracked.deliverable) == []
    for form in inline_rows(response, "partner_links"):
        assert not form.errors
    tracked.count.refresh_from_db()
    tracked.deliverable.refresh_from_db()
    assert tracked.count.description == "Nombre de producteurs inscrits"
    assert tracked.deliverable.description == "Boîte à outils"

    # Reloaded, the same change goes through and keeps the colleague's correction.
    data = change_form_data(coordinator_client.get(url))
    data[f"targets-{row_index(data, 'targets', tracked.deliverable.pk)}-description"] = (
        "Boîte à outils régionale"
    )
    assert coordinator_client.post(url, data).status_code == 302
    tracked.count.refresh_from_db()
    tracked.deliverable.refresh_from_db()
    assert tracked.count.description == "Nombre de producteurs inscrits"
    assert tracked.deliverable.description == "Boîte à outils régionale"


def test_a_row_saved_meanwhile_without_changes_to_her_fields_still_refuses_its_row(
    coordinator_client, colleague, tracked
):
    """A save that changed none of the fields the row shows still moves its version: the
    refusal then says « d'autres champs »."""
    url = change_url(tracked.action)
    opened = coordinator_client.get(url)
    by(colleague, tracked.deliverable).save()

    response = coordinator_client.post(url, change_form_data(opened))

    assert response.status_code == 200
    [error] = row_errors(response, "targets", tracked.deliverable)
    assert "Ce qui a changé : d'autres champs." in error


def test_a_note_added_meanwhile_does_not_refuse_her_change_to_the_action(
    coordinator_client, colleague, tracked
):
    """The colleague only adds a progress note to the action's trail; the coordinator, whose
    page was opened before, changes the means.

    Nothing she posts would overwrite the colleague's work: the note is a new row, absent
    from her page, and the action's fields are as she loaded them. Yet the admin saves the
    action along with any inline (ActionAdmin.save_model → change_status → action.save()),
    which adds a historical record of the action without any change; her page is then refused
    with « coordo2 a enregistré « 1.2.3 Mobiliser les producteurs » … Ce qui a changé :
    d'autres champs », which is a false alarm (and the « other fields » are none)."""
    action = tracked.action
    url = change_url(action)
    opened = coordinator_client.get(url)

    add_note(action=action, text="Appel avec le Marché solidaire.", user=colleague)
    data = change_form_data(opened)
    data["means"] = "Rencontrer les producteurs et les épiceries."

    response = coordinator_client.post(url, data)

    assert response.status_code == 302, main_form_errors(response)
    action.refresh_from_db()
    assert action.means == "Rencontrer les producteurs et les épiceries."
    assert action.notes.filter(text="Appel avec le Marché solidaire.").exists()


# --- 5. A row deleted meanwhile --------------------------------------------------------------


def test_row_deleted_meanwhile_shows_an_error_and_saves_nothing(
    coordinator_client, coordinator, colleague, tracked
):
    action, gone, kept = tracked.action, tracked.deliverable, tracked.count
    url = change_url(action)
    opened = coordinator_client.get(url)
    by(colleague, gone).delete()
    data = change_form_data(opened)
    data["means"] = "Rencontrer les producteurs et les épiceries."
    data[f"targets-{row_index(data, 'targets', kept.pk)}-description"] = (
        "Nombre de producteurs inscrits"
    )

    response = coordinator_client.post(url, data)

    assert response.status_code == 200  # not a server error
    assert FIX_ERRORS in text(response)
    action.refresh_from_db()
    kept.refresh_from_db()
    assert action.means == "Rencontrer les producteurs."
    assert kept.description == "Nombre de producteurs intéressés"
    assert list(action.targets.all()) == [kept]  # the deleted row is not brought back
    assert not action.history.filter(history_user=coordinator).exists()


def test_row_deleted_meanwhile_through_the_action_page_saves_nothing(
    coordinator_client, coordinator, colleague_client, tracked
):
    action, gone, kept = tracked.action, tracked.deliverable, tracked.count
    url = change_url(action)
    opened = coordinator_client.get(url)
    saves(
        colleague_client,
        url,
        lambda data: data.update({f"targets-{row_index(data, 'targets', gone.pk)}-DELETE": "on"}),
    )
    data = change_form_data(opened)
    data["means"] = "Rencontrer les producteurs et les épiceries."

    response = coordinator_client.post(url, data)

    assert response.status_code == 200
    # The deleted row is refused with who deleted it; the action itself was not touched.
    assert f"coordo2 a supprimé « {gone} » le" in text(response)
    assert "Rencontrer les producteurs et les épiceries." in response.content.decode()
    action.refresh_from_db()
    assert action.means == "Rencontrer les producteurs."
    assert list(action.targets.all()) == [kept]
    assert not action.history.filter(history_user=coordinator).exists()


def test_row_deleted_meanwhile_is_explained_and_her_other_rows_are_kept(
    coordinator_client, colleague, tracked
):
    """After a row was deleted under her, the coordinator reads why her page is refused, next
    to the rows, with her other edits still in the form: Django alone would pair the posted
    rows with the remaining ones by position and drop the last."""
    action, gone, kept = tracked.action, tracked.count, tracked.deliverable  # gone is row 0
    url = change_url(action)
    opened = coordinator_client.get(url)
    by(colleague, gone).delete()
    data = change_form_data(opened)
    data[f"targets-{row_index(data, 'targets', kept.pk)}-description"] = "Boîte à outils régionale"

    response = coordinator_client.post(url, data)

    assert response.status_code == 200
    page = html(response)
    targets = page[page.index('id="targets-group"') :]  # the last inline of the page
    total = int(data["targets-TOTAL_FORMS"])
    drawn = re.findall(r'name="targets-(\d+)-description"', targets)
    problems = []
    if 'class="errorlist' not in targets:
        problems.append("no error is shown in the targets")
    if 'value="Boîte à outils régionale"' not in targets:
        problems.append("her edit of the other target is not in the form")
    if len(drawn) != total:
        problems.append(f"{total} target rows posted, {len(drawn)} drawn (rows {drawn})")
    assert not problems, problems


# --- 6. Those who only read ------------------------------------------------------------------


def test_reader_pages_show_no_version_field(member_client, tracked):
    pages = [
        change_url(tracked.action),
        change_url(tracked.plan),
        change_url(tracked.objective),
        change_url(tracked.sub_objective),
        change_url(tracked.organisation),
        change_url(tracked.count),
        change_url(tracked.link),
        change_url(tracked.note),
        PARTNER_LIST,
        reverse("admin:actions_action_changelist"),
    ]
    for url in pages:
        response = member_client.get(url)
        assert response.status_code == 200, url
        content = html(response)
        assert 'name="_save"' not in content, url
        for word in ("Loaded version", "loaded_version", "loaded version"):
            assert word.lower() not in content.lower(), (url, word)
    assert "Mobiliser les producteurs" in text(member_client.get(change_url(tracked.action)))


# --- 7. Queries ------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [2, 20])
def test_plan_page_queries_do_not_grow_with_objectives_and_periods(
    coordinator_client, django_assert_max_num_queries, size
):
    plan = PlanFactory()
    for index in range(size):
        PeriodFactory(plan=plan, label=f"Période {index}")
        SubObjectiveFactory(objective=ObjectiveFactory(plan=plan, number=index + 1))

    with django_assert_max_num_queries(PLAN_PAGE_MAX_QUERIES):
        response = coordinator_client.get(change_url(plan))

    assert response.status_code == 200
    data = change_form_data(response)
    assert int(data["periods-TOTAL_FORMS"]) == size
    assert int(data["objectives-TOTAL_FORMS"]) == size
    assert all(data[f"objectives-{i}-loaded_version"] for i in range(size))
    assert Plan.objects.count() == 1
    assert not ProgressNote.objects.exists()
    assert Action.objects.count() == 0
