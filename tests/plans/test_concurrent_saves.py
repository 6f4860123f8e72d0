"""Two coordinators at the same instant on the plan-wide ways of saving: importing the plan's
table, reverting to an earlier version, restoring from the trash. Exactly one goes through,
the other is told, nothing is lost (tests/concurrency.py)."""

import re
from types import SimpleNamespace

import pytest
from django.urls import reverse

from actions.models import Action
from actions.services import change_status
from tests.concurrency import (
    NOT_SAVED,
    PAIRS,
    at_once,
    fields_of,
    one_saved,
    open_at_once,
    post_at_once,
    text,
    two_coordinators,
)
from tests.factories import ActionFactory, ObjectiveFactory, PeriodFactory, SubObjectiveFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def desk(live_server, django_user_model):
    """Action 1.1.1 of a plan, and two coordinators of its coalition, each in her browser."""
    sub_objective = SubObjectiveFactory(objective=ObjectiveFactory(number=1), number=1)
    action = ActionFactory(sub_objective=sub_objective, code="1.1.1", title="Titre d'origine")
    PeriodFactory(plan=action.plan, label="2016-2017")
    with two_coordinators(live_server, django_user_model, action.plan.coalition) as (
        users,
        browsers,
    ):
        yield SimpleNamespace(action=action, plan=action.plan, users=users, browsers=browsers)


def history_count(action):
    return Action.history.filter(id=action.pk).count()


def form_id(page):
    """The id of the page's admin form (the revert page names it after the history model)."""
    return re.search(r'<form [^>]*id="([a-z]+_form)"', page.text)[1]


def table(title):
    """The plan's table as a CSV file that retitles action 1.1.1."""
    lines = ["Code;Action", "1;Nourrir le quartier", "1.1;Cuisiner ensemble", f"1.1.1;{title}"]
    return "\n".join(lines).encode()


def test_two_table_imports_confirmed_at_once(desk):
    url = reverse("admin:plans_plan_import_table", args=[desk.plan.pk])

    def preview(browser, title):
        page = browser.request("GET", url)
        fields = fields_of(page, "table-upload-form")
        files = {"file": ("plan.csv", table(title))}
        return browser.request("POST", url, fields, referer=url, files=files)

    for pair in range(PAIRS):
        before = history_count(desk.action)
        titles = [f"Titre importé [{user.username} {pair}]" for user in desk.users]
        pages = at_once(
            *(
                lambda b=b, title=title: preview(b, title)
                for b, title in zip(desk.browsers, titles, strict=True)
            )
        )
        posts = [[*fields_of(page, "table-preview-form"), ("step", "confirm")] for page in pages]
        responses = post_at_once(desk.browsers, url, posts)

        saved, refused = one_saved(responses)
        desk.action.refresh_from_db()
        assert desk.action.title == titles[responses.index(saved)]
        assert history_count(desk.action) == before + 1
        assert "Le plan ou les choix de colonnes ont changé depuis l'aperçu" in text(refused)


def test_two_reverts_of_the_same_action_at_once(desk):
    """Each reverts the action to a different earlier version, at the same instant."""
    versions = []
    for title in ("Première version", "Deuxième version"):
        desk.action.title = title
        change_status(action=desk.action, status=desk.action.status, user=desk.users[0])
        versions.append(Action.history.filter(id=desk.action.pk).latest("history_id"))
    urls = [
        reverse("admin:actions_action_simple_history", args=[desk.action.pk, v.history_id])
        for v in versions
    ]
    for _pair in range(PAIRS):
        before = history_count(desk.action)
        pages = open_at_once(desk.browsers, urls)
        posts = [fields_of(page, form_id(page)) for page in pages]
        responses = post_at_once(desk.browsers, urls, posts)

        saved, refused = one_saved(responses)
        desk.action.refresh_from_db()
        assert desk.action.title == versions[responses.index(saved)].title
        assert history_count(desk.action) == before + 1
        assert NOT_SAVED in text(refused)


def test_two_restores_of_the_same_deleted_action_at_once(desk):
    """Both open the trash's page for the deleted action and restore it at the same instant:
    it comes back once, and the other is told it already has."""
    for _pair in range(PAIRS):
        Action.objects.get(pk=desk.action.pk).delete()
        record = Action.history.filter(id=desk.action.pk, history_type="-").latest("history_id")
        url = reverse("admin:actions_action_recover", args=[record.history_id])
        pages = open_at_once(desk.browsers, url)
        posts = [fields_of(page, "recover-form") for page in pages]
        responses = post_at_once(desk.browsers, url, posts)

        assert sorted(response.status for response in responses) in ([200, 302], [302, 302])
        assert Action.objects.filter(pk=desk.action.pk).count() == 1
        restorations = Action.history.filter(
            id=desk.action.pk, history_type="+", history_date__gt=record.history_date
        )
        assert restorations.count() == 1
        told = [
            text(response) if response.status == 200 else text(b.request("GET", response.location))
            for b, response in zip(desk.browsers, responses, strict=True)
        ]
        assert sum("Restauré" in page for page in told) == 1
        assert (
            sum(
                "a déjà été restauré" in page or "n'est plus dans les éléments supprimés" in page
                for page in told
            )
            == 1
        )
