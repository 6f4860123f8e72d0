"""When the database does not answer, every page says "try again shortly" in the person's
language, with a 503 and Retry-After, instead of a 500 (casal_tracker/errors.py). The outage
is real: the connection is closed and pointed at a database that cannot be opened."""

import contextlib

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from tests.helpers import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


@contextlib.contextmanager
def database_down(monkeypatch):
    """Until the block ends, connecting to the database fails as in an outage."""
    connection.close()
    if connection.vendor == "sqlite":
        monkeypatch.setitem(connection.settings_dict, "NAME", "/nonexistent/casal.sqlite3")
    else:
        monkeypatch.setitem(connection.settings_dict, "HOST", "127.0.0.1")
        monkeypatch.setitem(connection.settings_dict, "PORT", "1")  # nobody listens there
    try:
        yield
    finally:
        connection.close()
        monkeypatch.undo()


@pytest.fixture
def reader(coordinator):
    client = Client(raise_request_exception=False)
    client.force_login(coordinator)
    return client


@pytest.mark.parametrize(
    "method, url",
    [
        ("get", reverse("dashboard:home")),
        ("get", reverse("admin:actions_action_changelist")),
        ("post", reverse("admin:actions_action_changelist")),
        ("post", reverse("login")),
    ],
)
def test_pages_answer_503_in_french_when_the_database_is_down(reader, monkeypatch, method, url):
    with database_down(monkeypatch):
        response = getattr(reader, method)(url, {"username": "coordo", "password": PASSWORD})

    assert response.status_code == 503
    assert response["Retry-After"] == "60"
    page = response.content.decode()
    assert "Service momentanément indisponible" in page
    assert "Réessayez dans une minute" in page
    assert '<html lang="fr">' in page


def test_the_outage_page_speaks_english_when_english_is_chosen(reader, monkeypatch, settings):
    reader.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    with database_down(monkeypatch):
        response = reader.get(reverse("dashboard:home"))

    assert response.status_code == 503
    assert "Service temporarily unavailable" in response.content.decode()
    assert '<html lang="en">' in response.content.decode()


def test_health_check_keeps_its_own_answer(monkeypatch):
    with database_down(monkeypatch):
        response = Client().get("/health/")

    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "unavailable"}


def test_other_errors_stay_a_500_in_french(reader, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug, not an outage")

    monkeypatch.setattr("django.contrib.admin.sites.AdminSite.each_context", broken)
    response = reader.get(reverse("admin:index"))

    assert response.status_code == 500
    assert "Erreur du serveur" in response.content.decode()
    assert "Retry-After" not in response
