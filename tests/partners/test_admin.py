"""The partner back-office: the list where the coordinator sets the legend of every link,
and the organisation list with how many actions each organisation carries."""

import datetime
import re

import pytest
from django.conf import settings
from django.urls import reverse

from partners.models import ActionPartner
from tests.factories import ActionFactory, ActionPartnerFactory, OrganisationFactory, build_plan
from tests.helpers import change_form_data, formset_data

# These test the admin for the coalitions the coordinator works for; the lines between
# coalitions are drawn in tests/test_permissions.py.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("coordinator_of_every_coalition")]

LINKS = reverse("admin:partners_actionpartner_changelist")
ORGANISATIONS = reverse("admin:partners_organisation_changelist")
# Measured (SQLite and PostgreSQL), plus a small margin; the point is that they do not grow.
LIST_MAX_QUERIES = 10


def rows(response):
    return re.findall(r"<tr>.*?</tr>", response.content.decode(), flags=re.S)


def row_with(response, text):
    return next(row for row in rows(response) if text in row)


def test_link_list_shows_confirmation_in_words_and_colour_name(coordinator_client):
    ActionPartnerFactory(
        organisation=OrganisationFactory(name="Moisson Laval"),
        confirmation=ActionPartner.Confirmation.MEMBER_TO_VALIDATE,
    )
    ActionPartnerFactory(
        organisation=OrganisationFactory(name="Ville de Laval"),
        confirmation=ActionPartner.Confirmation.CONFIRMED_COLLABORATOR,
    )

    response = coordinator_client.get(LINKS)

    assert response.status_code == 200
    moisson = row_with(response, "Moisson Laval")
    assert '<option value="member_to_validate" selected>Membre à valider</option>' in moisson
    assert "Membre à valider (mauve)" in moisson
    city = row_with(response, "Ville de Laval")
    assert "Collaborateur confirmé (bleu)" in city


def test_coordinator_sets_confirmation_and_last_contact_from_the_list(
    coordinator_client, coordinator
):
    link = ActionPartnerFactory(organisation=OrganisationFactory(name="Moisson Laval"))
    other = ActionPartnerFactory()
    formset = coordinator_client.get(LINKS).context["cl"].formset
    data = formset_data(formset)
    form = next(form for form in formset.forms if form.instance == link)
    data[form["confirmation"].html_name] = ActionPartner.Confirmation.CONFIRMED_MEMBER
    data[form["last_contact"].html_name] = "2019-03-14"
    data["_save"] = "Enregistrer"

    response = coordinator_client.post(LINKS, data)

    assert response.status_code == 302
    link.refresh_from_db()
    assert link.confirmation == ActionPartner.Confirmation.CONFIRMED_MEMBER
    assert link.last_contact == datetime.date(2019, 3, 14)
    record = link.history.first()
    assert record.history_type == "~"
    assert record.history_user == coordinator
    assert record.confirmation == ActionPartner.Confirmation.CONFIRMED_MEMBER
    other.refresh_from_db()
    assert other.confirmation == ActionPartner.Confirmation.NOT_SPECIFIED
    assert other.history.count() == 1  # only its creation
    assert "Membre confirmé (noir)" in row_with(coordinator_client.get(LINKS), "Moisson Laval")


def test_organisation_list_shows_how_many_actions_each_carries(coordinator_client):
    busy = OrganisationFactory(name="Moisson Laval")
    for _index in range(3):
        ActionPartnerFactory(organisation=busy)
    ActionPartnerFactory(organisation=OrganisationFactory(name="Ville de Laval"))
    OrganisationFactory(name="Comité organisateur matinées")
    ActionFactory()

    response = coordinator_client.get(ORGANISATIONS)

    def count_of(name):
        return re.search(r'<td class="field-action_count">(\d+)</td>', row_with(response, name))[1]

    assert count_of("Moisson Laval") == "3"
    assert count_of("Ville de Laval") == "1"
    assert count_of("Comité organisateur matinées") == "0"


@pytest.mark.parametrize("size", [5, 60])
@pytest.mark.parametrize("url", [LINKS, ORGANISATIONS], ids=["links", "organisations"])
def test_partner_lists_queries_do_not_grow(
    coordinator_client, django_assert_max_num_queries, size, url
):
    build_plan(actions=size, partners_per_action=3)

    with django_assert_max_num_queries(LIST_MAX_QUERIES):
        response = coordinator_client.get(url)

    assert response.status_code == 200


def test_the_stylesheet_draws_each_confirmation_in_the_legend_colour():
    # The colours live in the model (workbooks use them) and in the CSS (pages use them).
    css = (settings.BASE_DIR / "static" / "css" / "common.css").read_text()

    for confirmation, (colour, _name) in ActionPartner.LEGEND.items():
        assert f"--{confirmation}: {colour};" in css, confirmation


def test_adding_a_partner_the_action_already_has_is_refused_in_words(coordinator_client):
    """Django leaves the inline's own key out of its constraint checks: the second link used
    to reach the database and end in a server error."""
    link = ActionPartnerFactory(organisation=OrganisationFactory(name="Moisson Laval"))
    url = reverse("admin:actions_action_change", args=[link.action.pk])
    data = change_form_data(coordinator_client.get(url))
    data["partner_links-1-organisation"] = str(link.organisation.pk)
    data["partner_links-1-note"] = "Ajoutée une deuxième fois"

    response = coordinator_client.post(url, data)

    assert response.status_code == 200
    page = response.content.decode()
    assert "Cette organisation est déjà liée à cette action." in page
    assert "Ajoutée une deuxième fois" in page
    assert ActionPartner.objects.filter(action=link.action).count() == 1


def test_the_list_posts_the_values_it_showed_as_a_browser_does(coordinator_client):
    """Each row carries, in the page itself, the value it showed beside the one she picks:
    what a later save is compared with."""
    ActionPartnerFactory(confirmation=ActionPartner.Confirmation.MEMBER_TO_VALIDATE)

    page = coordinator_client.get(LINKS).content.decode()

    assert re.search(
        r'<input type="hidden" name="initial-form-0-confirmation" value="member_to_validate"',
        page,
    )
