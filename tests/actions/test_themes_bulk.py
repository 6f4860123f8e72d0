"""Tagging actions with a theme in bulk: choose the actions in the list, « Ajouter un thème
aux actions choisies » (or « Retirer »), pick the theme, confirm; each change in the action's
history with its author, another coalition's actions untouched."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from actions.models import Action
from actions.services import tag_actions, untag_actions
from plans.models import Membership, Theme
from tests.factories import ActionFactory, CoalitionFactory, PlanFactory, ThemeFactory
from tests.helpers import PLAN_PATH, PLAN_SLUG, log_in, shoot

CHANGELIST = reverse("admin:actions_action_changelist")
# Measured: 24, most of it the list the bulk action is posted to; the point is it does not grow.
THEMES_PAGE_MAX_QUERIES = 26


def actions_of(coalition, count):
    plan = PlanFactory(coalition=coalition)
    return [ActionFactory(sub_objective__objective__plan=plan) for _ in range(count)]


@pytest.fixture
def desk(db, coordinator):
    from types import SimpleNamespace

    mine = CoalitionFactory()
    Membership.objects.create(coalition=mine, user=coordinator)
    return SimpleNamespace(
        mine=actions_of(mine, 5),
        theirs=actions_of(CoalitionFactory(), 2),
        access=ThemeFactory(name="Accès aux aliments"),
        quality=ThemeFactory(name="Qualité des aliments"),
    )


def text_of(response):
    page = re.sub(r"<[^>]+>", " ", response.content.decode())
    return " ".join(page.split()).replace("&#x27;", "'")


def choose(client, actions, action="add_theme_action", **fields):
    data = {
        "action": action,
        "_selected_action": [str(a.pk) if hasattr(a, "pk") else a for a in actions],
        **fields,
    }
    return client.post(CHANGELIST, data, follow=True)


def themes_history(action):
    """(who, themes) of each record of `action`, oldest first."""
    return [
        (record.history_user, {t.theme_id for t in record.themes.all()})
        for record in action.history.order_by("history_id")
    ]


# --- The service -----------------------------------------------------------------------------


def test_tagging_adds_the_theme_to_those_without_it_signed(desk, coordinator):
    desk.mine[0].themes.add(desk.access)
    changed = tag_actions(
        actions=Action.objects.filter(pk__in=[a.pk for a in desk.mine]),
        theme=desk.access,
        user=coordinator,
    )
    assert sorted(a.pk for a in changed) == [a.pk for a in desk.mine[1:]]
    for action in desk.mine:
        assert list(action.themes.all()) == [desk.access]
    last = themes_history(desk.mine[1])[-1]
    assert last == (coordinator, {desk.access.pk})


def test_untagging_removes_it_from_those_with_it_signed(desk, coordinator):
    for action in desk.mine[:2]:
        action.themes.add(desk.access, desk.quality)
    changed = untag_actions(
        actions=Action.objects.filter(pk__in=[a.pk for a in desk.mine]),
        theme=desk.access,
        user=coordinator,
    )
    assert sorted(a.pk for a in changed) == [a.pk for a in desk.mine[:2]]
    assert list(desk.mine[0].themes.all()) == [desk.quality]
    assert themes_history(desk.mine[0])[-1] == (coordinator, {desk.quality.pk})


# --- The admin actions -----------------------------------------------------------------------


def test_the_page_asks_which_theme_for_the_chosen_actions(coordinator_client, desk):
    desk.mine[0].themes.add(desk.quality)
    response = choose(coordinator_client, desk.mine)
    page = text_of(response)
    assert "Quel thème ajouter à ces 5 actions ?" in page
    assert "Accès aux aliments" in page and "Qualité des aliments" in page
    assert f"{desk.mine[0].code} {desk.mine[0].title} (Qualité des aliments)" in page
    assert f"{desk.mine[1].code} {desk.mine[1].title} (aucun thème)" in page
    assert not Action.themes.through.objects.filter(theme=desk.access).exists()


def test_adding_a_theme_to_five_actions(coordinator_client, coordinator, desk):
    desk.mine[0].themes.add(desk.access)
    response = choose(coordinator_client, desk.mine, apply="1", theme=desk.access.pk)
    assert "Thème « Accès aux aliments » ajouté à 4 actions. 1 action l'avait déjà." in text_of(
        response
    )
    assert Action.objects.filter(themes=desk.access).count() == 5
    assert themes_history(desk.mine[4])[-1] == (coordinator, {desk.access.pk})


def test_nothing_to_change_says_so(coordinator_client, desk):
    response = choose(
        coordinator_client, desk.mine, "remove_theme_action", apply="1", theme=desk.access.pk
    )
    assert "Aucune action n'a changé : aucune n'avait le thème « Accès aux aliments »." in (
        text_of(response)
    )


def test_removing_a_theme(coordinator_client, desk):
    for action in desk.mine[:3]:
        action.themes.add(desk.access)
    response = choose(
        coordinator_client, desk.mine, "remove_theme_action", apply="1", theme=desk.access.pk
    )
    assert "Thème « Accès aux aliments » retiré de 3 actions. 2 actions ne l'avaient pas." in (
        text_of(response)
    )
    assert not Action.objects.filter(themes=desk.access).exists()


def test_another_coalitions_actions_are_left_alone(coordinator_client, desk):
    """Her list holds her coalition's actions: posted ids of others are dropped."""
    response = choose(
        coordinator_client,
        [desk.mine[0], *desk.theirs],
        apply="1",
        theme=desk.access.pk,
    )
    assert "Thème « Accès aux aliments » ajouté à 1 action." in text_of(response)
    for action in desk.theirs:
        assert not action.themes.exists()
        assert action.history.count() == 1


