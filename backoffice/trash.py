"""Bringing back what was deleted by mistake, with what was deleted along with it.

Deleting an action also deletes its targets and their values, its partner links and its
progress notes; deleting a plan deletes everything in it. Their history keeps each row as it
was when it went. Restoring a deleted object saves it again with its own primary key, then
the rows that its deletion took with it (those deleted within a minute before it, from the
same cascade), then the many-to-many links its history keeps (an action's periods, themes
and related actions, to those that exist), then points back at it the rows that its
deletion emptied (a membership's organisation, a review's assembly, an organisation's
coalition), all in one transaction, validated like any save, signed by the person who
restores and "Restauré après suppression". Rows deleted on their own, earlier, stay
deleted: each can be restored by itself.

Related actions: each action's history lists them, whichever side made or removed the link
(actions/history.py). Restoring an action links it again to the actions its last record
listed that exist; a link to an action still deleted comes back when that one is restored,
from either side's history. A link removed before the deletion does not come back, nor does
a row emptied by the deletion that someone has changed since (its history then says so).

Two restores of the same object at once: the first restores it, the second is refused with
a message ("déjà restauré") and writes nothing.
"""

import datetime
from collections import defaultdict
from functools import cache

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from access.coalitions import (
    coalition_ids,
    coalition_path,
    deleted_coalitions,
    in_scope,
    is_province_wide,
    is_shared,
    plan_data_models,
    scoped,
    shared_opens,
)
from plans import formats as written
from plans.services import set_author
from plans.versions import lock

# A cascade deletes the children just before their parent, within the same transaction.
CASCADE_WINDOW = datetime.timedelta(minutes=1)
LISTED = 200
CHANGE_REASON = "Restauré après suppression"


@cache
def restorable_models():
    """The models whose deleted rows come back, parents before children so that each row's
    foreign keys exist when it is saved again: the coalitions' data (themes are the
    province's, changed by superusers only)."""
    return tuple(model for model in plan_data_models() if not is_province_wide(model))


def _latest_deletions(model, **filters):
    """The deletion records of `model`'s objects that are still deleted, newest first."""
    history = model.history.model
    records = (
        history.objects.filter(history_type="-", **filters)
        .exclude(id__in=model.objects.values("pk"))
        .select_related("history_user")
        .order_by("-history_date", "-history_id")
    )
    latest = {}
    for record in records:
        latest.setdefault(record.id, record)  # an object deleted, restored, deleted again
    return list(latest.values())


def deleted_objects(model, user):
    """The deleted objects of `model` that `user` may see, as their deletion records, newest
    first: those whose parent still exists (a child of a deleted parent comes back with it)."""
    records = _latest_deletions(model)
    ids = coalition_ids(user)
    if is_shared(model):
        if ids is None:
            return records[:LISTED]
        return [r for r in records if shared_opens(ids, deleted_coalitions(r))][:LISTED]
    path = coalition_path(model)
    if not path:  # a coalition
        return records[:LISTED] if ids is None else []
    parent_field = model._meta.get_field(path.split("__")[0])
    parent_ids = {getattr(r, parent_field.attname) for r in records}
    alive = scoped(user, parent_field.related_model.objects.filter(pk__in=parent_ids))
    alive = set(alive.values_list("pk", flat=True))
    return [r for r in records if getattr(r, parent_field.attname) in alive][:LISTED]


def describe(instance):
    """The object's usual name, or its kind and number when that name needs a row that is
    still deleted (a sub-objective's code needs its objective)."""
    try:
        return str(instance)
    except ObjectDoesNotExist:
        return f"{instance._meta.verbose_name} n° {instance.pk}"


def cascade(record):
    """The deletion records to restore with `record`, parents first."""
    found = defaultdict(dict)
    model = record.instance_type
    found[model._meta.label][record.id] = record
    start = record.history_date - CASCADE_WINDOW
    end = record.history_date + datetime.timedelta(seconds=1)
    level = {model: {record.id}}
    while level:
        next_level = defaultdict(set)
        for parent, pks in level.items():
            for child in restorable_models():
                for field in child._meta.concrete_fields:
                    # Only a CASCADE deletes the rows pointing at the parent: a row found
                    # through another key was deleted on its own, just before.
                    if (
                        not field.is_relation
                        or field.related_model is not parent
                        or field.remote_field.on_delete is not models.CASCADE
                    ):
                        continue
                    for child_record in _latest_deletions(
                        child,
                        **{f"{field.attname}__in": pks},
                        history_date__range=(start, end),
                    ):
                        label = child._meta.label
                        if child_record.id not in found[label]:
                            found[label][child_record.id] = child_record
                            next_level[child].add(child_record.id)
        level = next_level
    return [
        found[model._meta.label][pk]
        for model in restorable_models()
        for pk in sorted(found.get(model._meta.label, {}))
    ]


def _keep_automatic_dates(deleted, instance):
    """Gives back the dates Django set by itself (created, modified), which saving resets:
    on the row and on the record of its restoration."""
    model = type(instance)
    dates = {
        field.attname: getattr(deleted, field.attname)
        for field in model._meta.concrete_fields
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
    }
    if dates:
        model.objects.filter(pk=instance.pk).update(**dates)
        instance.history.filter(history_id=instance.history.latest().history_id).update(**dates)
        for name, value in dates.items():
            setattr(instance, name, value)


def _record_before(record):
    """The object's history record just before `record` (its state before a deletion)."""
    return (
        record.instance_type.history.filter(id=record.id)
        .filter(
            Q(history_date__lt=record.history_date)
            | Q(history_date=record.history_date, history_id__lt=record.history_id)
        )
        .order_by("-history_date", "-history_id")
        .first()
    )


