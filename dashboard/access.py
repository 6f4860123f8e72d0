"""Who reads which coalition's dashboard, and who may change what it shows.

Every member-facing view asks here, so the rule lives in one place: members read their own
coalitions, superusers read all of them, and when the site is public (PUBLIC_DASHBOARD) anyone
reads the coalitions that publish their progress. Changing stays in the admin; the dashboard
only shows an "edit" link to those the admin would let in.
"""

from functools import cached_property, wraps

from django.conf import settings
from django.contrib.auth import get_permission_codename
from django.contrib.auth.views import redirect_to_login
from django.db.models import Q
from django.http import Http404

from plans.models import Coalition, Plan


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


def dashboard_view(view):
    """Members log in; the public reads without logging in only when the site is public."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated and not settings.PUBLIC_DASHBOARD:
            return redirect_to_login(request.get_full_path())
        try:
            return view(request, *args, **kwargs)
        except Http404:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            raise

    return wrapper
