"""Whose data is it: each plan-data model's path to its coalition, and the admin's scoping.

A coordinator sees and changes the data of the coalitions she is a member of, and nothing
else; a superuser sees every coalition. The dashboard reads the same memberships
(`access/coalitions.py`). Organisations are shared: a regional organisation works with several
coalitions, so any coalition it works with, or none (a shared organisation), opens it.
Themes are the province's vocabulary: everyone reads them, only superusers change them.
"""

from functools import cached_property

from django.conf import settings
from django.contrib.auth import get_permission_codename
from django.db.models import Q
from django.http import Http404

from plans.models import Coalition, Plan

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


class Reader:
    """What one user may read and change; computed once per request."""

    def __init__(self, user):
        self.user = user

    @cached_property
    def memberships(self):
        if not self.user.is_authenticated:
            return []
        return list(self.user.memberships.select_related("organisation"))

    @cached_property
    def member_of(self):
        return frozenset(m.coalition_id for m in self.memberships)

    @cached_property
    def organisations(self):
        """The user's own organisations, for "what my organisation carries"."""
        return {m.organisation for m in self.memberships if m.organisation}

    @cached_property
    def coalition_ids(self):
        if self.user.is_active and self.user.is_superuser:
            return frozenset(Coalition.objects.values_list("pk", flat=True))
        public = Q(publishes_progress=True) if settings.PUBLIC_DASHBOARD else Q(pk__in=[])
        return frozenset(
            Coalition.objects.filter(public | Q(pk__in=self.member_of)).values_list(
                "pk", flat=True
            )
        )

    def may_change(self, obj, coalition_ids):
        """Whether the admin would let this user change `obj`, which belongs to those
        coalitions."""
        user = self.user
        if not (user.is_active and user.is_staff):
            return False
        opts = obj._meta
        if not user.has_perm(f"{opts.app_label}.{get_permission_codename('change', opts)}"):
            return False
        return user.is_superuser or bool(self.member_of & set(coalition_ids))


def reader(request):
    if not hasattr(request, "_dashboard_reader"):
        request._dashboard_reader = Reader(request.user)
    return request._dashboard_reader


def get_readable(request, queryset, *, coalition_field, shared=False, **lookup):
    """The object `lookup` finds among those the user may read, and whether she may change it.

    `coalition_field` leads from the object to its coalition. A `shared` object, such as an
    organisation that works with several coalitions, may have several such paths (any one
    opens it), and may be changed by any member who may change that kind of object.

    Something that exists but is not hers to read is a 404, like something that does not
    exist: a private plan's existence is not disclosed.
    """
    user_reader = reader(request)
    paths = coalition_field if isinstance(coalition_field, tuple) else (coalition_field,)
    readable = Q()
    for path in paths:
        readable |= Q(**{f"{path}__in": user_reader.coalition_ids})
    # A subquery, so that paths through several rows never repeat the object; the lookup
    # goes inside it, so that it reads this object's rows only, not every readable one.
    readable = queryset.model.objects.filter(readable, **lookup).values("pk")
    obj = queryset.filter(pk__in=readable).first()
    if obj is None:
        raise Http404
    if shared:
        return obj, user_reader.may_change(obj, user_reader.member_of)
    *path, last = coalition_field.split("__")
    holder = obj
    for part in path:  # the view's queryset select_related()s this path
        holder = getattr(holder, part)
    return obj, user_reader.may_change(obj, {getattr(holder, f"{last}_id")})


def get_readable_plan(request, slug):
    """(plan with its coalition, whether the user may change it), or 404."""
    return get_readable(
        request, Plan.objects.select_related("coalition"), coalition_field="coalition", slug=slug
    )
