"""Who may see which coalition, and who may change what: the one place that says it, for the
admin (backoffice/scoping.py, the trash) and for the pages (dashboard, reports).

Each plan-data model says once, on its class, whose its rows are: `coalition_path`, the
lookup from it to its coalition ("" for a coalition itself), or `coalition_path = None` and
`access`, for rows that are not one coalition's:

- "shared": an organisation works with several coalitions; any of them opens it, and one
  that works with none is everyone's (the rule: "Shared organisations" below);
- "province": themes are the province's vocabulary; everyone reads them, only superusers
  change them.

This module reads those declarations from the app registry. In the admin, a coordinator sees
and changes the data of the coalitions she is a member of, and nothing else; a superuser,
every coalition's (`coalition_ids`, `scoped`, `in_scope`). On the pages, members read their
own coalitions, superusers all of them and, when the site is public (PUBLIC_DASHBOARD),
anyone reads the coalitions that publish their progress (`Reader`, `get_readable`); changing
stays in the admin, and a page shows an "edit" link only to those the admin would let in.
"""

from functools import cache, cached_property

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_permission_codename
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Q
from django.http import Http404

from plans.groups import PLAN_DATA_APPS
from plans.models import Coalition, Plan

COALITION = "coalition"
SHARED = "shared"
PROVINCE = "province"


# --- The declarations, read from the models --------------------------------------------------


@cache
def access_of(model):
    """How `model`'s rows are scoped: COALITION (through its `coalition_path`), SHARED or
    PROVINCE; None for a model outside the plan data (users, history, uploads)."""
    if model._meta.app_label not in PLAN_DATA_APPS or not hasattr(model, "coalition_path"):
        return None
    path, access = model.coalition_path, getattr(model, "access", COALITION)
    if not (isinstance(path, str) and access == COALITION) and not (
        path is None and access in (SHARED, PROVINCE)
    ):
        raise ImproperlyConfigured(
            f"{model._meta.label}: coalition_path is a lookup to the coalition, or None with "
            f'access = "{SHARED}" or "{PROVINCE}".'
        )
    return access


def dependency_order(models):
    """`models`, each after the models it refers to; among models ready at the same time,
    the given order."""
    position = {model: index for index, model in enumerate(models)}
    needs = {
        model: {
            field.related_model
            for field in model._meta.get_fields()
            if field.is_relation
            and not field.auto_created
            and field.related_model in position
            and field.related_model is not model
        }
        for model in models
    }
    ordered = []
    while needs:
        # A cycle would leave nothing ready: then the first one given goes first.
        ready = [model for model, missing in needs.items() if not missing] or list(needs)
        model = min(ready, key=position.__getitem__)
        ordered.append(model)
        del needs[model]
        for missing in needs.values():
            missing.discard(model)
    return ordered


@cache
def plan_data_models():
    """Every model that says whose its rows are, each after the models it refers to (so
    that a row restored after them finds the rows it points at)."""
    return tuple(
        dependency_order(
            [
                model
                for label in PLAN_DATA_APPS
                for model in apps.get_app_config(label).get_models()
                if access_of(model)
            ]
        )
    )


# --- Shared organisations --------------------------------------------------------------------

# An organisation belongs to the coalition of its own key (a coalition's coordination, its
# "all the members") and to those of the actions it takes part in; with none, to everyone.
OWN_COALITION = "coalition"
THROUGH_ACTIONS = "action_links__action__plan__coalition"
# The pages show one to the coalitions of its actions, or of the people who work for it.
READ_THROUGH = (THROUGH_ACTIONS, "memberships__coalition")


def _shared_q(model, ids):
    # A subquery: a join through the links would repeat an organisation once per link.
    linked = model.objects.filter(**{f"{THROUGH_ACTIONS}__in": ids})
    return (
        Q(**{f"{OWN_COALITION}__isnull": True})
        | Q(**{f"{OWN_COALITION}__in": ids})
        | Q(pk__in=linked.values("pk"))
    )


def _shared_coalitions(obj):
    own = getattr(obj, f"{OWN_COALITION}_id")
    if not obj.pk:
        return {own}
    links, path = THROUGH_ACTIONS.split("__", 1)
    return {own, *getattr(obj, links).values_list(path, flat=True)} - {None}


def deleted_coalitions(record):
    """The coalitions of a shared object's deletion `record`: its links went with it, so its
    own key alone says whose it was."""
    return {getattr(record, f"{OWN_COALITION}_id")} - {None}


def shared_opens(ids, coalitions):
    """Whether a shared object of those `coalitions` is open to the coalitions `ids`."""
    return not coalitions or bool(coalitions & ids)


# --- Whose an object is ----------------------------------------------------------------------


