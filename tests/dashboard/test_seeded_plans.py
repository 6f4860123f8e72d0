"""The seeded plans, as setup_demo loads them, read as people write French and English: the
first of a month is "1er", "what changed since the last assembly" starts at the CASAL's
adoption assembly out of the box, and the English pages say objective, lead organisation.
"""

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from actions.models import Action
from actions.services import change_status
from devdata.management.commands.setup_demo import load_seed
from plans.models import Membership, Plan
from tests.dashboard.reading import main_text

pytestmark = pytest.mark.django_db

CASAL = "casal-2016-2020"
LACHINE = "lachine-2018-2021"


@pytest.fixture
def seeded(client, member, coordinator):
    load_seed("themes", "casal_2016_2020", "lachine_2018_2021")
    casal, lachine = Plan.objects.get(slug=CASAL), Plan.objects.get(slug=LACHINE)
    for plan in (casal, lachine):
        Membership.objects.create(coalition=plan.coalition, user=member)
    started = Action.objects.get(plan=casal, code="1.1.1")
    change_status(action=started, status=Action.Status.IN_PROGRESS, user=coordinator)
    client.force_login(member)
    return casal, lachine


def page(client, name, plan, language="fr"):
    # The language menu keeps the choice in a cookie.
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    with translation.override(language):
        url = reverse(f"dashboard:{name}", args=[plan.slug])
    return main_text(client.get(url))


def test_the_casal_plan_page_writes_the_first_of_the_month_as_an_ordinal(client, seeded):
    casal, _lachine = seeded

    text = page(client, "plan", casal)

    assert "Du 1er avril 2016 au 31 mars 2020 · adopté le 1er février 2017" in text
    assert "Ce qui a changé depuis la dernière assemblée (1er février 2017)" in text
    assert "Période\xa0: Toutes 2016-2018" in text
    assert "Statut\xa0: Tous À venir" in text


def test_the_changes_page_starts_at_each_plans_last_assembly(client, seeded):
    casal, lachine = seeded

    casal_changes = page(client, "changes", casal)
    lachine_changes = page(client, "changes", lachine)

    assert "Ce qui a changé depuis le 1er février 2017" in casal_changes
    assert "C'est la date de l'assemblée « Assemblée des membres du CASAL »." in casal_changes
    assert "30 derniers jours" not in casal_changes
    # The seeded plan itself predates the assembly; the coordinator's update does not.
    assert "1 changement " in casal_changes
    assert "Ce qui a changé depuis le 5 avril 2018" in lachine_changes
    assert "30 derniers jours" not in lachine_changes


def test_the_english_pages_say_objective_lead_organisation_and_proper_plurals(client, seeded):
    casal, _lachine = seeded

    plan_page = page(client, "plan", casal, "en")
    changes = page(client, "changes", casal, "en")

    assert "From April 1, 2016 to March 31, 2020" in plan_page
    assert "OBJECTIVE 1" in plan_page
    assert "OBJECTIF" not in plan_page
    assert "Period: All 2016-2018" in plan_page
    assert "Lead organisation or partner" in plan_page
    assert "Carrier" not in plan_page
    assert "What changed since February 1, 2017" in changes
    assert "(s)" not in plan_page + changes


def test_the_seeded_casal_plan_does_not_read_as_nothing_done(client, seeded):
    """The seed types no completion: an action in progress counts half-way, not 0 %."""
    casal, _lachine = seeded
    counts = {status: casal.actions.filter(status=status).count() for status in Action.Status}
    assert counts[Action.Status.IN_PROGRESS] >= 1
    counted = sum(counts.values()) - counts[Action.Status.ABANDONED]
    estimate = round(
        (100 * counts[Action.Status.DONE] + 50 * counts[Action.Status.IN_PROGRESS]) / counted
    )

    text = page(client, "plan", casal)

    assert f"Avancement estimé {estimate}\xa0%" in text
    assert "Avancement estimé 0\xa0%" not in text
    assert f"{counts[Action.Status.IN_PROGRESS]} en cours" in text
    assert "Aucune action n'a d'avancement déclaré." in text
