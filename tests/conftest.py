"""Named users make every permission boundary testable: the coordinator changes plan data,
the member reads it, the outsider has an account and no business here; the A/B world
(`coalitions`) puts them on both sides of a line between two coalitions. The browser tests of
every app share one Chromium and the seeded CASAL plan.

Plain helpers are in tests/helpers.py (and tests/imports/helpers.py): test modules never
import from one another."""

import os
import shutil
import tempfile
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings
from django.utils import translation

from actions.models import Action
from actions.services import change_status
from devdata.management.commands.setup_demo import load_seed
from partners.models import Organisation
from plans.groups import COORDINATION, MEMBERS
from plans.models import Coalition, Membership, Plan
from tests.helpers import (
    CHROMIUM,
    CHROMIUM_ARGS,
    MACHINE_TEMP,
    PLAN_SLUG,
    SHOTS,
    STARTED,
    make_user,
    member_of_every_coalition,
)
from tests.plans.sources import ROOT
from tests.world import build_world

# Playwright's sync API runs an event loop in this thread; the ORM calls the browser tests
# make beside it are still plain synchronous calls.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"


def pytest_configure(config):
    """A temporary directory of the run's own (of each pytest-xdist worker's, under
    `python3 dev.py test`): a test that checks an upload left nothing in it must not see the
    files of the other worker, nor of any other program (a SQLite journal once failed it)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    directory = tempfile.mkdtemp(prefix=f"casal-tests-{worker}-", dir=MACHINE_TEMP)
    tempfile.tempdir = directory
    config.add_cleanup(lambda: shutil.rmtree(directory, ignore_errors=True))


@pytest.fixture(scope="session", autouse=True)
def fast_password_hasher():
    """MD5 for the tests' passwords: Django's default hasher costs a quarter of a second of CPU
    per user created and per login by password, which was a fifth of the suite's time. What
    the tests check of passwords (right or wrong, locked out after failures) is the same."""
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture(autouse=True)
def in_french():
    """Each test starts in the site's language: a page asked for in English leaves English
    active in the thread (LocaleMiddleware does not switch back), and the next test's
    messages would come out in English."""
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def coordinator(django_user_model):
    return make_user(django_user_model, "coordo", COORDINATION)


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
def backoffice_member(django_user_model):
    """A member whom a coordinator let into the back-office (members are not staff by
    default): there she reads and changes nothing. The admin's modules use her as `member`."""
    return make_user(django_user_model, "membre", MEMBERS, is_staff=True)


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


@pytest.fixture(scope="module")
def coalitions(django_db_setup, django_db_blocker):
    """The A/B world of tests/world.py: coalition A ("Ananas") and coalition B ("Bergamote"),
    their plans, and the people who knock on their doors.

    Built once for the module, inside a transaction that each test's own (a savepoint) rolls
    back to, and rolled back at the end of the module, as Django's TestCase.setUpTestData
    does."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        built = build_world()
    yield built
    with django_db_blocker.unblock():
        transaction.set_rollback(True)
        atomic.__exit__(None, None, None)


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


@pytest.fixture
def casal(live_server, django_user_model):
    """The CASAL 2016-2020 plan as adopted, on the live server; a member from the CSDL; the
    coordinator, who has started action 1.1.1. (The modules that read the CASAL plan without
    a browser have a `casal` of their own.)"""
    # As setup_demo loads it: the plan as adopted is one entry of each action's history.
    load_seed("themes", "casal_2016_2020")
    coalition = Coalition.objects.get(slug="casal")
    csdl = Organisation.objects.get(name="CSDL")
    member = make_user(django_user_model, "membre", MEMBERS)
    Membership.objects.create(user=member, coalition=coalition, organisation=csdl)
    coordinator = make_user(django_user_model, "coordo", COORDINATION)
    Membership.objects.create(user=coordinator, coalition=coalition)
    action = Action.objects.get(plan__slug=PLAN_SLUG, code=STARTED)
    change_status(action=action, status=Action.Status.IN_PROGRESS, user=coordinator)
    return SimpleNamespace(member=member, coordinator=coordinator, csdl=csdl)


# The two plans of the repository's fixtures, which the table import and the workbook read back.
SEEDED = {
    "casal-2016-2020": "casal_2016_2020.json",
    "lachine-2018-2021": "lachine_2018_2021.json",
}


@pytest.fixture(params=sorted(SEEDED))
def seeded_plan(request):
    fixtures = ROOT / "fixtures"
    call_command(
        "loaddata", fixtures / "themes.json", fixtures / SEEDED[request.param], verbosity=0
    )
    return Plan.objects.get(slug=request.param)