def coalition_path(model):
    """The lookup from `model` to its coalition ("" for a coalition); None when its rows are
    shared, the province's, or not plan data."""
    return model.coalition_path if access_of(model) == COALITION else None


def is_shared(model):
    return access_of(model) == SHARED


def is_province_wide(model):
    return access_of(model) == PROVINCE


def scope_q(model, ids):
    """A filter on `model` for the rows of coalitions `ids`, or None for unscoped models."""
    access = access_of(model)
    if access == COALITION:
        path = model.coalition_path
        return Q(**{f"{path}__in" if path else "pk__in": ids})
    if access == SHARED:
        return _shared_q(model, ids)
    return None


def coalitions_of(obj):
    """The ids of the coalitions `obj` belongs to (several for a shared organisation, none
    for a theme of the province)."""
    access = access_of(type(obj))
    if access == SHARED:
        return _shared_coalitions(obj)
    if access == PROVINCE:
        return set()
    if access is None:
        raise LookupError(f"{obj._meta.label} does not say whose its rows are.")
    path = obj.coalition_path
    if not path:
        return {obj.pk}
    *hops, last = path.split("__")
    holder = obj
    for hop in hops:  # select_related() this path to walk it without a query
        holder = getattr(holder, hop, None)
        if holder is None:
            return set()
    return {getattr(holder, f"{last}_id")}


# --- The admin: the coalitions one works in --------------------------------------------------


def coalition_ids(user):
    """The coalitions whose data `user` may see and change in the admin; None means all."""
    if user.is_active and user.is_superuser:
        return None
    if not user.is_authenticated:
        return frozenset()
    if not hasattr(user, "_coalition_ids"):
        # Cached on the request's user: the admin asks many times per page.
        user._coalition_ids = frozenset(user.memberships.values_list("coalition_id", flat=True))
    return user._coalition_ids


def scoped(user, queryset):
    """`queryset` narrowed to what `user` may see in the admin."""
    ids = coalition_ids(user)
    q = None if ids is None else scope_q(queryset.model, ids)
    return queryset if q is None else queryset.filter(q)


def in_scope(user, obj):
    """Whether `obj` (None: the model as a whole) belongs to coalitions `user` may see."""
    ids = coalition_ids(user)
    if ids is None or obj is None:
        return True
    access = access_of(type(obj))
    if access == PROVINCE:
        return True
    if access == SHARED:
        return shared_opens(ids, coalitions_of(obj))
    return bool(coalitions_of(obj) & ids)


# --- The pages: the coalitions one reads -----------------------------------------------------


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
        """The coalitions she reads: her own, the public ones, all for a superuser."""
        if self.user.is_active and self.user.is_superuser:
            return frozenset(Coalition.objects.values_list("pk", flat=True))
        public = Q(publishes_progress=True) if settings.PUBLIC_DASHBOARD else Q(pk__in=[])
        return frozenset(
            Coalition.objects.filter(public | Q(pk__in=self.member_of)).values_list(
                "pk", flat=True
            )
        )

    def readable(self, queryset):
        """`queryset` (rows of one coalition each: actions, links, assemblies…) narrowed to
        the coalitions this user reads."""
        return queryset.filter(scope_q(queryset.model, self.coalition_ids))

    def may_change(self, obj, coalition_ids):
        """Whether the admin would let this user change `obj`, which belongs to those
        coalitions (none: only a superuser may)."""
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


def get_readable(request, queryset, **lookup):
    """(the object `lookup` finds in `queryset` among those the user reads, whether she may
    change it), or 404.

    A shared organisation may be changed by any member who may change organisations; a theme
    of the province, by superusers. Something that exists but is not hers to read is a 404,
    like something that does not exist: a private plan's existence is not disclosed.
    """
    user_reader = reader(request)
    model = queryset.model
    access = access_of(model)
    if access == SHARED:
        paths = READ_THROUGH
    elif access == PROVINCE:
        paths = ()
    elif access == COALITION:
        paths = (model.coalition_path or "pk",)
    else:
        raise LookupError(f"{model._meta.label} does not say whose its rows are.")
    readable = Q()
    for path in paths:
        readable |= Q(**{f"{path}__in": user_reader.coalition_ids})
    # A subquery, so that paths through several rows never repeat the object; the lookup
    # goes inside it, so that it reads this object's rows only, not every readable one.
    readable = model.objects.filter(readable, **lookup).values("pk")
    obj = queryset.filter(pk__in=readable).first()
    if obj is None:
        raise Http404
    if access == SHARED:
        return obj, user_reader.may_change(obj, user_reader.member_of)
    return obj, user_reader.may_change(obj, coalitions_of(obj))


def get_readable_plan(request, slug):
    """(plan with its coalition, whether the user may change it), or 404."""
    return get_readable(request, Plan.objects.select_related("coalition"), slug=slug)
