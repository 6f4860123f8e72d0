"""Whose data is it: each plan-data model's path to its coalition, and the admin's scoping.

A coordinator sees and changes the data of the coalitions she is a member of, and nothing
else; a superuser sees every coalition. The dashboard reads the same memberships
(`dashboard/access.py`). Organisations are shared: a regional organisation works with several
coalitions, so any coalition it works with, or none (a shared organisation), opens it.
Themes are the province's vocabulary: everyone reads them, only superusers change them.
"""

from django.db.models import Q

# Model label → the lookup from the model to its coalition ("" for the coalition itself).
COALITION_PATHS = {
    "plans.Coalition": "",
    "plans.Membership": "coalition",
    "plans.Plan": "coalition",
    "plans.Period": "plan__coalition",
    "plans.Objective": "plan__coalition",
    "plans.SubObjective": "objective__plan__coalition",
    "plans.Assembly": "coalition",
    "plans.Review": "plan__coalition",
    "plans.ReviewMeeting": "review__plan__coalition",
    "plans.ReviewFunding": "review__plan__coalition",
    "plans.ReviewStaff": "review__plan__coalition",
    "plans.ReviewItem": "review__plan__coalition",
    "actions.Action": "plan__coalition",
    "actions.Target": "action__plan__coalition",
    "actions.TargetValue": "target__action__plan__coalition",
    "actions.ProgressNote": "action__plan__coalition",
    "partners.ActionPartner": "action__plan__coalition",
}
SHARED = {"partners.Organisation"}
PROVINCE_WIDE = {"plans.Theme"}


def coalition_ids(user):
    """The coalitions whose data `user` may see in the admin; None means all of them."""
    if user.is_active and user.is_superuser:
        return None
    if not user.is_authenticated:
        return frozenset()
    if not hasattr(user, "_coalition_ids"):
        # Cached on the request's user: the admin asks many times per page.
        user._coalition_ids = frozenset(user.memberships.values_list("coalition_id", flat=True))
    return user._coalition_ids


def scope_q(model, ids):
    """A filter on `model` for the rows of coalitions `ids`, or None for unscoped models."""
    label = model._meta.label
    if label in COALITION_PATHS:
        path = COALITION_PATHS[label]
        return Q(**{f"{path}__in" if path else "pk__in": ids})
    if label in SHARED:
        # A subquery: a join through the links would repeat an organisation once per link.
        linked = model.objects.filter(action_links__action__plan__coalition__in=ids)
        return Q(coalition__isnull=True) | Q(coalition__in=ids) | Q(pk__in=linked.values("pk"))
    return None


def scoped(user, queryset):
    """`queryset` narrowed to what `user` may see in the admin."""
    ids = coalition_ids(user)
    q = None if ids is None else scope_q(queryset.model, ids)
    return queryset if q is None else queryset.filter(q)


def coalitions_of(obj):
    """The ids of the coalitions `obj` belongs to (several for a shared organisation)."""
    label = obj._meta.label
    if label in SHARED:
        linked = obj.action_links.values_list("action__plan__coalition", flat=True)
        return {obj.coalition_id, *linked} - {None} if obj.pk else {obj.coalition_id}
    path = COALITION_PATHS[label]
    if not path:
        return {obj.pk}
    *hops, last = path.split("__")
    holder = obj
    for hop in hops:
        holder = getattr(holder, hop, None)
        if holder is None:
            return set()
    return {getattr(holder, f"{last}_id")}


def in_scope(user, obj):
    """Whether `obj` (None: the model as a whole) belongs to coalitions `user` may see."""
    ids = coalition_ids(user)
    if ids is None or obj is None:
        return True
    label = obj._meta.label
    if label in PROVINCE_WIDE:
        return True
    if label in SHARED:
        coalitions = coalitions_of(obj)
        return not coalitions or bool(coalitions & ids)
    return bool(coalitions_of(obj) & ids)


class CoalitionScopedAdmin:
    """Mixed into every plan-data ModelAdmin and inline: lists, forms, choices, history and
    revert only reach the coalitions of the person logged in.

    For an inline, `obj` in the permission methods is the parent object, so the parent's
    coalition decides."""

    def get_queryset(self, request):
        return scoped(request.user, super().get_queryset(request))

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) and in_scope(request.user, obj)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self.may_change(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self.may_change(request, obj)

    def has_add_permission(self, request, *args):
        # Inlines receive the parent object; model admins receive nothing more.
        parent = args[0] if args else None
        return super().has_add_permission(request, *args) and self.may_change(request, parent)

    def may_change(self, request, obj):
        if self.model._meta.label in PROVINCE_WIDE:
            return request.user.is_superuser
        return in_scope(request.user, obj)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if field is not None and hasattr(field, "queryset"):
            field.queryset = scoped(request.user, field.queryset)
        return field

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if field is not None and hasattr(field, "queryset"):
            field.queryset = scoped(request.user, field.queryset)
        return field
