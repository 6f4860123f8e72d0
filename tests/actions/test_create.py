"""Adding an action as the coordinator does it: the plan first, then only that plan's
sub-objectives and periods, and the next free code proposed; two coordinators saving the
same code at the same instant."""

import re
from types import SimpleNamespace
from urllib.parse import quote

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from actions.models import Action
from plans.models import Membership
from tests.concurrency import PAIRS, fields_of, post_at_once, text, two_coordinators
from tests.factories import (
    ActionFactory,
    CoalitionFactory,
    ObjectiveFactory,
    PeriodFactory,
    PlanFactory,
    SubObjectiveFactory,
)
from tests.helpers import PLAN_PATH, change_form_data, log_in, shoot

ADD = reverse("admin:actions_action_add")
NEXT_CODE = reverse("admin:actions_action_next_code")
CHOOSE = "Ajouter une action : dans quel plan ?"
NOT_YOURS = "Ce plan n'existe pas ou vous ne pouvez pas le modifier"


def plan_with_codes(coalition, title, codes=("1.2.1", "1.2.2", "1.2.3")):
    """A plan with objective 1, sub-objectives 1.1 and 1.2, actions `codes` under 1.2."""
    plan = PlanFactory(coalition=coalition, title=title)
    objective = ObjectiveFactory(plan=plan, number=1)
    first = SubObjectiveFactory(objective=objective, number=1, title=f"Premier de {title}")
    second = SubObjectiveFactory(objective=objective, number=2, title=f"Second de {title}")
    period = PeriodFactory(plan=plan, label=f"Période de {title}")
    for code in codes:
        ActionFactory(sub_objective=second, code=code)
    return SimpleNamespace(plan=plan, first=first, second=second, period=period)


@pytest.fixture
def two_plans(db, coordinator):
    """Two plans of the coordinator's coalition with the same codes, and a plan of another
    coalition."""
    coalition = CoalitionFactory(name="Coalition Ananas")
    Membership.objects.create(coalition=coalition, user=coordinator)
    return SimpleNamespace(
        laval=plan_with_codes(coalition, "Plan Laval"),
        lachine=plan_with_codes(coalition, "Plan Lachine", codes=("1.2.1",)),
        foreign=plan_with_codes(CoalitionFactory(name="Coalition Bergamote"), "Plan Bergamote"),
    )


def choices(response, name):
    field = response.context["adminform"].form.fields[name]
    return {str(label) for value, label in field.choices if str(value)}


# --- The next free code ----------------------------------------------------------------------


@pytest.mark.django_db
def test_next_code_is_one_past_the_highest_of_the_sub_objective(two_plans):
    assert Action.objects.next_code(two_plans.laval.second) == "1.2.4"
    assert Action.objects.next_code(two_plans.laval.first) == "1.1.1"
    # The other plan's codes are its own.
    assert Action.objects.next_code(two_plans.lachine.second) == "1.2.2"


@pytest.mark.django_db
def test_next_code_counts_past_nine_and_skips_deeper_codes_and_gaps(two_plans):
    second = two_plans.lachine.second
    for code in ("1.2.9", "1.2.3.4"):
        ActionFactory(sub_objective=second, code=code)
    assert Action.objects.next_code(second) == "1.2.10"
    ActionFactory(sub_objective=second, code="1.2.10")
    assert Action.objects.next_code(second) == "1.2.11"


# --- The plan first --------------------------------------------------------------------------


def test_with_two_plans_she_chooses_the_plan_first(client, coordinator, two_plans):
    client.force_login(coordinator)
    response = client.get(ADD)
    page = response.content.decode()
    assert CHOOSE in page
    assert f'href="?plan={two_plans.laval.plan.pk}"' in page
    assert f'href="?plan={two_plans.lachine.plan.pk}"' in page
    assert "Plan Bergamote" not in page  # another coalition's


