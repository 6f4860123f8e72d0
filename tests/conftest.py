"""Named users make every permission boundary testable: the coordinator changes plan data,
the member reads it, the outsider has an account and no business here. The browser tests of
every app share one Chromium."""

import contextlib
import os
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.db.models.signals import post_save
from django.urls import reverse

from plans.groups import COORDINATION, MEMBERS
from plans.models import Coalition, Membership

PASSWORD = "mot-de-passe-de-test"

# Browser tests drive Debian's Chromium; Playwright's own browser download is never used.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-gpu",
]
SHOTS = Path("/tmp/browser-shots")


def make_user(django_user_model, username, group=None, is_staff=True):
    user = django_user_model.objects.create_user(
        username=username, password=PASSWORD, is_staff=is_staff
    )
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


def logs_in(client, username, password):
    """Whether the login page lets this person in, as she would log in (with django-axes
    counting the attempt, which Client.login() would bypass)."""
    response = client.post(reverse("login"), {"username": username, "password": password})
    return response.status_code == 302


@pytest.fixture
def coordinator(django_user_model):
    return make_user(django_user_model, "coordo", COORDINATION)


@contextlib.contextmanager
def member_of_every_coalition(user):
    """`user` is a member of every coalition the test has or creates meanwhile."""

    def join(sender, instance, created, **kwargs):
        if created:
            Membership.objects.get_or_create(coalition=instance, user=user)

    for coalition in Coalition.objects.all():
        join(Coalition, coalition, created=True)
    uid = f"joins-{user.pk}"
    post_save.connect(join, sender=Coalition, weak=False, dispatch_uid=uid)
    try:
        yield user
    finally:
        post_save.disconnect(sender=Coalition, dispatch_uid=uid)


@pytest.fixture
def coordinator_of_every_coalition(coordinator):
    """For the admin's feature tests, which are about one coalition's work whatever their
    factories create; tests/test_permissions.py draws the lines between coalitions."""
    with member_of_every_coalition(coordinator):
        yield coordinator


@pytest.fixture
def member(django_user_model):
    return make_user(django_user_model, "membre", MEMBERS)


@pytest.fixture
def outsider(django_user_model):
    return make_user(django_user_model, "passant", is_staff=False)


@pytest.fixture
def coordinator_client(client, coordinator):
    client.force_login(coordinator)
    return client


@pytest.fixture
def member_client(client, member):
    client.force_login(member)
    return client


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        reason = f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
        if "CI" in os.environ:
            pytest.fail(f"{reason}; CI never skips the browser tests.", pytrace=False)
        pytest.skip(reason)
    SHOTS.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    """A fresh page (own cookies, so own session and language) on the live server."""
    context = browser.new_context(
        base_url=live_server.url,
        locale="fr-CA",
        timezone_id="America/Toronto",
        viewport={"width": 1400, "height": 900},
    )
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()
