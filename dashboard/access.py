"""Who reads which coalition's dashboard, and who may change what it shows.

Every member-facing view asks here, so the rule lives in one place: members read their own
coalitions, superusers read all of them, and when the site is public (PUBLIC_DASHBOARD) anyone
reads the coalitions that publish their progress. Changing stays in the admin; the dashboard
only shows an "edit" link to those the admin would let in.
"""

from functools import wraps

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import Http404


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