def test_the_plan_choice_keeps_a_popups_parameters(client, coordinator, two_plans):
    """Opened from the "+" of another action's related actions: the form stays a popup."""
    client.force_login(coordinator)
    page = client.get(ADD, {"_to_field": "id", "_popup": "1"}).content.decode()
    assert f'href="?_to_field=id&amp;_popup=1&amp;plan={two_plans.laval.plan.pk}"' in page


def test_with_one_plan_the_form_comes_at_once(client, coordinator, two_plans):
    # Lachine's plan goes to the other coalition: hers is Laval's only.
    lachine = two_plans.lachine.plan
    lachine.coalition = two_plans.foreign.plan.coalition
    lachine.save()
    client.force_login(coordinator)
    response = client.get(ADD)
    assert CHOOSE not in response.content.decode()
    assert choices(response, "sub_objective") == {
        "1.1 Premier de Plan Laval",
        "1.2 Second de Plan Laval",
    }


def test_the_form_offers_only_the_chosen_plans_sub_objectives_and_periods(
    client, coordinator, two_plans
):
    client.force_login(coordinator)
    response = client.get(ADD, {"plan": two_plans.lachine.plan.pk})
    assert choices(response, "sub_objective") == {
        "1.1 Premier de Plan Lachine",
        "1.2 Second de Plan Lachine",
    }
    assert choices(response, "periods") == {"Période de Plan Lachine"}
    coalition = two_plans.lachine.plan.coalition
    assert f"Plan : {coalition} · Plan Lachine" in text_of(response)


def test_the_list_filtered_by_plan_opens_the_form_of_that_plan(client, coordinator, two_plans):
    """The list's "Ajouter" link carries its filters; the plan filter chooses the plan."""
    client.force_login(coordinator)
    filters = quote(f"plan__id__exact={two_plans.laval.plan.pk}")
    response = client.get(f"{ADD}?_changelist_filters={filters}")
    assert choices(response, "periods") == {"Période de Plan Laval"}


def test_the_plan_page_links_to_adding_an_action_to_it(client, coordinator, two_plans):
    client.force_login(coordinator)
    plan = two_plans.laval.plan
    page = client.get(reverse("admin:plans_plan_change", args=[plan.pk])).content.decode()
    assert f'href="{ADD}?plan={plan.pk}"' in page


@pytest.mark.parametrize("asked", ["foreign", "abc", "99999999", "9" * 40, "-1"])
def test_another_coalitions_plan_or_a_bad_id_asks_for_a_plan(
    client, coordinator, two_plans, asked
):
    client.force_login(coordinator)
    plan = two_plans.foreign.plan.pk if asked == "foreign" else asked
    before = Action.objects.count()
    response = client.get(ADD, {"plan": plan})
    page = text_of(response)
    assert response.status_code == 200
    assert NOT_YOURS in page and CHOOSE in page
    assert "Plan Bergamote" not in page
    # Posting to it writes nothing either.
    response = client.post(f"{ADD}?plan={plan}", {"sub_objective": two_plans.foreign.second.pk})
    assert NOT_YOURS in text_of(response)
    assert Action.objects.count() == before


# --- The code proposed, kept, refused --------------------------------------------------------


def test_the_sub_objective_in_the_address_proposes_its_next_code(client, coordinator, two_plans):
    client.force_login(coordinator)
    laval = two_plans.laval
    response = client.get(ADD, {"plan": laval.plan.pk, "sub_objective": laval.second.pk})
    form = response.context["adminform"].form
    assert form["sub_objective"].value() == str(laval.second.pk)
    assert form["code"].value() == "1.2.4"


def test_the_next_code_address_answers_for_her_sub_objectives_only(client, coordinator, two_plans):
    client.force_login(coordinator)
    answer = client.get(NEXT_CODE, {"sub_objective": two_plans.laval.second.pk})
    assert answer.json() == {"code": "1.2.4"}
    for hostile in (two_plans.foreign.second.pk, "abc", "9" * 40, ""):
        answer = client.get(NEXT_CODE, {"sub_objective": hostile})
        assert answer.status_code == 404
        assert answer.json() == {"error": "Sous-objectif introuvable."}


