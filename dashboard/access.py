"""The door of every member-facing page: who gets past it without logging in.

Which coalitions each person then reads, and whether she may change what a page shows, is
access/coalitions.py's to say (`reader`, `get_readable`), for the pages and the admin alike.
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
