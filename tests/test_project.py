"""The project as a whole: migrations in step with the models, safe production settings,
and a demo that loads the two seeded plans without ever overwriting them."""

import datetime
import html
import os
import re
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone

from actions.models import Action
from partners.timeline import action_timeline, plan_changes
from plans.groups import COORDINATION, MEMBERS
from plans.models import Plan
from tests.helpers import logs_in

ROOT = Path(__file__).resolve().parents[1]
SEEDED_PLANS = {"casal-2016-2020", "lachine-2018-2021"}


# --- Migrations ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_no_model_change_is_missing_its_migration():
    out = StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    except SystemExit:
        pytest.fail(f"A migration is missing:\n{out.getvalue()}")


# --- Settings --------------------------------------------------------------------------------

# Loads the application as gunicorn does, in a process without pytest.
START_DJANGO = """
import sys
assert "pytest" not in sys.modules
from casal_tracker.wsgi import application
from django.conf import settings
print("started", "DEBUG" if settings.DEBUG else "production")
"""

# What manage.py commands such as migrate need: the settings, not a secret.
SETUP_ONLY = """
import django
django.setup()
print("set up")
"""


def start_django(code=START_DJANGO, **extra_env):
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"SECRET_KEY", "DEBUG"} and not key.startswith("PYTEST")
    }
    env["DJANGO_SETTINGS_MODULE"] = "casal_tracker.settings"
    env.update(extra_env)
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_refuses_to_start_without_a_secret_key():
    result = start_django()

    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
    assert "AssertionError" not in result.stderr  # it failed for the secret, not for pytest


def test_manage_py_commands_run_without_a_secret_key():
    result = start_django(SETUP_ONLY)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "set up"


def test_development_starts_without_a_secret_key():
    result = start_django(DEBUG="1")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "started DEBUG"


def test_production_starts_with_a_secret_key():
    result = start_django(SECRET_KEY="a-long-random-production-secret-for-this-test-only")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "started production"


# --- setup_demo ------------------------------------------------------------------------------


def run_setup_demo():
    out = StringIO()
    call_command("setup_demo", stdout=out)
    return out.getvalue()


def printed_password(output, username):
    match = re.search(rf"\b{username} / (\S+)\s*$", output, re.MULTILINE)
    assert match, f"no password printed for {username}:\n{output}"
    return match.group(1)


@pytest.fixture
def demo_settings(settings):
    settings.DEBUG = True
    return settings


@pytest.mark.django_db
def test_setup_demo_loads_both_plans_with_history_and_working_logins(demo_settings, client):
    assert not Plan.objects.exists()

    output = run_setup_demo()

    assert set(Plan.objects.values_list("slug", flat=True)) == SEEDED_PLANS
    for slug in SEEDED_PLANS:
        assert Action.objects.filter(plan__slug=slug).exists(), slug
    plan_ids = set(Plan.objects.values_list("pk", flat=True))
    assert set(Plan.history.filter(history_type="+").values_list("id", flat=True)) == plan_ids

    users = get_user_model().objects
    coordo, membre = users.get(username="coordo"), users.get(username="membre")
    assert list(coordo.groups.values_list("name", flat=True)) == [COORDINATION]
    assert list(membre.groups.values_list("name", flat=True)) == [MEMBERS]
    assert coordo.is_staff
    assert not membre.is_staff  # the member stays on the dashboard
    assert logs_in(client, "coordo", printed_password(output, "coordo"))
    assert logs_in(client, "membre", printed_password(output, "membre"))


@pytest.mark.django_db
def test_setup_demo_gives_every_action_a_first_historical_record(demo_settings):
    run_setup_demo()

    action_ids = set(Action.objects.values_list("pk", flat=True))
    assert action_ids
    created = Action.history.filter(history_type="+").values_list("id", flat=True)
    assert set(created) == action_ids


@pytest.mark.django_db
def test_setup_demo_dates_the_seeded_plans_before_their_first_assembly(demo_settings):
    run_setup_demo()

    # The seed is not news: only the demo's own updates appear since Lachine's assembly.
    lachine = Plan.objects.get(slug="lachine-2018-2021")
    changes = plan_changes(lachine, datetime.date(2018, 4, 5))
    assert changes
    assert {change.author for change in changes} == {"coordo"}
    assert all("Démonstration" in change.text for change in changes if change.text)
    first = Action.history.filter(history_type="+", plan_id=lachine.pk).latest("history_date")
    assert timezone.localdate(first.history_date) == datetime.date(2018, 4, 4)


@pytest.mark.django_db
def test_setup_demo_records_each_actions_first_schedule(demo_settings):
    run_setup_demo()
    action = Action.objects.filter(plan__slug="casal-2016-2020", periods__isnull=False).first()
    period = action.periods.first()

    action._history_user = None
    action.periods.remove(period)  # a schedule change after the seed

    (change,) = [c for c in action_timeline(action) if c.headline == "Action modifiée"]
    (moved,) = change.fields
    assert moved.label == "Périodes prévues"
    assert period.label in moved.before
    assert period.label not in moved.after


@pytest.mark.django_db
def test_setup_demo_seats_the_demo_users_at_their_coalitions(demo_settings, client):
    output = run_setup_demo()

    assert logs_in(client, "membre", printed_password(output, "membre"))
    page = html.unescape(client.get(reverse("dashboard:home")).text)
    assert "Plan d'action opérationnel du CASAL 2016-2020" in page
    assert "Plan stratégique 2018-2021" not in page
    assert "CSDL" in page  # her organisation, one click away
    coordo = get_user_model().objects.get(username="coordo")
    assert set(coordo.memberships.values_list("coalition__slug", flat=True)) == {
        "casal",
        "concert-action-lachine",
    }


@pytest.mark.django_db
def test_setup_demo_run_again_keeps_plan_data_and_prints_fresh_passwords(demo_settings, client):
    first_output = run_setup_demo()
    action = Action.objects.filter(plan__slug="casal-2016-2020").first()
    action.title = "Titre corrigé par la coordonnatrice"
    action.save()
    counts = (Plan.objects.count(), Action.objects.count(), Action.history.count())

    second_output = run_setup_demo()

    action.refresh_from_db()
    assert action.title == "Titre corrigé par la coordonnatrice"
    assert (Plan.objects.count(), Action.objects.count(), Action.history.count()) == counts
    assert get_user_model().objects.filter(username__in=["coordo", "membre"]).count() == 2
    for username in ("coordo", "membre"):
        old_password = printed_password(first_output, username)
        new_password = printed_password(second_output, username)
        assert new_password != old_password
        assert not logs_in(client, username, old_password)
        assert logs_in(client, username, new_password)


@pytest.mark.django_db
def test_setup_demo_refuses_outside_development(settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="DEBUG"):
        run_setup_demo()

    assert not Plan.objects.exists()
    assert not get_user_model().objects.filter(username__in=["coordo", "membre"]).exists()