def add_form(client, plan, **changes):
    """The add form of `plan` as rendered, with `changes`."""
    data = change_form_data(client.get(ADD, {"plan": plan.pk}))
    # Lists with nothing chosen: a browser posts nothing for them.
    data = {name: value for name, value in data.items() if value != ""}
    data.update(changes)
    return data


def test_an_empty_code_takes_the_next_free_one(client, coordinator, two_plans):
    client.force_login(coordinator)
    laval = two_plans.laval
    data = add_form(
        client,
        laval.plan,
        sub_objective=laval.second.pk,
        code="",
        title="Jardins",
        periods=[laval.period.pk],
    )
    response = client.post(f"{ADD}?plan={laval.plan.pk}", data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    action = Action.objects.get(plan=laval.plan, code="1.2.4")
    assert action.title == "Jardins"
    assert list(action.periods.all()) == [laval.period]
    assert action.history.latest().history_user == coordinator


def test_a_code_she_types_is_kept(client, coordinator, two_plans):
    client.force_login(coordinator)
    laval = two_plans.laval
    data = add_form(client, laval.plan, sub_objective=laval.second.pk, code="1.2.9", title="X")
    assert client.post(f"{ADD}?plan={laval.plan.pk}", data).status_code == 302
    assert Action.objects.filter(plan=laval.plan, code="1.2.9").exists()


def test_a_taken_code_is_refused_with_the_next_free_one(client, coordinator, two_plans):
    client.force_login(coordinator)
    laval = two_plans.laval
    data = add_form(client, laval.plan, sub_objective=laval.second.pk, code="1.2.2", title="X")
    response = client.post(f"{ADD}?plan={laval.plan.pk}", data)
    assert response.status_code == 200
    assert (
        "Le code 1.2.2 est déjà pris dans ce plan (quelqu'un vient peut-être de l'enregistrer). "
        "Le prochain code libre est 1.2.4." in text_of(response)
    )
    assert Action.objects.filter(plan=laval.plan).count() == 3


def test_the_same_code_in_another_plan_is_free(client, coordinator, two_plans):
    client.force_login(coordinator)
    lachine = two_plans.lachine
    data = add_form(client, lachine.plan, sub_objective=lachine.second.pk, code="1.2.3", title="X")
    assert client.post(f"{ADD}?plan={lachine.plan.pk}", data).status_code == 302
    assert Action.objects.filter(code="1.2.3").count() == 3  # Laval's, Bergamote's, this one


def test_a_code_outside_the_sub_objective_is_refused(client, coordinator, two_plans):
    client.force_login(coordinator)
    laval = two_plans.laval
    data = add_form(client, laval.plan, sub_objective=laval.second.pk, code="3.1.1", title="X")
    response = client.post(f"{ADD}?plan={laval.plan.pk}", data)
    assert "il doit commencer par 1.2." in text_of(response)
    assert not Action.objects.filter(code="3.1.1").exists()


def test_a_sub_objective_of_another_plan_is_refused(client, coordinator, two_plans):
    client.force_login(coordinator)
    laval, lachine = two_plans.laval, two_plans.lachine
    for sub_objective in (lachine.second.pk, two_plans.foreign.second.pk, "abc"):
        data = add_form(client, laval.plan, sub_objective=sub_objective, code="", title="X")
        response = client.post(f"{ADD}?plan={laval.plan.pk}", data)
        assert response.status_code == 200
        assert "Sélectionnez un choix valide" in text_of(response)
    assert Action.objects.filter(title="X").count() == 0


def test_save_and_add_another_stays_in_the_plan_and_sub_objective(client, coordinator, two_plans):
    client.force_login(coordinator)
    laval = two_plans.laval
    data = add_form(client, laval.plan, sub_objective=laval.second.pk, title="X", _addanother="1")
    response = client.post(f"{ADD}?plan={laval.plan.pk}", data, follow=True)
    form = response.context["adminform"].form
    assert form["sub_objective"].value() == str(laval.second.pk)
    assert form["code"].value() == "1.2.5"  # 1.2.4 was just added
    assert "L'action « 1.2.4 X » a été ajoutée." in text_of(response)


def text_of(response):
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split()).replace(
        "&#x27;", "'"
    )


