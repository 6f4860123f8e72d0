"""Who reads which coalition's dashboard: every page, for every kind of visitor.

Coalitions A and B are the A/B world of tests/world.py, which the permission matrix reads
too: A is the home of the member and of the coordinator; B is private and nobody's here.
Coalition P, this module's own, publishes its progress, which matters only when the site
opens its dashboard to the public (PUBLIC_DASHBOARD).
"""

from types import SimpleNamespace

import pytest
from django.urls import reverse

from partners.models import ActionPartner
from tests.dashboard.reading import edit_links, html, login_redirect, main_text
from tests.factories import (
    ActionFactory,
    ActionPartnerFactory,
    CoalitionFactory,
    ObjectiveFactory,
    OrganisationFactory,
    PeriodFactory,
    PlanFactory,
    SubObjectiveFactory,
)

pytestmark = pytest.mark.django_db

# Pages that belong to one coalition, and the admin page each one's "Modifier" leads to.
COALITION_PAGES = ["plan", "changes", "action", "organisation"]
EDITABLE_PAGES = {
    "plan": ("admin:plans_plan_change", "plan"),
    "action": ("admin:actions_action_change", "action"),
    "organisation": ("admin:partners_organisation_change", "organisation"),
}
SHARED_PAGES = ["home", "themes", "theme"]
ALL_PAGES = SHARED_PAGES + COALITION_PAGES


@pytest.fixture(autouse=True)
def private_site(settings):
    """The default: only members read; a test that opens the site says so."""
    settings.PUBLIC_DASHBOARD = False
    return settings


def urls_of(side):
    return {
        "plan": reverse("dashboard:plan", args=[side.plan.slug]),
        "changes": reverse("dashboard:changes", args=[side.plan.slug]),
        "action": reverse("dashboard:action", args=[side.plan.slug, side.action.code]),
        "organisation": reverse("dashboard:organisation", args=[side.organisation.pk]),
    }


@pytest.fixture(scope="module")
def published(coalitions, django_db_blocker):
    """Coalition P, which publishes its progress: its plan, one action carried by an
    organisation of no coalition (so that a coordinator of A may change it). Built once, in
    the A/B world's transaction."""
    name = "P"
    with django_db_blocker.unblock():
        coalition = CoalitionFactory(name=f"Coalition {name}", publishes_progress=True)
        plan = PlanFactory(coalition=coalition, title=f"Plan de la coalition {name}")
        period = PeriodFactory(plan=plan, label=f"Période {name}")
        sub_objective = SubObjectiveFactory(
            objective=ObjectiveFactory(plan=plan, number=1), number=1
        )
        action = ActionFactory(
            sub_objective=sub_objective, code="1.1.1", title=f"Action propre à {name}"
        )
        action.periods.set([period])
        action.themes.set([coalitions.theme])
        organisation = OrganisationFactory(name=f"Organisme de {name}")
        ActionPartnerFactory(
            action=action, organisation=organisation, role=ActionPartner.Role.CARRIER
        )
    return SimpleNamespace(
        coalition=coalition,
        plan=plan,
        sub_objective=sub_objective,
        action=action,
        organisation=organisation,
    )


@pytest.fixture
def world(coalitions, published):
    def side(objects):
        return SimpleNamespace(**vars(objects), urls=urls_of(objects))

    theme = coalitions.theme
    world = SimpleNamespace(
        theme=theme,
        a=side(coalitions.sides["A"]),
        b=side(coalitions.sides["B"]),
        p=side(published),
    )
    world.urls = {
        "home": reverse("dashboard:home"),
        "themes": reverse("dashboard:themes"),
        "theme": reverse("dashboard:theme", args=[theme.code]),
    }
    return world


def url(world, page, coalition="a"):
    if page in SHARED_PAGES:
        return world.urls[page]
    return getattr(world, coalition).urls[page]


def edit_urls(world, page, coalition):
    """The admin change pages a page's "Modifier" links lead to; the plan page also edits
    its objectives and sub-objectives, and its reviews (A's and B's plans have one)."""
    side = getattr(world, coalition)
    if page == "plan":
        return [
            reverse("admin:plans_plan_change", args=[side.plan.pk]),
            reverse("admin:plans_objective_change", args=[side.sub_objective.objective.pk]),
            reverse("admin:plans_subobjective_change", args=[side.sub_objective.pk]),
            *(
                reverse("admin:plans_review_change", args=[pk])
                for pk in side.plan.reviews.values_list("pk", flat=True).order_by("pk")
            ),
        ]
    name, attribute = EDITABLE_PAGES[page]
    return [reverse(name, args=[getattr(side, attribute).pk])]


# The A/B world's people; `coordinator` (tests/conftest.py) has the group and no seat.


@pytest.fixture
def member_of_a(coalitions):
    return coalitions.users["member_a"]


@pytest.fixture
def coordinator_of_a(coalitions):
    return coalitions.users["coord_a"]


@pytest.fixture
def superuser(coalitions):
    return coalitions.users["superuser"]


