"""Changes to an action that touch several models. The admin, the pages and the imports all
come through here, so the rules hold whichever door a change comes in by."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from actions.models import Action, ProgressNote, Target, TargetValue
from plans.services import save_with_author, set_author
from plans.versions import check_version, lock


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


def validate_postponement(*, periods=(), without_date=False, action=None, today=None):
    """Postponing an action says when it now happens: new `periods` of its own plan, one at
    least not yet ended, which replace its schedule; or `without_date`, it waits for a new
    date. Exactly one of the two. Raises a ValidationError under "periods". Without `action`
    (a form for several actions) the plan is not checked."""
    periods = list(periods or ())
    today = today or timezone.localdate()
    if bool(periods) == bool(without_date):
        message = (
            _(
                "Choisissez soit de nouvelles périodes, soit « Attend une nouvelle date », "
                "pas les deux."
            )
            if periods
            else _(
                "Choisissez la ou les nouvelles périodes, ou indiquez que l'action attend une "
                "nouvelle date."
            )
        )
        raise ValidationError({"periods": message})
    if action is not None:
        plan_id = action.plan_id
        if plan_id is None and action.sub_objective_id:  # a new action: its sub-objective's
            plan_id = action.sub_objective.objective.plan_id
        foreign = [period for period in periods if period.plan_id != plan_id]
        if foreign:
            raise ValidationError(
                {
                    "periods": _(
                        "Ces périodes ne sont pas celles du plan de l'action %(code)s : "
                        "%(labels)s."
                    )
                    % {"code": action.code, "labels": period_labels(foreign)}
                }
            )
    if periods and all(period.has_ended(today) for period in periods):
        raise ValidationError(
            {
                "periods": _(
                    "La nouvelle période doit se terminer après aujourd'hui (déjà terminée : "
                    "%(labels)s). Choisissez une période à venir, ou indiquez que l'action "
                    "attend une nouvelle date."
                )
                % {"labels": period_labels(periods)}
            }
        )


def postponement_choice(scheduled, periods, today=None):
    """What an import that postpones an action chooses for it: the row's `periods` when they
    change its schedule (`scheduled`, the period ids it has; None for a new action, whose
    periods are its adopted schedule) and one of them is not yet ended; else it waits without
    a date, and the row's schedule, if any, is written as given."""
    today = today or timezone.localdate()
    if scheduled is None or not periods or {p.pk for p in periods} == set(scheduled):
        return {"without_date": True}
    if all(period.has_ended(today) for period in periods):
        return {"without_date": True}
    return {"periods": list(periods)}


def period_labels(periods):
    return ", ".join(period.label for period in sorted(periods, key=lambda p: p.start))


def postponement_words(periods):
    """What the trail says of a postponement: where to, or that it waits for a date."""
    if periods:
        return _("Reportée à %(periods)s.") % {"periods": period_labels(periods)}
    return _("Reportée sans nouvelle date.")


@transaction.atomic
def change_status(
    *,
    action,
    status,
    user,
    reason="",
    note="",
    date=None,
    seen_version=None,
    periods=(),
    without_date=False,
):
    """Save `action` with `status`; a change of status, or a note, goes into its trail.

    Postponing (a change to Reportée) asks when it now happens: new `periods` of its plan
    (they replace its schedule, whose change stays in its history) or `without_date` (it keeps
    its schedule and waits for a new date, never late meanwhile): validate_postponement().
    Leaving Reportée ends the wait. Outside a postponement both are ignored.

    The row is locked, then the previous status read from the database, so a status typed
    in a stale form is compared with what is really stored. With `seen_version` (the version
    the person saw), a save made meanwhile by someone else refuses this one (StaleVersion).
    Other edits already made to `action` are validated and saved with it. Returns the trail
    entry, or None when neither the status changed nor a note was given.
    """
    previous = None
    if action.pk:
        # Locked (FOR NO KEY UPDATE, as plans.versions.lock) while read.
        previous = (
            Action.objects.select_for_update(no_key=True)
            .filter(pk=action.pk)
            .values_list("status", flat=True)
            .first()
        )
        check_version(action, seen_version)
    validate_status_change(old_status=previous, new_status=status, reason=reason)
    postponing = status == Action.Status.POSTPONED and previous != status
    periods = list(periods or ()) if postponing else []
    if postponing:
        validate_postponement(action=action, periods=periods, without_date=without_date)
        action.awaiting_date = not periods
    elif status != Action.Status.POSTPONED:
        action.awaiting_date = False

    action.status = status
    action.full_clean()
    # Outside a request (imports from the shell, tests) the history still names its author.
    save_with_author(action, user=user, reason=reason.strip() if status != previous else None)
    if periods:
        # A second history record, the schedule's: the timeline shows the old one beside it.
        set_author(action, user=user)
        action.periods.set(periods)
    if postponing:
        note = "\n\n".join(part for part in (postponement_words(periods), note.strip()) if part)

    is_new_and_planned = previous is None and status == Action.Status.PLANNED
    status_changed = status != previous and not is_new_and_planned
    if not status_changed and not note.strip():
        return None
    # A note typed beside an unchanged status is still kept, as a plain progress note.
    return add_note(
        action=action,
        text=note.strip(),
        user=user,
        date=date,
        kind=ProgressNote.Kind.STATUS_CHANGE if status_changed else ProgressNote.Kind.NOTE,
        status_from=(previous or "") if status_changed else "",
        status_to=status if status_changed else "",
        reason=reason.strip() if status_changed else "",
    )


