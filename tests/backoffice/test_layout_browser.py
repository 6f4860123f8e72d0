"""The coordinator's pages at 1366×768: the full action form fits the width with its buttons
at the top, and a list with editable rows never looks saved when it is not.

Screenshots go to /tmp/browser-shots/ for a human to look at."""

import re

import pytest
from playwright.sync_api import expect

from actions.models import Action
from partners.models import ActionPartner
from tests.helpers import PLAN_SLUG, log_in, shoot

SCREEN = {"width": 1366, "height": 768}


@pytest.fixture
def screen(page):
    page.set_viewport_size(SCREEN)
    return page


def open_as(page, user, path):
    log_in(page, user)
    page.goto(path)


def scroll_width(page):
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def test_full_action_form_fits_the_screen_with_its_buttons_on_top(screen, casal):
    action = Action.objects.get(plan__slug=PLAN_SLUG, code="1.2.3")
    open_as(screen, casal.coordinator, f"/admin/actions/action/{action.pk}/change/")
    shoot(screen, "layout-01-action-form")

    assert scroll_width(screen) <= 0
    # Saving is reachable without scrolling down 3,000 px.
    top_save = screen.get_by_role("button", name="Enregistrer", exact=True).first
    expect(top_save).to_be_in_viewport()
    # "Historique" no longer covers the action's title.
    title = screen.locator("#content h2").first.bounding_box()
    history = screen.get_by_role("link", name="Historique").bounding_box()
    assert history["y"] >= title["y"] + title["height"]
    # The partners' and targets' last columns are on screen, not past its right edge.
    for header in ["Dernier contact", "Supprimer ?"]:
        box = screen.locator(".inline-group th", has_text=header).first.bounding_box()
        assert box["x"] + box["width"] <= SCREEN["width"]
    # Dates are the browser's own compact picker, without a time-zone note under each row.
    expect(screen.locator(".inline-group input[type=date]").first).to_be_visible()
    expect(screen.locator(".timezonewarning")).to_have_count(0)


def test_a_changed_row_says_it_is_not_saved_until_the_list_is_saved(screen, casal):
    open_as(screen, casal.coordinator, "/admin/partners/actionpartner/?q=CSDL")
    row = screen.locator("#result_list tbody tr").first
    link = ActionPartner.objects.get(pk=row.locator("input[name=_selected_action]").input_value())
    row.locator("select[name$='-confirmation']").select_option(ActionPartner.Confirmation.DECLINED)

    expect(row).to_have_class(re.compile(r"\bunsaved\b"))
    notice = screen.locator(".unsaved-notice")
    expect(notice).to_have_text("1 ligne modifiée, pas encore enregistrée.")
    save = screen.get_by_role("button", name="Enregistrer", exact=True)
    expect(save).to_be_in_viewport()
    shoot(screen, "layout-02-link-list-unsaved")
    link.refresh_from_db()
    assert link.confirmation != ActionPartner.Confirmation.DECLINED

    save.click()
    expect(screen.locator(".messagelist")).to_be_visible()
    expect(screen.locator("#result_list tbody tr.unsaved")).to_have_count(0)
    link.refresh_from_db()
    assert link.confirmation == ActionPartner.Confirmation.DECLINED
