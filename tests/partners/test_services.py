"""Linking an organisation to an action: validated, signed by its author, or nothing."""

import pytest
from django.core.exceptions import ValidationError

from partners.models import ActionPartner
from partners.services import change_link, link_partner
from tests.factories import ActionFactory, ActionPartnerFactory, OrganisationFactory

pytestmark = pytest.mark.django_db


def test_a_link_is_written_and_signed_by_its_author(coordinator):
    action, organisation = ActionFactory(), OrganisationFactory()

    link = link_partner(
        action=action,
        organisation=organisation,
        user=coordinator,
        role=ActionPartner.Role.CARRIER,
        confirmation=ActionPartner.Confirmation.POTENTIAL,
        label_in_source="CSDL",
    )

    stored = ActionPartner.objects.get(action=action)
    assert (stored.pk, stored.organisation, stored.role, stored.confirmation) == (
        link.pk,
        organisation,
        ActionPartner.Role.CARRIER,
        ActionPartner.Confirmation.POTENTIAL,
    )
    assert stored.history.get().history_user == coordinator


def test_linking_the_same_organisation_twice_is_refused_and_writes_nothing(coordinator):
    existing = ActionPartnerFactory()

    with pytest.raises(ValidationError):
        link_partner(action=existing.action, organisation=existing.organisation, user=coordinator)

    assert list(ActionPartner.objects.filter(action=existing.action)) == [existing]
    assert ActionPartner.history.filter(action_id=existing.action_id).count() == 1


def test_a_changed_link_is_signed_by_who_changed_it(coordinator):
    link = ActionPartnerFactory()

    change_link(link=link, user=coordinator, confirmation=ActionPartner.Confirmation.DECLINED)

    link.refresh_from_db()
    assert link.confirmation == ActionPartner.Confirmation.DECLINED
    assert link.history.latest("history_id").history_user == coordinator


def test_an_invalid_change_is_refused_and_writes_nothing(coordinator):
    link = ActionPartnerFactory(confirmation=ActionPartner.Confirmation.POTENTIAL)

    with pytest.raises(ValidationError):
        change_link(link=link, user=coordinator, confirmation="peut-être")

    link.refresh_from_db()
    assert link.confirmation == ActionPartner.Confirmation.POTENTIAL
    assert link.history.count() == 1
