"""Production settings, secure headers, the health check and the login lockout."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from django.db import OperationalError
from django.test import Client, RequestFactory
from django.urls import reverse

from actions.models import Action
from casal_tracker.client_ip import client_ip
from tests.helpers import PASSWORD, PLAN_SLUG, STARTED, log_in, logs_in

ROOT = Path(__file__).resolve().parent.parent

# The production environment that README.md documents, with a throwaway secret.
PRODUCTION_ENV = {
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "plans.example.org",
    "DATABASE_URL": "postgres://casal@db.example.org:5432/casal_tracker",
}


def bare_environment():
    """The machine's environment without what the test run itself sets (DEBUG, or the
    browser tests' DJANGO_ALLOW_ASYNC_UNSAFE), as a production server would start."""
    return {key: os.environ[key] for key in ("PATH", "HOME", "LANG") if key in os.environ}


def manage(*args, env):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**bare_environment(), **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_check_deploy_reports_nothing_with_the_documented_production_environment():
    result = manage("check", "--deploy", "--fail-level", "DEBUG", env=PRODUCTION_ENV)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_warns_when_production_drops_https():
    env = {**PRODUCTION_ENV, "SECURE_SSL_REDIRECT": "0", "SECURE_HSTS_SECONDS": "0"}

    result = manage("check", "--deploy", env=env)

    assert "security.W008" in result.stderr + result.stdout
    assert "security.W004" in result.stderr + result.stdout


def test_readme_documents_every_variable_of_the_production_environment():
    readme = (ROOT / "README.md").read_text()

    for name in [*PRODUCTION_ENV, "TRUSTED_PROXY_COUNT", "CSRF_TRUSTED_ORIGINS"]:
        assert f"{name}=" in readme, name


def test_serving_without_a_secret_fails_loudly():
    env = {key: value for key, value in PRODUCTION_ENV.items() if key != "SECRET_KEY"}
    code = "import casal_tracker.wsgi"

    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**bare_environment(), **env},
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode != 0
    assert "SECRET_KEY manque" in result.stderr