# --- Two coordinators at the same instant ----------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_coordinators_saving_the_same_code_at_once(live_server, django_user_model):
    """Both open the add form of the same sub-objective, keep the proposed code, and save at
    the same instant: one action is added, the other page says the code was just taken and
    which one is free, with her title still in the form."""
    laval = plan_with_codes(CoalitionFactory(), "Plan Laval")
    url = f"{ADD}?plan={laval.plan.pk}&sub_objective={laval.second.pk}"
    with two_coordinators(live_server, django_user_model, laval.plan.coalition) as (
        users,
        browsers,
    ):
        for pair in range(PAIRS):
            pages = [browser.request("GET", url) for browser in browsers]
            titles = [f"Action [{user.username} {pair}]" for user in users]
            posts = [
                fields_of(page, "action_form", title=title)
                for page, title in zip(pages, titles, strict=True)
            ]
            code = dict(posts[0])["code"]
            assert code == dict(posts[1])["code"] == f"1.2.{4 + pair}"
            responses = post_at_once(browsers, url, posts)

            statuses = sorted(response.status for response in responses)
            assert statuses == [200, 302], [text(r)[:3000] for r in responses]
            refused = next(r for r in responses if r.status == 200)
            saved = Action.objects.get(plan=laval.plan, code=code)
            assert saved.title in titles
            assert (
                f"Le code {code} est déjà pris dans ce plan (quelqu'un vient peut-être de "
                f"l'enregistrer). Le prochain code libre est 1.2.{5 + pair}." in text(refused)
            )
            assert titles[1 - titles.index(saved.title)] in refused.text


# --- In the browser: the seeded CASAL plan ---------------------------------------------------


def test_in_the_browser_the_code_follows_the_sub_objective(page, casal):
    """The CASAL coordinator has one plan: "Ajouter" opens its form; choosing 1.2 proposes
    the next code of 1.2, and a code she typed is left alone."""
    log_in(page, casal.coordinator, PLAN_PATH)
    page.goto("/admin/actions/action/")
    page.get_by_role("link", name="Ajouter une action").click()
    expect(page.get_by_text("Plan : CASAL")).to_be_visible()
    second = casal_sub_objective("1.2")
    page.locator("#id_sub_objective").select_option(str(second.pk))
    expect(page.locator("#id_code")).to_have_value(Action.objects.next_code(second))
    shoot(page, "action-add-code-proposed")
    page.locator("#id_code").fill("1.2.42")
    page.locator("#id_sub_objective").select_option(str(casal_sub_objective("1.1").pk))
    page.wait_for_timeout(300)  # the script would have answered by now
    expect(page.locator("#id_code")).to_have_value("1.2.42")


def casal_sub_objective(code):
    from plans.models import SubObjective

    objective, number = code.split(".")
    return SubObjective.objects.get(
        objective__plan__slug="casal-2016-2020",
        objective__number=objective,
        number=number,
    )


CHOOSER_MAX_QUERIES = 8


@pytest.mark.django_db
def test_the_plan_choice_queries_do_not_grow(client, coordinator, django_assert_max_num_queries):
    coalition = CoalitionFactory()
    Membership.objects.create(coalition=coalition, user=coordinator)
    client.force_login(coordinator)
    counts = []
    for size in (2, 20):
        PlanFactory.create_batch(size, coalition=coalition)
        with django_assert_max_num_queries(CHOOSER_MAX_QUERIES) as captured:
            response = client.get(ADD)
        assert response.content.decode().count('href="?plan=') == len(counts) * 2 + size
        counts.append(len(captured))
    assert counts[0] == counts[1]