def _links_left_pending(field, record):
    """The objects that `record`'s deletion kept from their own restore: deleted while this
    one existed, their deletion took their link to it; restored while this one was deleted,
    they could not link to it then. (Between a deletion and a restore, nobody can change
    the link: it comes back as it was.)"""
    model = record.instance_type
    copies = getattr(model.history.model, field.name).model
    target = f"{field.m2m_reverse_field_name()}_id"
    listed = copies.objects.filter(**{target: record.id}).values("history__id")
    pending = set()
    for other in model._base_manager.filter(pk__in=listed).exclude(pk=record.id):
        history = other.history.order_by("history_date", "history_id")
        gone = history.filter(history_type="-", history_date__lt=record.history_date).last()
        if gone is None:
            continue
        back = history.filter(history_date__gt=gone.history_date).first()
        before = _record_before(gone)
        if back is None or back.history_date <= record.history_date or before is None:
            continue
        if getattr(before, field.name).filter(**{target: record.id}).exists():
            pending.add(other.pk)
    return pending


def _restore_links(record, instance):
    """The many-to-many links of `record`'s object, as its history last knew them (the
    deletion record keeps none: Django removed them first), to the objects that exist."""
    before = _record_before(record)
    for field in getattr(record, "_history_m2m_fields", ()):
        target = field.m2m_reverse_field_name()
        linked = set()
        if before is not None:
            linked |= set(getattr(before, field.name).values_list(target, flat=True))
        if field.related_model is type(instance):  # links between actions, on both ends
            linked |= _links_left_pending(field, record)
        existing = field.related_model._base_manager.filter(pk__in=linked)
        getattr(instance, field.name).set(existing.order_by("pk").values_list("pk", flat=True))


@cache
def _emptying_keys(model):
    """The keys of restorable rows that the deletion of a `model` object empties."""
    return [
        field
        for child in restorable_models()
        for field in child._meta.concrete_fields
        if field.is_relation
        and field.related_model is model
        and field.remote_field.on_delete is models.SET_NULL
    ]


def _point_back(instance, user):
    """Points back at the restored `instance` the rows its deletion emptied (in bulk, so
    without a history record of their own): those still empty whose history last knew
    them pointing at it. Each gets a history record signed by `user`."""
    for field in _emptying_keys(type(instance)):
        child = field.model
        knew = child.history.filter(**{field.attname: instance.pk}).values("id")
        empty = child._base_manager.filter(pk__in=knew, **{f"{field.attname}__isnull": True})
        for row in child._base_manager.filter(pk__in=lock(empty), **{field.attname: None}):
            latest = row.history.order_by("-history_date", "-history_id").first()
            if getattr(latest, field.attname) != instance.pk:
                continue  # changed since, on purpose: its history says to what
            setattr(row, field.attname, instance.pk)
            set_author(row, user=user, reason=CHANGE_REASON)
            row.save(update_fields=[field.attname])


def _exists(record):
    """Whether `record`'s object is back (restored by someone, maybe at the same instant)."""
    return record.instance_type._base_manager.filter(pk=record.id).exists()


def _already_restored(record):
    """The refusal of a second restore of `record`'s object, saying who restored it."""
    model = record.instance_type
    back = (
        model.history.filter(id=record.id, history_type="+", history_date__gte=record.history_date)
        .select_related("history_user")
        .order_by("history_date", "history_id")
        .first()
    )
    values = {"object": describe(record.instance)}
    if back is None:
        return ValidationError(
            _("« %(object)s » a déjà été restauré. Rien n'a été écrit.") % values,
            code="already_restored",
        )
    values["who"] = back.history_user or _("quelqu'un")
    values["when"] = written.moment(back.history_date)
    return ValidationError(
        _("« %(object)s » a déjà été restauré par %(who)s le %(when)s. Rien n'a été écrit.")
        % values,
        code="already_restored",
    )


def restore(*, record, user):
    """Restores the object deleted in `record`, what its deletion took with it and the links
    and rows it emptied.

    Returns (the restored object, the number of rows restored with it). Raises
    ValidationError (nothing is written) when a row no longer fits, e.g. another action took
    its code meanwhile, or when the object was restored already (by someone else at the
    same instant, too), and PermissionDenied when the object is not of the user's coalitions.
    """
    records = cascade(record)
    try:
        with transaction.atomic():
            if _exists(record):
                raise _already_restored(record)
            restored = []
            for deleted in records:
                instance = deleted.instance
                try:
                    instance.full_clean()
                except ValidationError as error:
                    if _exists(record):  # restored at the same instant: its code is taken
                        raise _already_restored(record) from None
                    raise ValidationError(
                        _("« %(object)s » ne peut pas être restauré : %(errors)s")
                        % {"object": describe(instance), "errors": " ".join(error.messages)}
                    ) from None
                set_author(instance, user=user, reason=CHANGE_REASON)
                instance.save(force_insert=True)
                _keep_automatic_dates(deleted, instance)
                restored.append((deleted, instance))
            for deleted, instance in restored:
                _restore_links(deleted, instance)
            for _deleted, instance in restored:
                _point_back(instance, user)
            root = next(instance for deleted, instance in restored if deleted is record)
            if not in_scope(user, root):
                raise PermissionDenied
    except IntegrityError:
        # Checked above, but a restore of the same object at the same instant commits its
        # row after that check: this insert then fails on its primary key.
        if _exists(record):
            raise _already_restored(record) from None
        raise ValidationError(
            _(
                "« %(object)s » ne peut pas être restauré : une autre modification est "
                "arrivée en même temps. Rechargez la page et réessayez."
            )
            % {"object": describe(record.instance)},
            code="conflict",
        ) from None
    return root, len(restored) - 1
