"""Writing an organisation's part in an action, and the update of an action with its partners
in one save: the imports, the demo data and the back-office come through here, validated and
signed by their author."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from actions.models import Action, Target
from actions.services import add_note, change_status, mark_delivered, record_target_value
from partners.models import ActionPartner
from plans.services import save_with_author
from plans.versions import StaleVersion, check_version, lock


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
def change_link(*, link, user, seen_version=None, **changes):
    """Sets `changes` (field: value) on `link`, validated, and saves it as `user`. With
    `seen_version` (the version the person saw), the row is locked and a save made meanwhile
    by someone else refuses this one (StaleVersion)."""
    if seen_version is not None:
        lock(ActionPartner.objects.filter(pk=link.pk))
        check_version(link, seen_version)
        link.refresh_from_db()
    for name, value in changes.items():
        setattr(link, name, value)
    link.full_clean()
    return save_with_author(link, user=user)


@transaction.atomic
def update_action(
    *,
    action,
    user,
    status,
    reason="",
    note="",
    completion=None,
    values=None,
    deliverables=None,
    confirmations=None,
    seen_version=None,
    seen_target_versions=None,
    seen_link_versions=None,
    date=None,
):
    """The coordinator's update of `action`, all or nothing, as `user`: its `status` (with
    the `reason` a postponement or an abandonment asks), a progress `note`, its `completion`
    (%), new `values` of its counted targets ({target id: (value, date or None)}), its
    `deliverables` ticked or not ({target id: bool}) and the `confirmations` of its partner
    links ({link id: confirmation}).

    The action, then its targets and links, are locked, then compared with the versions the
    person saw (`seen_version`, `seen_target_versions` and `seen_link_versions`, {pk:
    version}): a save made meanwhile by someone else refuses the whole update (StaleVersion),
    and so does a row deleted meanwhile. Any invalid part (a reason missing, a value the
    target cannot take, a target or link of another action) raises a ValidationError whose
    messages are keyed by what was refused ("status", "reason", "completion", "note",
    "value-<id>", "done-<id>", "confirmation-<id>"), and nothing is written. Returns what was
    written: the trail entry, the values, the targets and the links.
    """
    values, deliverables, confirmations = values or {}, deliverables or {}, confirmations or {}
    seen_target_versions = seen_target_versions or {}
    seen_link_versions = seen_link_versions or {}
    # The action first, then its rows: the order the admin's change page locks them in.
    locked = lock(Action.objects.filter(pk=action.pk))
    check_version(action, seen_version)  # says who deleted it, when it was deleted
    if not locked:
        raise ValidationError(_("Cette action n'existe plus."))
    action.refresh_from_db()
    lock(Target.objects.filter(action=action))
    lock(ActionPartner.objects.filter(action=action))
    targets = {target.pk: target for target in Target.objects.filter(action=action)}
    links = {link.pk: link for link in ActionPartner.objects.filter(action=action)}

    errors, written = {}, []

    def attempt(key, write):
        # Each part validated even after a refused one, so that the page says every
        # mistake at once; the first refusal rolls the whole update back at the end.
        try:
            result = write()
        except StaleVersion:
            raise
        except ValidationError as error:
            if hasattr(error, "error_dict"):
                for field, messages in error.message_dict.items():
                    name = field if field in ("reason", "completion") else key
                    errors.setdefault(name, []).extend(messages)
            else:
                errors.setdefault(key, []).extend(error.messages)
        else:
            if result is not None:
                written.append(result)

    if status != action.status or completion != action.completion:
        action.completion = completion
        attempt(
            "status",
            lambda: change_status(
                action=action, status=status, user=user, reason=reason, note=note, date=date
            ),
        )
    elif note.strip():
        attempt("note", lambda: add_note(action=action, text=note.strip(), user=user, date=date))

    for pk, (value, day) in values.items():
        target = targets.get(pk)
        if target is None or target.kind != Target.Kind.COUNT:
            errors.setdefault(f"value-{pk}", []).append(
                _("Cette cible n'est pas celle de l'action.")
            )
            continue
        attempt(
            f"value-{pk}",
            lambda target=target, value=value, day=day: record_target_value(
                target=target, value=value, date=day, user=user
            ),
        )

    for pk, done in deliverables.items():
        target = targets.get(pk)
        if target is None or target.kind != Target.Kind.DELIVERABLE:
            errors.setdefault(f"done-{pk}", []).append(
                _("Ce livrable n'est pas celui de l'action.")
            )
            continue
        attempt(
            f"done-{pk}",
            lambda target=target, done=done, pk=pk: mark_delivered(
                target=target, done=done, user=user, seen_version=seen_target_versions.get(pk)
            ),
        )

    for pk, confirmation in confirmations.items():
        link = links.get(pk)
        if link is None:
            errors.setdefault(f"confirmation-{pk}", []).append(
                _("Ce partenaire n'est pas celui de l'action.")
            )
            continue
        attempt(
            f"confirmation-{pk}",
            lambda link=link, confirmation=confirmation, pk=pk: change_link(
                link=link,
                user=user,
                seen_version=seen_link_versions.get(pk),
                confirmation=confirmation,
            ),
        )

    if errors:
        raise ValidationError(errors)
    return written