@pytest.mark.parametrize("theme", ["", "abc", "999999", "9" * 40])
def test_a_bad_theme_writes_nothing(coordinator_client, desk, theme):
    before = Action.history.count()
    response = choose(coordinator_client, desk.mine, apply="1", theme=theme)
    page = text_of(response)
    assert ("Choisissez un thème." if not theme else "Ce thème n'existe pas") in page
    assert "Quel thème ajouter à ces 5 actions ?" in page
    assert Action.history.count() == before


def test_unreadable_action_ids_write_nothing(coordinator_client, desk):
    before = Action.history.count()
    response = choose(coordinator_client, [desk.mine[0], "abc"], apply="1", theme=desk.access.pk)
    assert "La sélection envoyée est illisible : rien n'a été changé." in text_of(response)
    assert Action.history.count() == before


def test_the_theme_page_queries_do_not_grow(
    coordinator_client, coordinator, django_assert_max_num_queries
):
    mine = CoalitionFactory()
    Membership.objects.create(coalition=mine, user=coordinator)
    theme = ThemeFactory()
    counts = []
    for size in (3, 40):
        actions = actions_of(mine, size)
        for action in actions:
            action.themes.add(theme)
        with django_assert_max_num_queries(THEMES_PAGE_MAX_QUERIES) as captured:
            response = choose(coordinator_client, actions)
        assert f"Quel thème ajouter à ces {size} actions ?" in text_of(response)
        counts.append(len(captured))
    assert counts[0] == counts[1]


# --- In the browser: the seeded CASAL plan, whose actions have no theme yet -------------------


def test_in_the_browser_five_actions_get_a_theme(page, casal):
    log_in(page, casal.coordinator, PLAN_PATH)
    page.goto(CHANGELIST)
    boxes = page.locator("input.action-select")
    for index in range(5):
        boxes.nth(index).check()
    page.locator("select[name=action]").select_option("add_theme_action")
    page.get_by_role("button", name="Envoyer").click()
    page.get_by_label("Accès aux aliments").check()
    shoot(page, "actions-add-theme")
    page.get_by_role("button", name="Ajouter le thème").click()
    expect(page.get_by_text("Thème « Accès aux aliments » ajouté à 5 actions.")).to_be_visible()
    theme = Theme.objects.get(name="Accès aux aliments")
    assert Action.objects.filter(plan__slug=PLAN_SLUG, themes=theme).count() == 5


@pytest.mark.django_db(transaction=True)
def test_two_coordinators_adding_the_same_theme_at_once(live_server, django_user_model):
    """Both choose the same actions and add the same theme at the same instant: the theme is
    added once, in one history record per action, and each is told what she changed."""
    from tests.concurrency import PAIRS, at_once, fields_of, post_at_once, text, two_coordinators

    coalition = CoalitionFactory()
    with two_coordinators(live_server, django_user_model, coalition) as (users, browsers):
        for pair in range(PAIRS):
            actions = actions_of(coalition, 3)
            theme = ThemeFactory(name=f"Thème {pair}")
            selection = [("action", "add_theme_action"), ("index", "0")] + [
                ("_selected_action", str(a.pk)) for a in actions
            ]

            def choose(browser, selection=selection):
                page = browser.request("GET", CHANGELIST)
                token = dict(fields_of(page, "changelist-form"))["csrfmiddlewaretoken"]
                fields = [("csrfmiddlewaretoken", token), *selection]
                return browser.request("POST", CHANGELIST, fields, referer=CHANGELIST)

            pages = at_once(*(lambda b=b: choose(b) for b in browsers))
            posts = [
                fields_of(page, "themes-form", "apply", theme=str(theme.pk)) for page in pages
            ]
            post_at_once(browsers, CHANGELIST, posts)
            told = sorted(text(browser.request("GET", CHANGELIST)) for browser in browsers)

            for action in actions:
                assert list(action.themes.all()) == [theme]
                records = action.history.order_by("history_id")
                assert [r.history_user in users for r in records[1:]] == [True]
            assert any(f"Thème « {theme} » ajouté à 3 actions." in t for t in told)
            assert any(
                f"Aucune action n'a changé : elles avaient toutes déjà le thème « {theme} »." in t
                for t in told
            )
