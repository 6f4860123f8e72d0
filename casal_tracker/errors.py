"""Error pages that need nothing from the database.

When the database does not answer (a restart, a failover, SQLite busy past its timeout),
every page would end in a 500 "Server Error". It answers instead a 503 in the person's
language that says to try again shortly, with Retry-After, so that nobody thinks her work
is gone and a load balancer or a browser knows to come back. /health/ keeps its own answer
(casal_tracker/health.py).
"""

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from django.template import loader
from django.views import defaults

from plans.versions import is_conflict

RETRY_AFTER_SECONDS = 60  # the page says "dans une minute"
# What a database that cannot be reached, or is locked past its timeout, raises.
OUTAGES = (OperationalError, InterfaceError)


def server_error(request):
    """handler500: a 503 for a database outage, Django's 500 page for anything else."""
    error = sys.exc_info()[1]
    # Two saves that met twice in a row (backoffice/admin.py retries once) are not an outage.
    if not isinstance(error, OUTAGES) or is_conflict(error):
        return defaults.server_error(request)
    # No request context: its processors would read the session and the user from the
    # database that is down.
    response = HttpResponse(loader.render_to_string("503.html"), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response
