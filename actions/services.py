"""Changes to an action that touch several models. The admin, the pages and the imports all
come through here, so the rules hold whichever door a change comes in by."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from actions.models import Action, ProgressNote


def validate_status_change(*, old_status, new_status, reason):
    """Postponing or abandoning an action asks why; the reason stays in its trail."""
    if (
        new_status != old_status
        and new_status in Action.STATUSES_NEEDING_REASON
        and not (reason or "").strip()
    ):
        raise ValidationError(
            {
                "reason": _(
                    "Indiquez la raison : une action « %(status)s » garde sa raison dans son "
                    "suivi."
                )
                % {"status": Action.Status(new_status).label}
            }
        )


@transaction.atomic
def change_status(*, action, status, user, reason="", note="", date=None):
    """Save `action` with `status`; a change of status, or a note, goes into its trail.

    The previous status is read from the database (and the row locked), so a status typed
    in a stale form is compared with what is really stored. Other edits already made to
    `action` are validated and saved with it. Returns the trail entry, or None when
    neither the status changed nor a note was given.
    """
    previous = None
    if action.pk:
        previous = (
            Action.objects.select_for_update()
            .filter(pk=action.pk)
            .values_list("status", flat=True)
            .first()
        )
    validate_status_change(old_status=previous, new_status=status, reason=reason)

    action.status = status
    action.full_clean()
    # Outside a request (imports from the shell, tests) the history still names its author.
    action._history_user = user
    if status != previous and reason.strip():
        action._change_reason = reason.strip()  # shown in the admin's history
    action.save()

    is_new_and_planned = previous is None and status == Action.Status.PLANNED
    status_changed = status != previous and not is_new_and_planned
    if not status_changed and not note.strip():
        return None
    # A note typed beside an unchanged status is still kept, as a plain progress note.
    entry = ProgressNote(
        action=action,
        kind=ProgressNote.Kind.STATUS_CHANGE if status_changed else ProgressNote.Kind.NOTE,
        status_from=(previous or "") if status_changed else "",
        status_to=status if status_changed else "",
        reason=reason.strip() if status_changed else "",
        text=note.strip(),
        author=user,
        date=date or timezone.localdate(),
    )
    entry.full_clean()
    entry._history_user = user
    entry.save()
    return entry
