"""A member reads every dashboard page on a laptop (1366 px) and on a phone (375 and 320 px)
without the page scrolling sideways as a whole: wide tables scroll inside their own box, which
a keyboard can reach. The plan's French words are marked as French on English pages, so that
a screen reader reads them with a French voice; the browser finds the site's icon."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from actions.models import Action
from plans.models import Theme
from tests.helpers import PLAN_PATH, PLAN_SLUG, STARTED, axe_violations, log_in, shoot

WIDTHS = [1366, 375, 320]


@pytest.fixture
def wide_page(browser, live_server):
    # bypass_csp: axe-core is injected as a script the page's policy would refuse.
    context = browser.new_context(
        base_url=live_server.url,
        bypass_csp=True,
        locale="fr-CA",
        timezone_id="America/Toronto",
        viewport={"width": 1366, "height": 768},
    )
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def member_pages(casal):
    # A theme with actions, so that its page has its table.
    theme = Theme.objects.first()
    for action in Action.objects.filter(plan__slug=PLAN_SLUG).order_by("sort_key")[:6]:
        action.themes.add(theme)
    return {
        "home": reverse("dashboard:home"),
        "plan": PLAN_PATH,
        "action": reverse("dashboard:action", args=[PLAN_SLUG, STARTED]),
        "organisation": reverse("dashboard:organisation", args=[casal.csdl.pk]),
        "themes": reverse("dashboard:themes"),
        "theme": reverse("dashboard:theme", args=[theme.code]),
        "changes": reverse("dashboard:changes", args=[PLAN_SLUG]),
        "report": reverse("reports:assembly", args=[PLAN_SLUG]),
    }


def page_width(page):
    return page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")


def switch_to_english(page):
    page.locator("#language").select_option("en")
    page.get_by_role("button", name="Changer").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")


def test_no_member_page_scrolls_sideways_at_any_width(wide_page, casal):
    log_in(wide_page, casal.member, "/")
    too_wide = {}
    for name, address in member_pages(casal).items():
        wide_page.set_viewport_size({"width": 1366, "height": 768})
        wide_page.goto(address)
        for width in WIDTHS:
            wide_page.set_viewport_size({"width": width, "height": 768})
            shoot(wide_page, f"widths-{name}-{width}")
            scroll_width, inner_width = page_width(wide_page)
            if scroll_width > inner_width:
                too_wide[f"{name} at {width}"] = scroll_width

    assert too_wide == {}


def test_the_schedule_shows_its_last_period_on_a_laptop(wide_page, casal):
    log_in(wide_page, casal.member, PLAN_PATH)
    last_period = wide_page.locator(".plan-table thead th.schedule").last
    expect(last_period).to_have_text("2019-2020")

    box = last_period.bounding_box()
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= 1366


def test_the_wide_tables_scroll_in_a_box_a_keyboard_reaches(wide_page, casal):
    log_in(wide_page, casal.member, PLAN_PATH)
    wide_page.set_viewport_size({"width": 375, "height": 768})
    # A group, not a landmark: the section around it is already the region of that name.
    schedule = wide_page.get_by_role("group", name="Actions et calendrier")
    expect(schedule).to_have_attribute("tabindex", "0")
    schedule.focus()
    wide_page.keyboard.press("ArrowRight")
    expect(schedule).not_to_have_js_property("scrollLeft", 0)


@pytest.mark.parametrize("name", ["plan", "action", "organisation", "report"])
def test_the_scroll_boxes_add_no_accessibility_problem_on_a_phone(wide_page, casal, name):
    log_in(wide_page, casal.member, "/")
    wide_page.set_viewport_size({"width": 375, "height": 768})
    wide_page.goto(member_pages(casal)[name])
    wide_page.wait_for_load_state("networkidle")

    assert axe_violations(wide_page) == []


def test_the_english_action_page_marks_the_plan_s_words_as_french(wide_page, casal):
    action = Action.objects.get(plan__slug=PLAN_SLUG, code=STARTED)
    log_in(wide_page, casal.member, reverse("dashboard:action", args=[PLAN_SLUG, STARTED]))
    switch_to_english(wide_page)
    shoot(wide_page, "widths-action-en")

    french = wide_page.locator("[lang=fr]")
    expect(wide_page.locator("h1 [lang=fr]")).to_have_text(action.title)
    expect(french.filter(has_text=action.means.split("\n")[0][:40]).first).to_be_visible()
    expect(french.filter(has_text="CSDL").first).to_be_visible()
    # The page's own words stay English.
    expect(wide_page.get_by_role("heading", name="Targets and expected results")).to_be_visible()


def test_the_english_plan_page_marks_the_plan_s_words_as_french(wide_page, casal):
    log_in(wide_page, casal.member, PLAN_PATH)
    switch_to_english(wide_page)

    expect(wide_page.locator("h1[lang=fr]")).to_have_text(
        "Plan d'action opérationnel du CASAL 2016-2020"
    )
    title = Action.objects.get(plan__slug=PLAN_SLUG, code=STARTED).title
    expect(wide_page.locator("tr.action-row td.title[lang=fr]").first).to_have_text(title)


def test_the_french_pages_say_nothing_more(wide_page, casal):
    log_in(wide_page, casal.member, reverse("dashboard:action", args=[PLAN_SLUG, STARTED]))

    assert wide_page.locator("html").get_attribute("lang") == "fr"
    expect(wide_page.locator("main [lang=fr]")).to_have_count(0)


def test_the_browser_finds_the_site_icon(wide_page, casal):
    response = wide_page.request.get("/favicon.ico")

    assert response.ok
    assert response.headers["content-type"].startswith("image/")
    wide_page.goto("/")
    icon = wide_page.locator("link[rel=icon]").get_attribute("href")
    assert wide_page.request.get(icon).ok
