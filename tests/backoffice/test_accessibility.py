"""axe-core finds no critical or serious problem on the back-office pages the coordinator
works in, in French and in English: every field has a name (inline rows and list columns
included), the autocomplete boxes too, and links read without relying on colour."""

import pytest
from django.urls import reverse

from actions.models import Action, ProgressNote
from partners.models import Organisation
from plans.models import Plan
from tests.helpers import PLAN_SLUG, axe_violations, log_in, shoot


@pytest.fixture
def axe_page(browser, live_server):
    # bypass_csp: axe-core is injected as a script the page's policy would refuse.
    context = browser.new_context(
        base_url=live_server.url, bypass_csp=True, viewport={"width": 1366, "height": 768}
    )
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def pages():
    action = Action.objects.filter(plan__slug=PLAN_SLUG).order_by("sort_key").first()
    organisation = Organisation.objects.filter(action_links__isnull=False).first()
    plan = Plan.objects.get(slug=PLAN_SLUG)
    note = ProgressNote.objects.filter(action__plan=plan).first()  # the fixture's start
    return {
        "action-list": reverse("admin:actions_action_changelist"),
        "action-update": reverse("admin:actions_action_update", args=[action.pk]),
        "action-change": reverse("admin:actions_action_change", args=[action.pk]),
        "action-history": reverse("admin:actions_action_history", args=[action.pk]),
        "note-correction": reverse("admin:actions_progressnote_correct", args=[note.pk]),
        "action-add": reverse("admin:actions_action_add"),
        "action-import": reverse("admin:actions_action_import"),
        "plan-table-import": reverse("admin:plans_plan_import_table", args=[plan.pk]),
        "organisation-list": reverse("admin:partners_organisation_changelist"),
        "organisation-change": reverse(
            "admin:partners_organisation_change", args=[organisation.pk]
        ),
        "organisation-add": reverse("admin:partners_organisation_add"),
    }


def switch_to(page, language):
    if language == "en":
        page.goto(reverse("admin:index"))
        page.select_option("#admin-language", "en")
        page.locator(".language-switch button").click()
        page.wait_for_load_state()


@pytest.mark.parametrize("language", ["fr", "en"])
def test_no_critical_or_serious_problem_on_the_back_office_pages(axe_page, casal, language):
    log_in(axe_page, casal.coordinator, "/")
    switch_to(axe_page, language)
    found = {}
    for name, address in pages().items():
        axe_page.goto(address)
        axe_page.wait_for_load_state("networkidle")
        shoot(axe_page, f"axe-{name}-{language}")
        if problems := axe_violations(axe_page):
            found[name] = problems

    assert found == {}


def test_no_critical_or_serious_problem_on_the_bulk_status_page(axe_page, casal):
    log_in(axe_page, casal.coordinator, "/")
    axe_page.goto(reverse("admin:actions_action_changelist"))
    axe_page.locator("input.action-select").first.check()
    axe_page.locator("select[name=action]").select_option("change_status_action")
    axe_page.locator("button[name=index]").first.click()
    axe_page.wait_for_load_state("networkidle")
    assert "Changer le statut" in axe_page.title()

    assert axe_violations(axe_page) == []


@pytest.mark.parametrize(
    ("model", "action", "title"),
    [
        ("actions/action", "add_theme_action", "thème"),
        ("partners/organisation", "merge_action", "Fusionner"),
    ],
)
def test_no_critical_or_serious_problem_on_the_bulk_theme_and_merge_pages(
    axe_page, casal, model, action, title
):
    log_in(axe_page, casal.coordinator, "/")
    axe_page.goto(f"/admin/{model}/")
    for box in axe_page.locator("input.action-select").all()[:2]:
        box.check()
    axe_page.locator("select[name=action]").select_option(action)
    axe_page.locator("button[name=index]").first.click()
    axe_page.wait_for_load_state("networkidle")
    assert title in axe_page.title()

    assert axe_violations(axe_page) == []