@pytest.fixture
def outsider(coalitions):
    return coalitions.users["outsider"]


def get_as(client, user, path):
    if user is not None:
        client.force_login(user)
    return client.get(path)


# --- Anonymous, on a private site ------------------------------------------------------------


@pytest.mark.parametrize("page", ALL_PAGES)
def test_anonymous_is_sent_to_the_login_page_from_every_page(client, world, page):
    path = url(world, page)

    response = client.get(path)

    assert response.status_code == 302
    assert response.url == login_redirect(path)


def test_login_page_brings_back_to_the_filtered_plan_after_logging_in(client, world):
    path = f"{world.a.urls['plan']}?status=done&q=jardin"

    response = client.get(path)

    assert response.url == login_redirect(path)


@pytest.mark.parametrize("page", ALL_PAGES)
def test_anonymous_never_sees_a_published_coalition_when_the_site_is_private(client, world, page):
    response = client.get(url(world, page, "p"), follow=True)

    assert response.redirect_chain[-1][0].startswith(reverse("login"))
    assert "Plan de la coalition P" not in html(response)
    assert "Action propre à P" not in html(response)


# --- Outsider: an account, no membership -----------------------------------------------------


def test_outsider_home_shows_no_plan_and_says_why(client, outsider, world):
    response = get_as(client, outsider, world.urls["home"])

    assert response.status_code == 200
    text = main_text(response)
    assert "Votre compte n'est rattaché à aucune coalition" in text
    assert "Plan de la coalition" not in text


@pytest.mark.parametrize("coalition", ["a", "b", "p"])
@pytest.mark.parametrize("page", COALITION_PAGES)
def test_outsider_gets_not_found_on_every_coalition_page(client, outsider, world, page, coalition):
    response = get_as(client, outsider, url(world, page, coalition))

    assert response.status_code == 404


def test_outsider_reads_the_themes_but_no_action_under_them(client, outsider, world):
    client.force_login(outsider)

    themes = client.get(world.urls["themes"])
    theme = client.get(world.urls["theme"])

    assert themes.status_code == theme.status_code == 200
    assert "Aucune action rattachée à ce thème pour l'instant." in main_text(themes)
    assert "Aucune action rattachée à ce thème dans les plans que vous pouvez consulter." in (
        main_text(theme)
    )
    assert "Action propre à" not in main_text(theme)


# --- Member of coalition A -------------------------------------------------------------------


@pytest.mark.parametrize("page", ALL_PAGES)
def test_member_reads_every_page_of_her_coalition(client, member_of_a, world, page):
    response = get_as(client, member_of_a, url(world, page, "a"))

    assert response.status_code == 200


@pytest.mark.parametrize("coalition", ["b", "p"])
@pytest.mark.parametrize("page", COALITION_PAGES)
def test_member_gets_not_found_on_another_coalitions_pages(
    client, member_of_a, world, page, coalition
):
    response = get_as(client, member_of_a, url(world, page, coalition))

    assert response.status_code == 404


def test_a_plan_that_does_not_exist_is_not_found_like_a_private_one(client, member_of_a):
    response = get_as(client, member_of_a, reverse("dashboard:plan", args=["pas-de-plan"]))

    assert response.status_code == 404


@pytest.mark.parametrize("page", EDITABLE_PAGES)
def test_member_never_sees_the_edit_link(client, member_of_a, world, page):
    response = get_as(client, member_of_a, url(world, page, "a"))

    assert response.status_code == 200
    assert edit_links(response) == []
    assert "Modifier" not in main_text(response)


def test_member_home_lists_her_plan_and_nothing_private_of_another_coalition(
    client, member_of_a, world
):
    response = get_as(client, member_of_a, world.urls["home"])

    text = main_text(response)
    assert "Plan de la coalition A" in text
    assert "Coalition A" in text
    assert "Plan de la coalition B" not in html(response)
    assert "Coalition B" not in html(response)
    assert world.b.urls["plan"] not in html(response)


def test_member_theme_pages_count_and_list_only_her_coalitions_actions(client, member_of_a, world):
    client.force_login(member_of_a)

    themes = main_text(client.get(world.urls["themes"]))
    theme = main_text(client.get(world.urls["theme"]))

    assert "Accès économique" in themes
    assert "1 action" in themes
    assert "3 actions" not in themes
    assert "Action propre à A" in theme
    assert "Action propre à B" not in theme
    assert "Plan de la coalition B" not in theme


def test_organisation_working_with_two_coalitions_shows_only_the_readable_ones_actions(
    client, member_of_a, world
):
    shared = OrganisationFactory(name="Moisson Laval")
    ActionPartnerFactory(action=world.a.action, organisation=shared)
    ActionPartnerFactory(action=world.b.action, organisation=shared)

    response = get_as(client, member_of_a, reverse("dashboard:organisation", args=[shared.pk]))

    assert response.status_code == 200
    text = main_text(response)
    assert "Action propre à A" in text
    assert "Action propre à B" not in text
    assert "Plan de la coalition B" not in text
    assert "Porteur ou partenaire de 1 action" in text


