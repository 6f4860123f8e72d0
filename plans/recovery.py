"""Bringing back what was deleted by mistake, with what was deleted along with it.

Deleting an action also deletes its targets and their values, its partner links and its
progress notes; deleting a plan deletes everything in it. Their history keeps each row as it
was when it went. Restoring a deleted object saves it again with its own primary key, then
the rows that its deletion took with it (those deleted within a minute before it, from the
same cascade), then the many-to-many links its history keeps (an action's periods and
themes), all in one transaction and validated like any save. Rows deleted on their own,
earlier, stay deleted: each can be restored by itself.

What history does not keep cannot come back: an action's related actions (not in its
history) and, for a deleted organisation, the memberships that pointed to it (kept, emptied).
"""

import datetime
from collections import defaultdict

from django.apps import apps
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from plans.scoping import COALITION_PATHS, SHARED, coalition_ids, in_scope, scoped

# Parents before children, so that each row's foreign keys exist when it is saved again.
RESTORE_ORDER = [
    "plans.Coalition",
    "plans.Assembly",
    "partners.Organisation",
    "plans.Membership",
    "plans.Plan",
    "plans.Period",
    "plans.Objective",
    "plans.SubObjective",
    "plans.Review",
    "plans.ReviewMeeting",
    "plans.ReviewFunding",
    "plans.ReviewStaff",
    "plans.ReviewItem",
    "actions.Action",
    "actions.Target",
    "actions.TargetValue",
    "actions.ProgressNote",
    "partners.ActionPartner",
]
# A cascade deletes the children just before their parent, within the same transaction.
CASCADE_WINDOW = datetime.timedelta(minutes=1)
LISTED = 200
CHANGE_REASON = "Restauré après suppression"


def restorable_models():
    return [apps.get_model(label) for label in RESTORE_ORDER]


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
    label = model._meta.label
    ids = coalition_ids(user)
    if label in SHARED:
        if ids is None:
            return records[:LISTED]
        return [r for r in records if r.coalition_id is None or r.coalition_id in ids][:LISTED]
    path = COALITION_PATHS[label]
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
                    if not field.is_relation or field.related_model is not parent:
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
    return [found[label][pk] for label in RESTORE_ORDER for pk in sorted(found.get(label, {}))]


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


def restore(*, record, user):
    """Restores the object deleted in `record` and what its deletion took with it.

    Returns the restored object. Raises ValidationError (nothing is written) when a row no
    longer fits, e.g. another action took its code meanwhile, and PermissionDenied when the
    object is not of the user's coalitions.
    """
    records = cascade(record)
    with transaction.atomic():
        restored = []
        for deleted in records:
            instance = deleted.instance
            try:
                instance.full_clean()
            except ValidationError as error:
                raise ValidationError(
                    _("« %(object)s » ne peut pas être restauré : %(errors)s")
                    % {"object": describe(instance), "errors": " ".join(error.messages)}
                ) from None
            instance._change_reason = CHANGE_REASON
            instance.save(force_insert=True)
            _keep_automatic_dates(deleted, instance)
            restored.append((deleted, instance))
        for deleted, instance in restored:
            # The deletion record keeps no links (Django removed them first): the record
            # before it does.
            before = deleted.prev_record
            for field in getattr(deleted, "_history_m2m_fields", ()):
                if before is None:
                    continue
                through = getattr(before, field.name)
                target = field.m2m_reverse_field_name()
                values = list(through.values_list(target, flat=True))
                getattr(instance, field.name).set(values)
        root = next(instance for deleted, instance in restored if deleted is record)
        if not in_scope(user, root):
            raise PermissionDenied
    return root, len(restored) - 1
