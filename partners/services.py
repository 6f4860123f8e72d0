"""Writing an organisation's part in an action, the update of an action with its partners in
one save, and merging duplicate organisations: the admin, the imports and the demo data come
through here, validated and signed by their author."""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from actions.models import Action, Target
from actions.services import add_note, change_status, mark_delivered, record_target_value
from partners.models import ActionPartner, Organisation
from plans.models import Membership
from plans.services import save_with_author, set_author
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


# The stronger of two links of the same organisation to the same action: a carrier over a
# partner, a confirmation over a doubt. A merge keeps the stronger one's values.
ROLE_STRENGTH = [
    ActionPartner.Role.NOT_SPECIFIED,
    ActionPartner.Role.PARTNER,
    ActionPartner.Role.CARRIER,
]
CONFIRMATION_STRENGTH = [
    ActionPartner.Confirmation.NOT_SPECIFIED,
    ActionPartner.Confirmation.DECLINED,
    ActionPartner.Confirmation.POTENTIAL,
    ActionPartner.Confirmation.MEMBER_TO_VALIDATE,
    ActionPartner.Confirmation.CONFIRMED_COLLABORATOR,
    ActionPartner.Confirmation.CONFIRMED_MEMBER,
]


def coalitions_touched(organisations):
    """The ids of the coalitions whose data a merge of `organisations` changes: their own
    coalition, those of the actions they are linked to, those of the people who work for
    them (memberships). One query per kind, whatever the number of organisations."""
    pks = [organisation.pk for organisation in organisations]
    own = Organisation.objects.filter(pk__in=pks).values_list("coalition_id", flat=True)
    linked = ActionPartner.objects.filter(organisation__in=pks).values_list(
        "action__plan__coalition_id", flat=True
    )
    seats = Membership.objects.filter(organisation__in=pks).values_list("coalition_id", flat=True)
    return {*own, *linked, *seats} - {None}


def merged_link_values(kept, other):
    """What the link kept for an action keeps of the other link to it: the stronger role
    and confirmation, the latest contact, both texts as written in the plan and both notes."""
    values = {}
    if ROLE_STRENGTH.index(other.role) > ROLE_STRENGTH.index(kept.role):
        values["role"] = other.role
    if CONFIRMATION_STRENGTH.index(other.confirmation) > CONFIRMATION_STRENGTH.index(
        kept.confirmation
    ):
        values["confirmation"] = other.confirmation
    if other.last_contact and (not kept.last_contact or other.last_contact > kept.last_contact):
        values["last_contact"] = other.last_contact
    for name in ("label_in_source", "note"):
        joined = join_texts(getattr(kept, name), getattr(other, name))
        limit = ActionPartner._meta.get_field(name).max_length
        if joined != getattr(kept, name) and len(joined) <= limit:
            values[name] = joined
    values["order"] = min(kept.order, other.order)
    return values


def join_texts(*texts):
    """The distinct non-empty texts, in order, joined by " / "."""
    seen = []
    for text in texts:
        if text.strip() and text.strip() not in seen:
            seen.append(text.strip())
    return " / ".join(seen)


@dataclass
class MergeSummary:
    kept: Organisation
    deleted: list
    moved_links: int = 0
    merged_links: int = 0
    moved_rows: int = 0
    renamed_from: str = ""