# --- Coordinator of coalition A --------------------------------------------------------------


@pytest.mark.parametrize("page", EDITABLE_PAGES)
def test_coordinator_sees_the_edit_link_to_the_admin_change_page(
    client, coordinator_of_a, world, page
):
    response = get_as(client, coordinator_of_a, url(world, page, "a"))

    assert response.status_code == 200
    assert edit_links(response) == edit_urls(world, page, "a")


@pytest.mark.parametrize("page", COALITION_PAGES)
def test_coordinator_cannot_even_read_another_coalition(client, coordinator_of_a, world, page):
    response = get_as(client, coordinator_of_a, url(world, page, "b"))

    assert response.status_code == 404


def test_coordinator_without_membership_reads_no_plan(client, coordinator, world):
    """The Coordination group lets her change data in the admin; the dashboard still asks
    for a seat at the coalition."""
    client.force_login(coordinator)

    assert client.get(world.a.urls["plan"]).status_code == 404
    assert "Plan de la coalition A" not in main_text(client.get(world.urls["home"]))


# --- Superuser -------------------------------------------------------------------------------


@pytest.mark.parametrize("coalition", ["a", "b", "p"])
@pytest.mark.parametrize("page", ALL_PAGES)
def test_superuser_reads_every_coalition(client, superuser, world, page, coalition):
    response = get_as(client, superuser, url(world, page, coalition))

    assert response.status_code == 200


@pytest.mark.parametrize("coalition", ["a", "b"])
@pytest.mark.parametrize("page", EDITABLE_PAGES)
def test_superuser_sees_the_edit_link_everywhere(client, superuser, world, page, coalition):
    response = get_as(client, superuser, url(world, page, coalition))

    assert edit_links(response) == edit_urls(world, page, coalition)


def test_superuser_home_lists_every_coalitions_plans(client, superuser, world):
    text = main_text(get_as(client, superuser, world.urls["home"]))

    for name in "ABP":
        assert f"Plan de la coalition {name}" in text


# --- A public site (PUBLIC_DASHBOARD) --------------------------------------------------------


@pytest.fixture
def public_site(private_site):
    private_site.PUBLIC_DASHBOARD = True
    return private_site


@pytest.mark.parametrize("page", ALL_PAGES)
def test_anyone_reads_a_published_coalition_without_logging_in(client, public_site, world, page):
    response = client.get(url(world, page, "p"))

    assert response.status_code == 200
    assert edit_links(response) == []


def test_public_reads_the_published_plan_and_its_actions(client, public_site, world):
    plan = main_text(client.get(world.p.urls["plan"]))
    action = main_text(client.get(world.p.urls["action"]))

    assert "Plan de la coalition P" in plan
    assert "Action propre à P" in plan
    assert "Action propre à P" in action
    assert "Organisme de P" in action


@pytest.mark.parametrize("coalition", ["a", "b"])
@pytest.mark.parametrize("page", COALITION_PAGES)
def test_a_private_coalition_still_asks_to_log_in_on_a_public_site(
    client, public_site, world, page, coalition
):
    path = url(world, page, coalition)

    response = client.get(path)

    assert response.status_code == 302
    assert response.url == login_redirect(path)


def test_public_home_and_themes_show_only_published_coalitions(client, public_site, world):
    home = main_text(client.get(world.urls["home"]))
    theme = main_text(client.get(world.urls["theme"]))

    assert "Plan de la coalition P" in home
    assert "Plan de la coalition A" not in home
    assert "Plan de la coalition B" not in home
    assert "Action propre à P" in theme
    assert "Action propre à A" not in theme
    assert "Action propre à B" not in theme


@pytest.mark.parametrize("page", ["plan", "action"])
def test_coordinator_reads_a_published_coalition_but_may_not_edit_its_plan(
    client, public_site, coordinator_of_a, world, page
):
    response = get_as(client, coordinator_of_a, url(world, page, "p"))

    assert response.status_code == 200
    assert edit_links(response) == []


def test_coordinator_may_edit_an_organisation_of_a_published_coalition(
    client, public_site, coordinator_of_a, world
):
    """Organisations are shared between coalitions: whoever may change organisations in the
    admin gets the link, as the admin lets her in."""
    response = get_as(client, coordinator_of_a, world.p.urls["organisation"])

    assert edit_links(response) == edit_urls(world, "organisation", "p")


def test_member_reads_her_own_and_published_coalitions_but_not_another_private_one(
    client, public_site, member_of_a, world
):
    client.force_login(member_of_a)

    assert client.get(world.a.urls["plan"]).status_code == 200
    assert client.get(world.p.urls["plan"]).status_code == 200
    assert client.get(world.b.urls["plan"]).status_code == 404
    home = main_text(client.get(world.urls["home"]))
    assert "Plan de la coalition A" in home
    assert "Plan de la coalition P" in home
    assert "Plan de la coalition B" not in home
