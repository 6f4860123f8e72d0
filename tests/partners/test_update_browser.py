"""The coordinator updates an action on one screen, in Chromium at a laptop's 1366×768: from
the action list, one click to the update page; she postpones 1.2.3 with its reason, writes a
note, records a counted target's value and confirms a partner, and saves with the button that
stays in view; the member then reads it all on the action's page."""

import re

import pytest
from playwright.sync_api import expect

from actions.models import Action, Target
from tests.helpers import PLAN_SLUG, SHOTS, log_in, shoot

pytestmark = pytest.mark.django_db(transaction=True)

LAPTOP = {"width": 1366, "height": 768}
PHONE = {"width": 375, "height": 740}
ACTIONS = "/admin/actions/action/"


def context_of(browser, live_server, viewport):
    context = browser.new_context(
        base_url=live_server.url,
        locale="fr-CA",
        timezone_id="America/Toronto",
        viewport=viewport,
    )
    context.set_default_timeout(10_000)
    return context


def scrolls_sideways(page):
    return page.evaluate("document.documentElement.scrollWidth > window.innerWidth")


@pytest.fixture
def action(casal):
    """1.2.3 as seeded, with a counted target (the seed gives it deliverables only)."""
    action = Action.objects.get(plan__slug=PLAN_SLUG, code="1.2.3")
    Target.objects.create(
        action=action,
        description="Nombre d'initiatives consolidées",
        kind=Target.Kind.COUNT,
        target_value=6,
        unit="initiatives",
    )
    return action


def test_the_coordinator_postpones_notes_and_counts_on_one_screen(
    browser, live_server, casal, action
):
    context = context_of(browser, live_server, LAPTOP)
    page = context.new_page()
    log_in(page, casal.coordinator)
    page.goto(ACTIONS)

    # The list: every column in view, "en retard" included, and no status menu to trust.
    late_header = page.locator("#result_list thead th.column-is_late")
    expect(late_header).to_be_in_viewport(ratio=1)
    assert not scrolls_sideways(page)
    results = page.locator("#changelist .results")
    assert results.evaluate("box => box.scrollWidth <= box.clientWidth")
    expect(page.locator("#result_list select")).to_have_count(0)
    shoot(page, "update-01-list-1366")

    page.get_by_role("link", name="Mettre à jour 1.2.3", exact=True).click()

    expect(page.get_by_role("heading", name="Mettre à jour l'action 1.2.3")).to_be_visible()
    expect(
        page.get_by_role("heading", name=re.compile("^Soutenir la consolidation"))
    ).to_be_visible()
    reason = page.get_by_label("Raison du changement de statut")
    expect(reason).to_be_hidden()  # asked only when the status needs it
    when = page.get_by_role("group", name="Reportée : quand aura-t-elle lieu ?")
    expect(when).to_be_hidden()
    save = page.get_by_role("button", name="Enregistrer")
    expect(save).to_be_in_viewport(ratio=1)
    assert not scrolls_sideways(page)
    shoot(page, "update-02-page-1366")

    page.get_by_text("Reportée", exact=True).click()
    expect(reason).to_be_visible()
    expect(reason).to_be_focused()  # she types the reason without a click
    page.keyboard.type("Le financement des marchés arrive l'an prochain.")
    # When it now happens: the seeded plan's periods have all ended, so it waits for a date.
    expect(when).to_be_visible()
    expect(when.get_by_label("2019-2020 (terminée)")).to_be_disabled()
    when.get_by_label("Attend une nouvelle date (sans date)").check()
    page.get_by_label("Note de suivi").fill("Rencontre avec les marchés de quartier le 3 mai.")
    page.get_by_label("Nouvelle valeur").fill("2")
    links = page.locator("select[name^='confirmation-']")
    links.first.select_option("confirmed_member")
    expect(save).to_be_in_viewport(ratio=1)  # still in view after typing
    assert not scrolls_sideways(page)
    page.screenshot(path=SHOTS / "update-03-filled-viewport-1366.png")  # what she sees
    shoot(page, "update-03-filled-1366")
    save.click()

    expect(page).to_have_url(re.compile(re.escape(ACTIONS) + "$"))
    expect(page.get_by_text("L'action 1.2.3 est mise à jour.")).to_be_visible()
    row = page.locator("#result_list tr", has=page.get_by_role("link", name="1.2.3", exact=True))
    expect(row.locator(".status-badge")).to_have_text("Reportée")
    shoot(page, "update-04-saved-1366")
    context.close()

    # The member reads it on the action's page.
    context = context_of(browser, live_server, LAPTOP)
    page = context.new_page()
    log_in(page, casal.member, action.get_absolute_url())
    state = page.locator(".action-state")
    expect(state.locator(".status-badge")).to_have_text("Reportée")
    expect(state.locator(".postponed-note")).to_have_text("— en attente d'une nouvelle date")
    expect(state.locator(".late-badge")).to_have_count(0)  # its adopted schedule has ended
    expect(page.get_by_text("Rencontre avec les marchés de quartier le 3 mai.")).to_be_visible()
    expect(page.get_by_text("Le financement des marchés arrive l'an prochain.")).to_be_visible()
    targets = page.locator("table.targets")
    expect(
        targets.get_by_role("row", name=re.compile("Nombre d'initiatives consolidées"))
    ).to_contain_text("2")
    expect(page.get_by_role("link", name=re.compile("Mettre à jour"))).to_have_count(0)
    shoot(page, "update-05-member-action")
    context.close()


def test_the_pages_fit_a_phone(browser, live_server, casal, action):
    context = context_of(browser, live_server, PHONE)
    page = context.new_page()
    log_in(page, casal.coordinator)
    page.goto(f"{ACTIONS}{action.pk}/mettre-a-jour/")

    expect(page.get_by_role("heading", name="Mettre à jour l'action 1.2.3")).to_be_visible()
    expect(page.get_by_role("button", name="Enregistrer")).to_be_in_viewport(ratio=1)
    assert not scrolls_sideways(page)
    shoot(page, "update-06-page-375")

    page.goto(f"{ACTIONS}{action.pk}/change/")
    expect(page.get_by_role("link", name="Mettre à jour : statut, note, valeurs")).to_be_visible()
    shoot(page, "update-07-full-form-375")
    context.close()


def test_the_full_form_sends_her_to_the_update_page(browser, live_server, casal, action):
    context = context_of(browser, live_server, LAPTOP)
    page = context.new_page()
    log_in(page, casal.coordinator)
    page.goto(f"{ACTIONS}{action.pk}/change/")

    expect(
        page.get_by_role("link", name="Mettre à jour : statut, note, valeurs")
    ).to_be_in_viewport()
    expect(page.locator("select[name='status']")).to_have_count(0)
    shoot(page, "update-08-full-form-1366")
    page.get_by_role("link", name="Mettre à jour : statut, note, valeurs").click()
    expect(page.get_by_role("heading", name="Mettre à jour l'action 1.2.3")).to_be_visible()
    context.close()
