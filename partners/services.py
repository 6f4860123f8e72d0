"""Writing an organisation's part in an action: the imports and the demo data come through
here, validated and signed by their author."""

from django.db import transaction

from partners.models import ActionPartner
from plans.services import save_with_author


@transaction.atomic
def link_partner(
    *,
    action,
    organisation,
    user,
    role=ActionPartner.Role.NOT_SPECIFIED,
    confirmation=ActionPartner.Confirmation.NOT_SPECIFIED,
    label_in_source="",
    order=0,
):
    """Links `organisation` to `action` with its `role` and `confirmation`, as `user`.

    Raises ValidationError, writing nothing, when the organisation is linked to the action
    already. The caller locks the action when two people may link the same pair at once
    (the table import locks its plan): the database's unique constraint refuses the second
    link otherwise."""
    link = ActionPartner(
        action=action,
        organisation=organisation,
        role=role,
        confirmation=confirmation,
        label_in_source=label_in_source,
        order=order,
    )
    link.full_clean()
    return save_with_author(link, user=user)


@transaction.atomic
def change_link(*, link, user, **changes):
    """Sets `changes` (field: value) on `link`, validated, and saves it as `user`."""
    for name, value in changes.items():
        setattr(link, name, value)
    link.full_clean()
    return save_with_author(link, user=user)
