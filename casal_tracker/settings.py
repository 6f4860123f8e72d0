"""Settings for casal_tracker, read from the environment.

DATABASE_URL   database (default: a SQLite file beside manage.py)
SECRET_KEY     required to serve requests unless DEBUG is on (see casal_tracker/serving.py)
DEBUG          "1"/"true" to turn on development mode
ALLOWED_HOSTS  comma-separated host names (default: localhost in DEBUG, none otherwise)
PUBLIC_DASHBOARD  "1" to let anyone read the dashboard of coalitions that publish their progress

Production (DEBUG off) is secure by default: HTTPS only, secure cookies, HSTS. Behind a load
balancer that terminates TLS (README, "Mise en production"):
TRUSTED_PROXY_COUNT   how many proxies add to X-Forwarded-For (the lockout counts per client)
SECURE_SSL_REDIRECT, SECURE_HSTS_SECONDS, SECURE_HSTS_INCLUDE_SUBDOMAINS, SECURE_HSTS_PRELOAD,
CSRF_TRUSTED_ORIGINS  override the defaults below
"""

import os
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.utils.translation import gettext_lazy as _

from casal_tracker.serving import DEVELOPMENT_SECRET_KEY

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name, default=()):
    value = os.environ.get(name)
    if not value:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = env_bool("DEBUG")
# Like healthchecks' TESTING flag: test runs use plain static files, not a collected manifest.
TESTING = "pytest" in sys.modules

# Without SECRET_KEY, manage.py commands still run; the WSGI and ASGI entry points refuse to
# serve production requests with this development key.
SECRET_KEY = os.environ.get("SECRET_KEY") or DEVELOPMENT_SECRET_KEY

ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG or TESTING else []
)

INSTALLED_APPS = [
    "axes",
    "csp",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "simple_history",
    "import_export",
    "plans",
    "actions",
    "partners",
    "backoffice",
    "backups",
    "devdata",
    "dashboard",
    "reports",
]

MIDDLEWARE = [
    # First: the load balancer's probe needs no host check, redirect, session or login.
    "casal_tracker.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "casal_tracker.middleware.ChosenLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Records the logged-in user as the author of every historical record.
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes requires: answers a locked-out login with its own page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "casal_tracker.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "casal_tracker.wsgi.application"

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # A saving transaction takes the write lock when it begins, not at its first write:
        # a second one waits (up to `timeout` seconds) and then reads what the first
        # committed, where it would otherwise fail at once with "database is locked".
        "transaction_mode": "IMMEDIATE",
        "timeout": int(os.environ.get("SQLITE_TIMEOUT", "10")),
        # Readers never wait for a writer.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        **DATABASES["default"].get("OPTIONS", {}),
    }
    if TESTING:
        # A file, not memory: the tests of simultaneous saves need the live server's threads
        # on connections of their own (an in-memory database is one shared connection).
        DATABASES["default"]["TEST"] = {
            "NAME": str(Path(tempfile.gettempdir()) / f"casal_tracker-test-{os.getpid()}.sqlite3")
        }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    # Refuses a login while its username and address are locked out, before checking it.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# French (Quebec) is the source language of the interface; English is a translation.
LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("Français")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["casal_tracker.formats"]
TIME_ZONE = "America/Toronto"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

FIXTURE_DIRS = [BASE_DIR / "fixtures"]

# Members log in on the dashboard's own page; the admin keeps its login for the back-office.
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard:home"
LOGOUT_REDIRECT_URL = "dashboard:home"

# Off: only members (and superusers) read a coalition's dashboard. On: anyone reads, without
# logging in, the dashboards of coalitions that chose to publish their progress.
PUBLIC_DASHBOARD = env_bool("PUBLIC_DASHBOARD")

# django-import-export: every import and export runs in one transaction, and only
# users allowed to add/change a model may import it.
IMPORT_EXPORT_USE_TRANSACTIONS = True
IMPORT_EXPORT_SKIP_ADMIN_LOG = False
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "change"
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "view"

# --- Security ------------------------------------------------------------------------------
# Production is HTTPS only; each default can be overridden from the environment.
PRODUCTION = not (DEBUG or TESTING)
# The load balancer terminates TLS and says so in X-Forwarded-Proto; it must overwrite a
# client's own header (README, "Mise en production").
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", PRODUCTION)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", PRODUCTION)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", PRODUCTION)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", 31_536_000 if PRODUCTION else 0))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", PRODUCTION)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", PRODUCTION)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# Every asset is the application's own: no CDN, no inline script. Django's admin and the
# dashboard need nothing more; a violation shows in the browser's console.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# django-axes: five wrong passwords for one username from one address lock that pair out
# for a quarter of an hour, on both login pages; attempts are kept in the shared database.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# Behind the load balancer, the client's address is the one the outermost of the
# TRUSTED_PROXY_COUNT proxies appended to X-Forwarded-For (casal_tracker/client_ip.py).
TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0"))
AXES_CLIENT_IP_CALLABLE = "casal_tracker.client_ip.client_ip"

# Logs go to the console, where the process manager collects them: nothing on local disk.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {"axes": {"level": "WARNING"}},
}

# --- Uploaded spreadsheets (imports/uploads.py) ----------------------------------------------
# Every import (a plan's table, the admin's CSV/XLSX imports) refuses, in French and English
# and before the work they bound, files past these limits: a zip bomb, a million rows or a
# 16,384-column sheet costs a refusal, not a worker. A plan of 9,000 actions fits each of
# them (benchmarks/README.md, "hostile_files.py").
# Uploads stay in memory, never on local disk; past IMPORT_MAX_BYTES they are counted, not kept.
FILE_UPLOAD_HANDLERS = ["imports.uploads.UploadHandler"]
IMPORT_MAX_BYTES = 5 * 1024 * 1024
# An .xlsx is a zip: what its parts declare once inflated, in all, and how much each part may
# inflate (Excel's sheets inflate 5 to 20 times; a zip bomb, thousands of times).
IMPORT_MAX_UNCOMPRESSED_BYTES = 48 * 1024 * 1024
IMPORT_MAX_COMPRESSION_RATIO = 100
# Rows of a sheet or CSV file (a plan's table has one per action, objective and
# sub-objective), columns of a row (a plan's table has a dozen), and cells in all, empty ones
# included (9,000 actions take about 110,000).
IMPORT_MAX_ROWS = 10_000
IMPORT_MAX_COLUMNS = 200
IMPORT_MAX_CELLS = 150_000