@transaction.atomic
def change_statuses(
    *,
    actions,
    status,
    user,
    reason="",
    note="",
    date=None,
    seen_versions=None,
    periods=(),
    without_date=False,
):
    """The same status (and note) for each of `actions`, all or none: the admin's bulk
    change. `seen_versions` ({pk: version}) are the versions the person saw; one action
    saved meanwhile by someone else refuses the whole change (StaleVersion). Postponing, each
    action takes the chosen `periods` of its own plan, or waits `without_date` (see
    change_status). Returns the trail entries written (a status change, or the note beside an
    unchanged status)."""
    periods = list(periods or ())
    pks = lock(actions)
    seen_versions = seen_versions or {}
    entries = [
        change_status(
            action=action,
            status=status,
            user=user,
            reason=reason,
            note=note,
            date=date,
            seen_version=seen_versions.get(action.pk),
            # The chosen periods of its plan; none of them, all of them, refused by name.
            periods=[p for p in periods if p.plan_id == action.plan_id] or periods,
            without_date=without_date,
        )
        for action in Action.objects.filter(pk__in=pks)
    ]
    return [entry for entry in entries if entry is not None]


@transaction.atomic
def save_note(note, *, user):
    """Validates and adds `note`, a new entry of an action's trail, signed by `user` unless
    it names its author. The trail is a record members rely on: an entry already saved is
    never changed (correct_note adds a correction instead)."""
    if note.pk is not None:
        raise ValidationError(
            _(
                "Une entrée du suivi ne se modifie pas : ajoutez une correction, qui garde "
                "l'entrée d'origine."
            )
        )
    if note.author_id is None:
        note.author = user
    note.full_clean()
    return save_with_author(note, user=user)


@transaction.atomic
def correct_note(*, note, text, user, date=None):
    """Adds to the trail a correction of `note` by `user`: a new entry that points at it and
    says what was wrong. `note` itself stays as it was written. Raises ValidationError,
    writing nothing, for a correction without text or of an entry that is gone."""
    # Locked (FOR NO KEY UPDATE) so that a deletion of the action meanwhile waits, and read
    # again: a correction of an entry that is gone is refused, not left pointing at nothing.
    corrected = (
        ProgressNote.objects.select_for_update(no_key=True)
        .select_related("action")
        .filter(pk=note.pk)
        .first()
    )
    if corrected is None:
        raise ValidationError(_("Cette entrée du suivi n'existe plus."))
    return save_note(
        ProgressNote(
            action=corrected.action,
            corrects=corrected,
            kind=ProgressNote.Kind.NOTE,
            text=(text or "").strip(),
            author=user,
            date=date or timezone.localdate(),
        ),
        user=user,
    )


def add_note(
    *,
    action,
    text,
    user,
    date=None,
    kind=ProgressNote.Kind.NOTE,
    status_from="",
    status_to="",
    reason="",
):
    """Adds to `action`'s trail a note written by `user` on `date` (today by default), or,
    with `kind` STATUS_CHANGE, the change from `status_from` to `status_to` and its `reason`
    (change_status writes those). Raises ValidationError, writing nothing, for a plain note
    without text."""
    return save_note(
        ProgressNote(
            action=action,
            kind=kind,
            status_from=status_from,
            status_to=status_to,
            reason=reason,
            text=text,
            author=user,
            date=date or timezone.localdate(),
        ),
        user=user,
    )


def record_target_value(*, target, value, user, date=None, note=""):
    """Records that `target` reached `value` on `date` (today by default), signed by `user`.
    Raises ValidationError, writing nothing, for a value the target cannot receive."""
    return save_target_value(
        TargetValue(target=target, value=value, date=date or timezone.localdate(), note=note),
        user=user,
    )


@transaction.atomic
def save_target_value(target_value, *, user):
    """Validates and saves `target_value` (a form's, or record_target_value's) as `user`.

    Only a counted target receives values: its kind is read from its row, locked until the
    transaction ends, so that a colleague making it a deliverable meanwhile waits instead of
    leaving a value on a deliverable."""
    target_value.target = Target._base_manager.select_for_update(no_key=True).get(
        pk=target_value.target_id
    )
    target_value.full_clean()
    return save_with_author(target_value, user=user)


@transaction.atomic
def tag_actions(*, actions, theme, user):
    """Adds `theme` to each of `actions` (a queryset, narrowed by the caller to what `user`
    may change) that lacks it; each change is in the action's history, signed by `user`.
    Returns the actions changed. The rows are locked first: a colleague saving one of them
    meanwhile waits, then is told that its themes changed."""
    pks = lock(actions)
    changed = list(Action.objects.filter(pk__in=pks).exclude(themes=theme).order_by("pk"))
    for action in changed:
        set_author(action, user=user)
        action.themes.add(theme)
    return changed


@transaction.atomic
def untag_actions(*, actions, theme, user):
    """Removes `theme` from each of `actions` that has it, as tag_actions() adds it."""
    pks = lock(actions)
    changed = list(Action.objects.filter(pk__in=pks, themes=theme).order_by("pk"))
    for action in changed:
        set_author(action, user=user)
        action.themes.remove(theme)
    return changed


@transaction.atomic
def mark_delivered(*, target, done, user, seen_version=None):
    """Ticks (or unticks) `target`, a deliverable, as delivered, signed by `user`. The row is
    locked, then compared with `seen_version` (the version the person saw): a save made
    meanwhile refuses this one (StaleVersion). Raises ValidationError, writing nothing, for a
    counted target."""
    lock(Target.objects.filter(pk=target.pk))
    check_version(target, seen_version)
    target.refresh_from_db()
    target.is_done = bool(done)
    target.full_clean()
    return save_with_author(target, user=user)