# --- Headers ---------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/comptes/login/", "/admin/login/"])
def test_pages_carry_a_strict_content_security_policy_and_secure_headers(client, db, url):
    response = client.get(url)

    assert response.status_code == 200
    policy = dict(
        directive.strip().split(" ", 1)
        for directive in response["Content-Security-Policy"].split(";")
        if directive.strip()
    )
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_production_answers_https_only_with_hsts(client, db, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31_536_000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True

    plain = client.get("/comptes/login/")
    secure = client.get("/comptes/login/", headers={"X-Forwarded-Proto": "https"})

    assert plain.status_code == 301
    assert plain["Location"] == "https://testserver/comptes/login/"
    assert secure.status_code == 200
    assert secure["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


# --- Health check ----------------------------------------------------------------------------


def test_health_check_says_the_database_answers(client, db):
    response = client.get("/health/")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
    assert response["Cache-Control"] == "no-store"
    assert "sessionid" not in response.cookies


def test_health_check_answers_the_balancers_plain_http_probe_by_address(client, db, settings):
    # The probe asks by plain HTTP with the server's address as its host.
    settings.SECURE_SSL_REDIRECT = True
    settings.ALLOWED_HOSTS = ["plans.example.org"]

    response = client.get("/health/", headers={"Host": "10.0.0.12:8000"})

    assert response.status_code == 200
    assert client.get("/comptes/login/", headers={"Host": "10.0.0.12:8000"}).status_code == 400


def test_health_check_fails_when_the_database_does_not_answer(client, db, monkeypatch):
    class Unreachable:
        def cursor(self):
            raise OperationalError("connection refused: secret-host:5432")

    monkeypatch.setattr("casal_tracker.health.connection", Unreachable())

    response = client.get("/health/")

    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "unavailable"}
    assert b"secret-host" not in response.content


# --- Login protection ------------------------------------------------------------------------


@pytest.mark.parametrize("login_url", ["/comptes/login/", "/admin/login/"])
def test_five_wrong_passwords_lock_the_account_on_this_device(db, coordinator, login_url):
    client = Client(REMOTE_ADDR="203.0.113.7")
    for _attempt in range(5):
        client.post(login_url, {"username": "coordo", "password": "devine"})

    response = client.post(login_url, {"username": "coordo", "password": PASSWORD})

    assert response.status_code == 429
    content = response.content.decode()
    assert "Connexion bloquée" in content
    assert "Réessayez dans 15 minutes" in content
    assert "_auth_user_id" not in client.session


def test_a_lockout_keeps_other_people_and_other_devices_out_of_it(db, coordinator, member):
    attacker = Client(REMOTE_ADDR="203.0.113.7")
    for _attempt in range(6):
        attacker.post("/comptes/login/", {"username": "coordo", "password": "devine"})

    assert logs_in(Client(REMOTE_ADDR="203.0.113.7"), "membre", PASSWORD)
    assert logs_in(Client(REMOTE_ADDR="198.51.100.20"), "coordo", PASSWORD)


def test_the_lockout_message_is_translated(db, coordinator):
    client = Client(REMOTE_ADDR="203.0.113.7")
    client.cookies["django_language"] = "en"
    for _attempt in range(6):
        response = client.post("/comptes/login/", {"username": "coordo", "password": "devine"})

    assert response.status_code == 429
    assert "Try again in 15 minutes" in response.content.decode()


def test_a_successful_login_forgets_earlier_mistakes(db, coordinator):
    client = Client(REMOTE_ADDR="203.0.113.7")
    for _attempt in range(4):
        client.post("/comptes/login/", {"username": "coordo", "password": "devine"})
    assert logs_in(client, "coordo", PASSWORD)
    client.post(reverse("logout"))

    for _attempt in range(4):
        client.post("/comptes/login/", {"username": "coordo", "password": "devine"})

    assert logs_in(client, "coordo", PASSWORD)


# --- The lockout behind load balancers (casal_tracker/client_ip.py) --------------------------

LOGIN_PAGES = ["/comptes/login/", "/admin/login/"]
CLIENT, NEIGHBOUR = "203.0.113.7", "198.51.100.20"
# What reaches the application through 0, 1 or 2 proxies that each append the address they
# received from; the client sends its own X-Forwarded-For, a different lie each time.
PROXIES = {
    0: lambda client, lie: {"REMOTE_ADDR": client, "HTTP_X_FORWARDED_FOR": lie},
    1: lambda client, lie: {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": f"{lie}, {client}"},
    2: lambda client, lie: {
        "REMOTE_ADDR": "10.0.0.2",
        "HTTP_X_FORWARDED_FOR": f"{lie}, {client}, 10.0.0.1",
    },
}


def guess(login_url, proxies, client, attempt, password="devine"):
    """One login attempt from `client` through `proxies`, with a forged header of its own."""
    lie = f"192.0.2.{attempt}, 10.9.9.{attempt}"
    return Client(**PROXIES[proxies](client, lie)).post(
        login_url, {"username": "coordo", "password": password}
    )


@pytest.mark.parametrize("proxies", [0, 1, 2])
@pytest.mark.parametrize("login_url", LOGIN_PAGES)
def test_a_forged_forwarded_for_does_not_escape_the_lockout(
    db, coordinator, settings, login_url, proxies
):
    settings.TRUSTED_PROXY_COUNT = proxies
    for attempt in range(5):
        guess(login_url, proxies, CLIENT, attempt)

    locked = guess(login_url, proxies, CLIENT, 99, password=PASSWORD)
    neighbour = guess(login_url, proxies, NEIGHBOUR, 100, password=PASSWORD)

    assert locked.status_code == 429
    assert neighbour.status_code == 302  # another person behind the same balancer logs in
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {CLIENT}


@pytest.mark.parametrize("login_url", LOGIN_PAGES)
def test_without_the_header_the_client_is_the_peer_never_nobody(
    db, coordinator, settings, login_url
):
    """A request that came by no proxy: each client is counted at its own address."""
    settings.TRUSTED_PROXY_COUNT = 1
    for _attempt in range(5):
        Client(REMOTE_ADDR=CLIENT).post(login_url, {"username": "coordo", "password": "devine"})

    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {CLIENT}
    assert logs_in(Client(REMOTE_ADDR=NEIGHBOUR), "coordo", PASSWORD)
    assert not logs_in(Client(REMOTE_ADDR=CLIENT), "coordo", PASSWORD)


@pytest.mark.parametrize(
    "meta, seen",
    [
        ({"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "203.0.113.7:51234"}, CLIENT),
        ({"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "[2001:db8::7]:443"}, "2001:db8::7"),
        ({"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "pas une adresse"}, "10.0.0.2"),
        ({"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": " "}, "10.0.0.2"),
        ({"HTTP_X_FORWARDED_FOR": "pas une adresse"}, "0.0.0.0"),
    ],
)
def test_the_client_address_is_an_address(settings, meta, seen):
    settings.TRUSTED_PROXY_COUNT = 1
    request = RequestFactory().get("/", **meta)
    if "REMOTE_ADDR" not in meta:
        del request.META["REMOTE_ADDR"]

    assert client_ip(request) == seen


# --- The policy in a real browser ------------------------------------------------------------


def test_no_page_breaks_the_content_security_policy_in_the_browser(page, casal):
    """Chromium enforces the policy: any inline script or style, or outside asset, that a
    page relies on shows up as a refused load in the console."""
    violations = []
    page.on(
        "console",
        lambda message: (
            "Content Security Policy" in message.text
            and violations.append(f"{page.url}: {message.text}")
        ),
    )
    action = Action.objects.get(plan__slug=PLAN_SLUG, code=STARTED)
    log_in(page, casal.coordinator)
    paths = [
        "/",
        f"/plans/{PLAN_SLUG}/",
        f"/plans/{PLAN_SLUG}/actions/{STARTED}/",
        f"/plans/{PLAN_SLUG}/changements/",
        f"/plans/{PLAN_SLUG}/rapport/",
        f"/organisations/{casal.csdl.pk}/",
        "/themes/",
        "/admin/",
        "/admin/actions/action/",
        f"/admin/actions/action/{action.pk}/change/",
        f"/admin/actions/action/{action.pk}/history/",
        "/admin/actions/action/supprimes/",
        "/admin/actions/action/import/",
        f"/admin/plans/plan/{action.plan_id}/change/",
        f"/admin/plans/plan/{action.plan_id}/importer-tableau/",
        "/admin/partners/actionpartner/",
    ]
    for path in paths:
        response = page.goto(path)
        assert response.status == 200, path
        assert "default-src 'self'" in response.headers["content-security-policy"]
        page.wait_for_load_state("load")
    # The admin's own scripts at work: the autocomplete opens, the calendar too.
    page.goto(f"/admin/actions/action/{action.pk}/change/")
    page.locator(".select2-selection").first.click()
    page.locator(".select2-search__field").first.fill("1.")
    page.locator(".select2-results__option").first.wait_for()

    assert violations == []
