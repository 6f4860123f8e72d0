"""What every benchmark script shares: Django set up from the checkout, and a database of its
own (a temporary SQLite file, or a PostgreSQL database dropped and created anew)."""

import contextlib
import os
import shutil
import sys
import tempfile
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
if str(PROJECT_DIR) not in sys.path:
    sys.path.insert(0, str(PROJECT_DIR))

SETTINGS = "casal_tracker.settings"
POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/casal_bench"


def log(message):
    print(message, file=sys.stderr, flush=True)


def setup_django():
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS)
    django.setup()


def is_postgres(url):
    return url.split(":", 1)[0] in {"postgres", "postgresql", "pgsql", "postgis"}


def postgres_admin(url):
    """A connection to the server's maintenance database, and the benchmark database's name."""
    import dj_database_url
    import psycopg2

    config = dj_database_url.parse(url)
    connection = psycopg2.connect(
        dbname="postgres",
        user=config.get("USER") or None,
        password=config.get("PASSWORD") or None,
        host=config.get("HOST") or None,
        port=config.get("PORT") or None,
    )
    connection.autocommit = True
    return connection, config["NAME"]


def recreate_postgres_database(url):
    from psycopg2 import sql

    connection, name = postgres_admin(url)
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    connection.close()


def drop_postgres_database(url):
    from psycopg2 import sql

    connection, name = postgres_admin(url)
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
    connection.close()


@contextlib.contextmanager
def scratch_database(database_url=None, *, keep=False, prefix="casal-bench-"):
    """(database URL, working directory) for one run: a SQLite file in a new temporary
    directory unless `database_url` is given, in which case that PostgreSQL database is
    DROPPED and created anew. Sets DATABASE_URL and DJANGO_SETTINGS_MODULE, which child
    processes inherit; removes both afterwards unless `keep`."""
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    url = database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS
    os.environ["DATABASE_URL"] = url
    postgres = is_postgres(url)
    if postgres:
        recreate_postgres_database(url)
    try:
        yield url, workdir
    finally:
        if "django" in sys.modules:
            from django.db import connections

            connections.close_all()
        if keep:
            log(f"Kept {workdir}" + (f" and {url}" if postgres else ""))
        else:
            if postgres:
                drop_postgres_database(url)
            shutil.rmtree(workdir, ignore_errors=True)


def database_label():
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            return f"PostgreSQL {cursor.fetchone()[0].split()[0]}"
    if connection.vendor == "sqlite":
        import sqlite3

        return f"SQLite {sqlite3.sqlite_version}"
    return connection.vendor
