"""A partner link is on three pages: the action's, the organisation's and the list of every
link. Two coordinators saving the same link at the same instant, from any two of them: exactly
one save goes through and nothing is lost; two adding the same partner at once get one link
and a plain message, never a server error (tests/concurrency.py)."""

from types import SimpleNamespace

import pytest
from django.urls import reverse

from partners.models import ActionPartner
from tests.concurrency import (
    NOT_SAVED,
    PAIRS,
    fields_of,
    one_saved,
    open_at_once,
    post_at_once,
    text,
    two_coordinators,
)
from tests.factories import ActionFactory, ActionPartnerFactory, OrganisationFactory

pytestmark = pytest.mark.django_db(transaction=True)

CONFIRMATIONS = [
    ActionPartner.Confirmation.CONFIRMED_MEMBER,
    ActionPartner.Confirmation.CONFIRMED_COLLABORATOR,
]


@pytest.fixture
def desk(live_server, django_user_model):
    action = ActionFactory()
    organisation = OrganisationFactory(name="Moisson Laval", coalition=action.plan.coalition)
    link = ActionPartnerFactory(action=action, organisation=organisation)
    with two_coordinators(live_server, django_user_model, action.plan.coalition) as (
        users,
        browsers,
    ):
        yield SimpleNamespace(
            action=action, organisation=organisation, link=link, users=users, browsers=browsers
        )


def history_count(link):
    return ActionPartner.history.filter(id=link.pk).count()


def save_pairs(desk, pages_and_changes, submit=None):
    """PAIRS times: both open their page (url, form id, {field: value for pair n}) and save
    it at once (with the button `submit`); exactly one save goes through, with her value."""
    for pair in range(PAIRS):
        # Neither value is the link's own yet, so both saves are changes.
        desk.link.confirmation = ActionPartner.Confirmation.NOT_SPECIFIED
        desk.link.save()
        before = history_count(desk.link)
        urls = [url for url, _form, _change in pages_and_changes]
        opened = open_at_once(desk.browsers, urls)
        changes = [change(pair) for _url, _form, change in pages_and_changes]
        posts = [
            fields_of(page, form, submit, **change)
            for page, (_url, form, _c), change in zip(
                opened, pages_and_changes, changes, strict=True
            )
        ]
        responses = post_at_once(desk.browsers, urls, posts)

        saved, refused = one_saved(responses)
        desk.link.refresh_from_db()
        winner = changes[responses.index(saved)]
        for name, value in winner.items():
            field = name.rsplit("-", 1)[-1]
            assert str(getattr(desk.link, field)) == value
        assert history_count(desk.link) == before + 1
        assert NOT_SAVED in text(refused) or "changé" in text(refused)


def test_the_action_page_and_the_organisation_page_save_the_same_link_at_once(desk):
    action_page = reverse("admin:actions_action_change", args=[desk.action.pk])
    organisation_page = reverse("admin:partners_organisation_change", args=[desk.organisation.pk])
    save_pairs(
        desk,
        [
            (action_page, "action_form", lambda pair: {"partner_links-0-note": f"Action {pair}"}),
            (
                organisation_page,
                "organisation_form",
                lambda pair: {"action_links-0-note": f"Organisation {pair}"},
            ),
        ],
    )


def test_two_saves_of_the_list_of_links_at_once(desk):
    url = reverse("admin:partners_actionpartner_changelist")
    save_pairs(
        desk,
        [
            (
                url,
                "changelist-form",
                lambda pair: {"form-0-confirmation": CONFIRMATIONS[0]},
            ),
            (
                url,
                "changelist-form",
                lambda pair: {"form-0-confirmation": CONFIRMATIONS[1]},
            ),
        ],
        submit="_save",
    )


def test_two_coordinators_add_the_same_partner_at_once(desk):
    """Both add the same organisation to the action in its empty partner row: one link, and
    the other page says the organisation is already linked, with what she typed."""
    url = reverse("admin:actions_action_change", args=[desk.action.pk])
    for pair in range(PAIRS):
        added = OrganisationFactory(name=f"Nouvel organisme {pair}")
        opened = open_at_once(desk.browsers, url)
        notes = [f"Ajout {user.username} {pair}" for user in desk.users]
        posts = [
            fields_of(
                page,
                "action_form",
                **{"partner_links-1-organisation": str(added.pk), "partner_links-1-note": note},
            )
            for page, note in zip(opened, notes, strict=True)
        ]
        responses = post_at_once(desk.browsers, url, posts)

        saved, refused = one_saved(responses)
        link = ActionPartner.objects.get(action=desk.action, organisation=added)
        assert link.note == notes[responses.index(saved)]
        page = text(refused)
        assert "Cette organisation est déjà liée à cette action." in page or NOT_SAVED in page
        assert notes[responses.index(refused)] in refused.text