@transaction.atomic
def merge_organisations(*, keep, others, user, name=None, coalitions=None):
    """Merges `others` into `keep` as `user`, all or nothing, and returns a MergeSummary.

    Every link of the others to an action moves to `keep` with its text as written in the
    plan, its role, confirmation and notes; its history goes on (the change of organisation
    is one more record, signed). When `keep` (or another of them) is linked to the same
    action already, one link stays: the stronger values of both (merged_link_values) and
    both texts; the other link is deleted, signed. Memberships and any other row pointing at
    an organisation move too. Then the others are deleted, signed (the trash can restore
    them, without the links they gave to `keep`), their notes added to `keep`'s, and `keep`
    takes `name` when given.

    `coalitions`: the ids of the coalitions `user` may change (None: all). An organisation
    whose links, memberships or own coalition reach another coalition is refused: merging it
    would change that coalition's data. Raises ValidationError, writing nothing."""
    others = [other for other in others if other.pk != keep.pk]
    if not others:
        raise ValidationError(_("Choisissez au moins deux organisations à fusionner."))
    pks = [keep.pk, *(other.pk for other in others)]
    locked = lock(Organisation.objects.filter(pk__in=pks))
    if len(locked) != len(pks):
        raise ValidationError(
            _("Une des organisations choisies vient d'être supprimée : rechargez la liste.")
        )
    if coalitions is not None:
        refused = [o for o in [keep, *others] if not coalitions_touched([o]) <= set(coalitions)]
        if refused:
            raise ValidationError(
                _(
                    "%(names)s : cette organisation travaille aussi avec une autre coalition. "
                    "Seule une personne membre de toutes ses coalitions peut la fusionner ; "
                    "rien n'a été changé."
                )
                % {"names": ", ".join(f"« {o.name} »" for o in refused)}
            )
    keep.refresh_from_db()
    others = list(Organisation.objects.filter(pk__in=pks[1:]).order_by("pk"))
    reason = _("Fusion dans « %(name)s »") % {"name": keep.name}
    summary = MergeSummary(kept=keep, deleted=[str(o) for o in others])

    # The links, locked with the actions' rows they belong to, kept link first per action.
    lock(ActionPartner.objects.filter(organisation__in=pks))
    kept_links = {link.action_id: link for link in ActionPartner.objects.filter(organisation=keep)}
    for link in ActionPartner.objects.filter(organisation__in=pks[1:]).order_by("pk"):
        kept = kept_links.get(link.action_id)
        if kept is None:
            link.organisation = keep
            link.full_clean()
            save_with_author(link, user=user, reason=reason)
            kept_links[link.action_id] = link
            summary.moved_links += 1
            continue
        for field, value in merged_link_values(kept, link).items():
            setattr(kept, field, value)
        set_author(link, user=user, reason=reason).delete()
        kept.full_clean()
        save_with_author(kept, user=user, reason=reason)
        summary.merged_links += 1

    # Memberships and whatever else points at an organisation.
    for relation in Organisation._meta.related_objects:
        if relation.related_model is ActionPartner or not relation.one_to_many:
            continue
        field = relation.field
        rows = relation.related_model._base_manager.filter(**{f"{field.name}__in": pks[1:]})
        lock(rows)
        for row in rows.order_by("pk"):
            setattr(row, field.name, keep)
            save_with_author(row, user=user, reason=reason)
            summary.moved_rows += 1

    notes = join_texts(keep.notes, *(o.notes for o in others))
    for other in others:
        keep.short_name = keep.short_name or other.short_name
        if keep.kind == Organisation.Kind.NOT_SPECIFIED:
            keep.kind = other.kind
        set_author(other, user=user, reason=reason).delete()
    keep.notes = notes
    if name and name.strip() and name.strip() != keep.name:
        summary.renamed_from, keep.name = keep.name, name.strip()
    keep.full_clean()
    save_with_author(
        keep,
        user=user,
        reason=_("Fusion de %(names)s")
        % {"names": ", ".join(f"« {n} »" for n in summary.deleted)},
    )
    return summary


@transaction.atomic
def update_action(
    *,
    action,
    user,
    status,
    reason="",
    note="",
    periods=(),
    without_date=False,
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
    the `reason` a postponement or an abandonment asks, and for a postponement its new
    `periods` or `without_date`: actions.services.change_status), a progress `note`, its
    `completion` (%), new `values` of its counted targets ({target id: (value, date or None)}), its
    `deliverables` ticked or not ({target id: bool}) and the `confirmations` of its partner
    links ({link id: confirmation}).

    The action, then its targets and links, are locked, then compared with the versions the
    person saw (`seen_version`, `seen_target_versions` and `seen_link_versions`, {pk:
    version}): a save made meanwhile by someone else refuses the whole update (StaleVersion),
    and so does a row deleted meanwhile. Any invalid part (a reason missing, a value the
    target cannot take, a target or link of another action) raises a ValidationError whose
    messages are keyed by what was refused ("status", "reason", "periods", "completion",
    "note", "value-<id>", "done-<id>", "confirmation-<id>"), and nothing is written. Returns
    what was written: the trail entry, the values, the targets and the links.
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
                    name = field if field in ("reason", "completion", "periods") else key
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
                action=action,
                status=status,
                user=user,
                reason=reason,
                note=note,
                date=date,
                periods=periods,
                without_date=without_date,
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
