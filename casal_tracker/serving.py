"""Serving production requests needs a real secret; running manage.py commands does not."""

from django.core.exceptions import ImproperlyConfigured

# Used when SECRET_KEY is not set, so that migrate or makemigrations run anywhere.
DEVELOPMENT_SECRET_KEY = "django-insecure-development-only-key-never-use-in-production"


def refuse_to_serve_without_a_secret():
    """Called by the WSGI and ASGI entry points (gunicorn, runserver) once Django is set up."""
    from django.conf import settings

    if not settings.DEBUG and settings.SECRET_KEY == DEVELOPMENT_SECRET_KEY:
        raise ImproperlyConfigured(
            "SECRET_KEY manque : définissez la variable d'environnement SECRET_KEY en production "
            "(ou DEBUG=1 en développement). / SECRET_KEY is missing: set the SECRET_KEY "
            "environment variable in production (or DEBUG=1 for development)."
        )
