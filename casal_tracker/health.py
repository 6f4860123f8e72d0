"""The load balancer's health check: GET /health/ answers 200 when this server can query
the database, 503 when it cannot.

It runs before every other middleware: the probe comes by plain HTTP, often with the
server's address as its host, and must not be redirected to HTTPS, refused for its host,
given a session or sent to the login page. It says nothing about the data.
"""

import logging

from django.db import DatabaseError, connection
from django.http import JsonResponse

HEALTH_PATH = "/health/"

logger = logging.getLogger(__name__)


def health(request):
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        # The details go to the log, not to whoever asks.
        logger.exception("Health check: the database does not answer")
        response = JsonResponse({"status": "error", "database": "unavailable"}, status=503)
    else:
        response = JsonResponse({"status": "ok", "database": "ok"})
    response["Cache-Control"] = "no-store"
    return response


class HealthCheckMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path == HEALTH_PATH and request.method in ("GET", "HEAD"):
            return health(request)
        return self.get_response(request)
