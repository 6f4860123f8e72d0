"""What members read on each dashboard page: the plans and their progress, the plan's outline
with its schedule and filters, an action's whole story, an organisation's and a theme's
actions, a strategic plan's review; and how many queries each page costs."""

import datetime
import re
from decimal import Decimal
from html import unescape
from types import SimpleNamespace

import pytest
from django.urls import reverse
from django.utils import timezone

from actions.models import Action, Target
from actions.services import change_status
from partners.models import ActionPartner
from plans.models import (
    Assembly,
    Membership,
    Plan,
    Review,
    ReviewFunding,
    ReviewItem,
    ReviewMeeting,
    ReviewStaff,
)
from tests.dashboard.reading import (
    action_rows,
    element,
    elements,
    french_date,
    html,
    main_text,
    shown_codes,
    status_counts,
    words,
)
from tests.factories import (
    ActionFactory,
    ActionPartnerFactory,
    CoalitionFactory,
    ObjectiveFactory,
    OrganisationFactory,
    PeriodFactory,
    PlanFactory,
    SubObjectiveFactory,
    TargetFactory,
    TargetValueFactory,
    ThemeFactory,
)
from tests.helpers import query_counts

pytestmark = pytest.mark.django_db

HOME = reverse("dashboard:home")
THEMES = reverse("dashboard:themes")
NBSP = "\xa0"


def plan_url(plan, query=""):
    return reverse("dashboard:plan", args=[plan.slug]) + query


def action_url(action):
    return reverse("dashboard:action", args=[action.plan.slug, action.code])


def rows_of(response, css_class):
    """The words of each table row with that class, in page order."""
    return [words(row) for row in elements(response, "tr", css_class)]


def row_words(response, starting_with):
    return next(row for row in rows_of(response, "objective-row") if row.startswith(starting_with))


def schedule_cells(row):
    """[(is the current period, is scheduled)] for each period column of an action row."""
    cells = re.findall(r'<td class="schedule( current)?">(.*?)</td>', row, flags=re.S)
    return [(bool(current), ">X<" in content) for current, content in cells]


def card_of(response, title):
    """The HTML of the card (a plan on the home page, a theme) whose words start with `title`."""
    return next(
        card for card in elements(response, "li", "plan-card") if words(card).startswith(title)
    )


def timeline(response, kind):
    """The words of each change of that kind in the page's timeline."""
    return [words(change) for change in elements(response, "li", f"change-{kind}")]


# --- The plan everyone reads -----------------------------------------------------------------


@pytest.fixture
def casal(db):
    """A plan whose six actions each stand out for one thing a reader looks for."""
    today = timezone.localdate()
    coalition = CoalitionFactory(name="Comité d'action en sécurité alimentaire de Laval")
    plan = PlanFactory(
        coalition=coalition,
        title="Plan d'action opérationnel du CASAL",
        start=datetime.date(2016, 4, 1),
        end=datetime.date(2092, 3, 31),
    )
    ended = PeriodFactory(
        plan=plan,
        label="2016-2018",
        start=datetime.date(2016, 4, 1),
        end=datetime.date(2018, 3, 31),
    )
    current = PeriodFactory(
        plan=plan,
        label="Cette année",
        start=today - datetime.timedelta(days=30),
        end=today + datetime.timedelta(days=300),
    )
    future = PeriodFactory(
        plan=plan,
        label="2090-2091",
        start=datetime.date(2090, 4, 1),
        end=datetime.date(2091, 3, 31),
    )
    access = ObjectiveFactory(plan=plan, number=1, title="Améliorer l'accès")
    supply = ObjectiveFactory(plan=plan, number=2, title="Soutenir l'offre alimentaire")
    gardens = SubObjectiveFactory(objective=access, number=1, title="Jardins et glanage")
    shops = SubObjectiveFactory(objective=supply, number=1, title="Commerces de proximité")
    theme = ThemeFactory(name="Accès physique")
    ThemeFactory(name="Transformation alimentaire")
    market = OrganisationFactory(name="Marché solidaire de Laval", short_name="MSL")
    school = OrganisationFactory(name="Centre de services scolaire de Laval", short_name="CSSDL")

    def action(sub, code, title, status, periods, **fields):
        created = ActionFactory(sub_objective=sub, code=code, title=title, status=status, **fields)
        created.periods.set(periods)
        return created

    mapping = action(
        gardens,
        "1.1.1",
        "Cartographier les jardins collectifs",
        Action.Status.IN_PROGRESS,
        [current],
        completion=40,
    )
    mapping.themes.set([theme])
    ActionPartnerFactory(
        action=mapping,
        organisation=market,
        role=ActionPartner.Role.CARRIER,
        confirmation=ActionPartner.Confirmation.CONFIRMED_MEMBER,
    )
    training = action(
        gardens,
        "1.1.2",
        "Former les bénévoles",
        Action.Status.IN_PROGRESS,
        [current],
        completion=80,
        means="Ateliers de glanage urbain.",
    )
    greenhouse = action(
        gardens, "1.1.3", "Bâtir une serre", Action.Status.ABANDONED, [ended], completion=10
    )
    mobile = action(
        shops, "2.1.1", "Lancer une épicerie mobile", Action.Status.IN_PROGRESS, [ended]
    )
    ActionPartnerFactory(
        action=mobile,
        organisation=school,
        role=ActionPartner.Role.PARTNER,
        confirmation=ActionPartner.Confirmation.MEMBER_TO_VALIDATE,
    )
    directory = action(shops, "2.1.2", "Publier un bottin", Action.Status.DONE, [ended])
    public_market = action(
        shops, "2.1.3", "Ouvrir un marché public", Action.Status.PLANNED, [future]
    )
    return SimpleNamespace(
        coalition=coalition,
        plan=plan,
        ended=ended,
        current=current,
        future=future,
        access=access,
        supply=supply,
        theme=theme,
        market=market,
        school=school,
        mapping=mapping,
        training=training,
        greenhouse=greenhouse,
        mobile=mobile,
        directory=directory,
        public_market=public_market,
    )


@pytest.fixture
def reader(client, member, casal):
    """A member of the CASAL, on behalf of the Marché solidaire."""
    Membership.objects.create(coalition=casal.coalition, user=member, organisation=casal.market)
    client.force_login(member)
    return client


# --- Home ------------------------------------------------------------------------------------


def test_home_lists_the_members_plans_with_progress_and_counts_by_status(reader, casal):
    other = PlanFactory(coalition=casal.coalition, title="Plan stratégique 2021-2026")

    response = reader.get(HOME)

    assert response.status_code == 200
    card = card_of(response, "Plan d'action opérationnel du CASAL")
    text = words(card)
    # The counts first, then the estimate: 40 and 80 typed, 50 for the action in progress
    # that nobody reported, 100 done, 0 planned; the abandoned action stays out of it.
    assert "1 réalisée, 3 en cours, 1 à venir, 1 abandonnée — sur 6 actions" in text
    assert text.index("sur 6 actions") < text.index(f"Avancement estimé 54{NBSP}%")
    assert "Estimation : une action réalisée compte pour 100" in text
    assert "Dont 2 actions avec un avancement déclaré." in text
    assert status_counts(card) == {
        "À venir": 1,
        "En cours": 3,
        "Réalisée": 1,
        "Reportée": 0,
        "Abandonnée": 1,
    }
    assert "En retard 1" in text
    assert f'href="{plan_url(casal.plan)}"' in card
    assert f'href="{reverse("dashboard:changes", args=[casal.plan.slug])}"' in card
    assert "Aucune action pour l'instant." in words(card_of(response, other.title))


def test_home_names_the_last_assembly_held_and_the_members_organisation(reader, casal):
    Assembly.objects.create(coalition=casal.coalition, date=datetime.date(2019, 6, 12))
    Assembly.objects.create(coalition=casal.coalition, date=datetime.date(2090, 6, 12))

    response = reader.get(HOME)

    text = main_text(response)
    assert "Dernière assemblée : 12 juin 2019" in text
    assert "12 juin 2090" not in text
    assert "Mon organisme : Marché solidaire de Laval" in text
    assert reverse("dashboard:organisation", args=[casal.market.pk]) in html(response)


def test_home_link_to_my_organisation_opens_even_before_it_carries_an_action(
    client, member, casal
):
    newcomer = OrganisationFactory(name="Moisson Laval")
    Membership.objects.create(coalition=casal.coalition, user=member, organisation=newcomer)
    client.force_login(member)
    link = reverse("dashboard:organisation", args=[newcomer.pk])

    home = client.get(HOME)
    page = client.get(link)

    assert f'<a href="{link}">Moisson Laval</a>' in html(home)
    assert page.status_code == 200
    assert (
        "Cette organisation n'est liée à aucune action des plans que vous pouvez consulter."
        in (main_text(page))
    )


# --- The plan --------------------------------------------------------------------------------


def outline_of(response):
    """The plan table read top to bottom: [(objective, [(sub-objective, {action codes})])]."""
    outline = []
    for tbody in elements(response, "tbody", "objective"):
        objective = words(element(tbody, "tr", "objective-row")).split(" · ")[0]
        subs = []
        for part in tbody.split('<tr class="sub-objective-row">')[1:]:
            sub = words(part.split("</th>")[0]).split(" · ")[0]
            subs.append((sub, shown_codes(part)))
        outline.append((objective, subs))
    return outline


def test_plan_shows_objectives_then_sub_objectives_then_their_actions(reader, casal):
    response = reader.get(plan_url(casal.plan))

    assert response.status_code == 200
    assert outline_of(response) == [
        ("OBJECTIF 1", [("1.1", {"1.1.1", "1.1.2", "1.1.3"})]),
        ("OBJECTIF 2", [("2.1", {"2.1.1", "2.1.2", "2.1.3"})]),
    ]
    text = main_text(response)
    assert "OBJECTIF 1 · Améliorer l'accès" in text
    assert "1.1 · Jardins et glanage" in text
    assert "1.1.1 Cartographier les jardins collectifs" in text
    assert "6 actions." in text


def test_plan_lists_actions_in_code_order_whatever_order_they_were_entered(reader, casal):
    sub_objective = SubObjectiveFactory(objective=casal.supply, number=2, title="Marchés")
    for code in ["2.2.10", "2.2.2", "2.2.1"]:
        ActionFactory(sub_objective=sub_objective, code=code, title=f"Action {code}")

    response = reader.get(plan_url(casal.plan))

    assert list(action_rows(response)) == [
        "1.1.1",
        "1.1.2",
        "1.1.3",
        "2.1.1",
        "2.1.2",
        "2.1.3",
        "2.2.1",
        "2.2.2",
        "2.2.10",
    ]


def test_plan_shows_each_status_in_words(reader, casal):
    rows = action_rows(reader.get(plan_url(casal.plan)))

    badges = {
        code: re.search(r'<span class="status-badge status-(\w+)">([^<]+)</span>', row).groups()
        for code, row in rows.items()
    }
    assert badges == {
        "1.1.1": ("in_progress", "En cours"),
        "1.1.2": ("in_progress", "En cours"),
        "1.1.3": ("abandoned", "Abandonnée"),
        "2.1.1": ("in_progress", "En cours"),
        "2.1.2": ("done", "Réalisée"),
        "2.1.3": ("planned", "À venir"),
    }


def test_objective_progress_is_the_average_of_its_actions_without_the_abandoned_one(reader, casal):
    response = reader.get(plan_url(casal.plan))

    # 40 and 80; the abandoned greenhouse (typed 10 %) is left out of the average.
    assert row_words(response, "OBJECTIF 1") == (
        f"OBJECTIF 1 · Améliorer l'accès 60{NBSP}% 3 actions"
    )
    # 50 (in progress, nothing typed), 100 (done) and 0 (planned).
    assert row_words(response, "OBJECTIF 2") == (
        f"OBJECTIF 2 · Soutenir l'offre alimentaire 50{NBSP}% 3 actions · 1 en retard"
    )
    assert (
        rows_of(response, "sub-objective-row")[0]
        == f"1.1 · Jardins et glanage 60{NBSP}% 3 actions"
    )
    greenhouse = words(action_rows(response)["1.1.3"])
    assert "sans avancement" in greenhouse


def test_plan_summary_counts_by_status_then_estimates_with_its_rule(reader, casal):
    response = reader.get(plan_url(casal.plan))

    summary = words(element(response, "section", "summary"))
    assert summary.startswith(
        "Où en est le plan 1 réalisée, 3 en cours, 1 à venir, 1 abandonnée — sur 6 actions "
        f"Avancement estimé 54{NBSP}% Estimation : une action réalisée compte pour 100{NBSP}%"
    )
    assert "moyen" not in summary


def test_an_action_nobody_reported_shows_the_progress_its_status_implies_as_estimated(
    reader, casal
):
    rows = action_rows(reader.get(plan_url(casal.plan)))

    # In progress, nothing typed: half-way, marked as an estimate; typed: shown plainly.
    assert f"≈{NBSP} 50{NBSP}% (estimé d'après le statut)" in words(rows["2.1.1"])
    assert 'title="estimé d\'après le statut"' in unescape(rows["2.1.1"])
    assert f"40{NBSP}%" in words(rows["1.1.1"])
    assert "estimé" not in rows["1.1.1"]
    assert "≈" not in words(rows["2.1.2"])  # done: 100 %, settled by the status


def test_schedule_grid_marks_the_planned_periods_and_highlights_the_current_one(reader, casal):
    response = reader.get(plan_url(casal.plan))

    headers = re.findall(r'<th scope="col" class="schedule( current)?">(.*?)</th>', html(response))
    assert [(bool(current), words(label)) for current, label in headers] == [
        (False, "2016-2018"),
        (True, "Cette année (en cours)"),
        (False, "2090-2091"),
    ]
    rows = action_rows(response)
    assert schedule_cells(rows["1.1.1"]) == [(False, False), (True, True), (False, False)]
    assert schedule_cells(rows["2.1.1"]) == [(False, True), (True, False), (False, False)]
    assert schedule_cells(rows["2.1.3"]) == [(False, False), (True, False), (False, True)]
    assert "prévue en Cette année" in words(rows["1.1.1"])


def test_no_column_is_highlighted_when_today_is_in_no_period(reader, casal):
    casal.current.delete()

    response = reader.get(plan_url(casal.plan))

    assert "current" not in html(response).split('<table class="plan-table">')[1]
    assert "(en cours)" not in main_text(response)


def test_an_open_action_whose_last_period_has_ended_is_flagged_late(reader, casal):
    rows = action_rows(reader.get(plan_url(casal.plan)))

    late = {code for code, row in rows.items() if "En retard" in words(row)}
    assert late == {"2.1.1"}  # done 2.1.2 and abandoned 1.1.3 ended too, but are closed
    assert rows["2.1.1"].startswith('<tr class="action-row is-late">')


def test_plan_rows_show_partners_in_short_with_role_and_confirmation_in_words(reader, casal):
    rows = action_rows(reader.get(plan_url(casal.plan)))

    assert "MSL (porteur) – Membre confirmé" in words(rows["1.1.1"])
    assert "CSSDL (partenaire) – Membre à valider" in words(rows["2.1.1"])
    assert f'href="{reverse("dashboard:organisation", args=[casal.market.pk])}"' in rows["1.1.1"]


@pytest.mark.parametrize(
    ("query", "shown"),
    [
        pytest.param(lambda c: {"status": "done"}, {"2.1.2"}, id="status"),
        pytest.param(lambda c: {"period": c.current.pk}, {"1.1.1", "1.1.2"}, id="period"),
        pytest.param(
            lambda c: {"objective": c.supply.pk}, {"2.1.1", "2.1.2", "2.1.3"}, id="objective"
        ),
        pytest.param(lambda c: {"organisation": c.school.pk}, {"2.1.1"}, id="organisation"),
        pytest.param(lambda c: {"theme": c.theme.pk}, {"1.1.1"}, id="theme"),
        pytest.param(lambda c: {"late": "on"}, {"2.1.1"}, id="late"),
        pytest.param(lambda c: {"q": "jardins"}, {"1.1.1"}, id="search-title"),
        pytest.param(lambda c: {"q": "glanage"}, {"1.1.2"}, id="search-means"),
        pytest.param(lambda c: {"q": "2.1"}, {"2.1.1", "2.1.2", "2.1.3"}, id="search-code"),
        pytest.param(
            lambda c: {"objective": c.supply.pk, "status": "in_progress"},
            {"2.1.1"},
            id="two-filters",
        ),
    ],
)
def test_each_filter_narrows_the_actions_shown(reader, casal, query, shown):
    response = reader.get(plan_url(casal.plan), query(casal))

    assert response.status_code == 200
    assert shown_codes(response) == shown
    count = words(element(response, "p", "shown-count"))
    verb = "correspond" if len(shown) == 1 else "correspondent"
    assert re.fullmatch(rf"{len(shown)} actions? sur 6 {verb} aux filtres\.", count)


def test_a_filtered_plan_has_its_own_address_that_keeps_the_choice(reader, casal):
    """A GET form: the address of the filtered page can be shared, and reopens the same."""
    address = plan_url(casal.plan, f"?status=in_progress&theme={casal.theme.pk}")

    response = reader.get(address)

    content = html(response)
    assert re.search(r'<form method="get" class="filters"', content)
    assert '<option value="in_progress" selected>En cours</option>' in content
    assert f'<option value="{casal.theme.pk}" selected>Accès physique</option>' in content
    assert shown_codes(response) == {"1.1.1"}
    assert f'<a href="{plan_url(casal.plan)}">Tout afficher</a>' in content


def test_filtering_leaves_out_objectives_with_no_matching_action(reader, casal):
    response = reader.get(plan_url(casal.plan), {"objective": casal.supply.pk})

    text = main_text(response)
    assert "Soutenir l'offre alimentaire" in text
    assert "Améliorer l'accès 0" not in text
    assert [row.split(" · ")[0] for row in rows_of(response, "objective-row")] == ["OBJECTIF 2"]


def test_a_filter_matching_nothing_says_so(reader, casal):
    response = reader.get(plan_url(casal.plan), {"q": "introuvable"})

    assert shown_codes(response) == set()
    assert "Aucune action ne correspond à ces filtres." in main_text(response)


@pytest.mark.parametrize(
    "query",
    [
        pytest.param({"status": "perdu"}, id="unknown-status"),
        pytest.param({"period": "abc"}, id="period-not-a-number"),
        pytest.param({"period": "999999"}, id="period-of-no-plan"),
        pytest.param({"objective": "-1"}, id="unknown-objective"),
        pytest.param({"organisation": "1.5"}, id="organisation-not-an-integer"),
        pytest.param({"theme": "x"}, id="theme-not-a-number"),
    ],
)
def test_an_invalid_filter_value_is_ignored(reader, casal, query):
    response = reader.get(plan_url(casal.plan), query)

    assert response.status_code == 200
    assert len(shown_codes(response)) == 6
    assert "6 actions." in main_text(response)


def test_an_invalid_filter_does_not_cancel_the_valid_ones(reader, casal):
    response = reader.get(plan_url(casal.plan), {"status": "perdu", "objective": casal.supply.pk})

    assert shown_codes(response) == {"2.1.1", "2.1.2", "2.1.3"}


def test_a_filter_by_another_plans_organisation_is_ignored(reader, casal):
    stranger = OrganisationFactory(name="Organisme d'ailleurs")
    ActionPartnerFactory(organisation=stranger)

    response = reader.get(plan_url(casal.plan), {"organisation": stranger.pk})

    assert len(shown_codes(response)) == 6


def test_plan_offers_what_the_members_organisation_carries(reader, casal):
    response = reader.get(plan_url(casal.plan))

    link = f'<a href="?organisation={casal.market.pk}">'
    assert f"{link}Ce que Marché solidaire de Laval porte ou appuie</a>" in html(response)


def test_plan_offers_no_shortcut_for_an_organisation_absent_from_it(client, member, casal):
    """The shortcut would filter on an organisation the filter does not know: ignored, it
    would show every action under "what Moisson Laval carries"."""
    newcomer = OrganisationFactory(name="Moisson Laval")
    Membership.objects.create(coalition=casal.coalition, user=member, organisation=newcomer)
    client.force_login(member)

    response = client.get(plan_url(casal.plan))
    shortcut = client.get(plan_url(casal.plan, f"?organisation={newcomer.pk}"))

    assert len(shown_codes(shortcut)) == 6  # an organisation the plan does not know: ignored
    assert "Ce que Moisson Laval porte ou appuie" not in main_text(response)


def test_one_matching_action_is_counted_in_the_singular(reader, casal):
    response = reader.get(plan_url(casal.plan), {"status": "done"})

    assert "1 action sur 6 correspond aux filtres." in main_text(response)


# --- An action -------------------------------------------------------------------------------


def test_action_page_shows_means_status_schedule_and_late_flag(reader, casal):
    response = reader.get(action_url(casal.training))

    assert response.status_code == 200
    text = main_text(response)
    assert "1.1.2 Former les bénévoles" in text
    assert "En cours" in text
    assert f"Avancement 80{NBSP}%" in text
    assert "Moyens d'action et conditions de réalisation Ateliers de glanage urbain." in text
    assert "En retard" not in text
    schedule = element(response, "table", "schedule-mini")
    assert schedule_cells(schedule) == [(False, False), (True, True), (False, False)]
    assert "En retard" in main_text(reader.get(action_url(casal.mobile)))


def test_action_page_shows_each_targets_latest_value_against_the_target(reader, casal):
    count = TargetFactory(
        action=casal.mapping,
        description="Jardins répertoriés",
        kind=Target.Kind.COUNT,
        unit="jardins",
        target_value=40,
        order=1,
    )
    TargetValueFactory(target=count, value=12, date=datetime.date(2024, 5, 1))
    TargetValueFactory(target=count, value=30, date=datetime.date(2025, 2, 3), note="Saison 2")
    TargetFactory(action=casal.mapping, description="Carte publiée", is_done=True, order=2)
    TargetFactory(action=casal.mapping, description="Bilan écrit", order=3)

    response = reader.get(action_url(casal.mapping))

    rows = {
        words(row).split(" ")[0]: words(row)
        for row in re.findall(
            r"<tr>\s*<th scope=\"row\">.*?</tr>",
            element(response, "table", "targets"),
            flags=re.S,
        )
    }
    assert rows["Jardins"] == (
        f"Jardins répertoriés 40 jardins 30 jardins (3 février 2025) 75{NBSP}% "
        "Valeurs précédentes 1er mai 2024 : 12"
    )
    assert rows["Carte"] == "Carte publiée Livrable ✓ Livré"
    assert rows["Bilan"] == "Bilan écrit Livrable Pas encore livré"


def test_action_page_shows_partner_chips_with_their_confirmation_in_words(reader, casal):
    ActionPartnerFactory(
        action=casal.mapping,
        organisation=casal.school,
        role=ActionPartner.Role.PARTNER,
        confirmation=ActionPartner.Confirmation.POTENTIAL,
        last_contact=datetime.date(2025, 1, 15),
    )

    response = reader.get(action_url(casal.mapping))

    partners = element(response, "ul", "partner-list")
    items = [words(item) for item in re.findall(r"<li>.*?</li>", partners, flags=re.S)]
    assert items == [
        "Marché solidaire de Laval (porteur) – Membre confirmé",
        "Centre de services scolaire de Laval (partenaire) – Collaborateur potentiel "
        "(à solliciter ou valider) dernier contact : 15 janvier 2025",
    ]
    assert 'title="Membre confirmé (noir)"' in partners


def test_action_page_links_the_related_actions(reader, casal):
    casal.mapping.related_actions.add(casal.public_market)

    response = reader.get(action_url(casal.mapping))

    assert (
        f'<a href="{action_url(casal.public_market)}">2.1.3 Ouvrir un marché public</a>'
        in html(response)
    )


def test_action_timeline_tells_a_status_change_with_before_after_author_and_date(
    reader, casal, coordinator
):
    change_status(
        action=casal.mobile,
        status=Action.Status.POSTPONED,
        user=coordinator,
        reason="Le camion n'est pas financé.",
        date=datetime.date(2025, 3, 5),
        without_date=True,
    )

    response = reader.get(action_url(casal.mobile))

    assert timeline(response, "status") == [
        "5 mars 2025 · coordo Statut : En cours → Reportée Le camion n'est pas financé. "
        "Reportée sans nouvelle date."
    ]


def test_action_timeline_tells_a_field_change_from_history(reader, casal, coordinator):
    casal.directory.title = "Publier un bottin des ressources"
    casal.directory._history_user = coordinator
    casal.directory.save()

    response = reader.get(action_url(casal.directory))

    changes = timeline(response, "action")
    today = timezone.localdate()
    assert changes[0] == (
        f"{french_date(today)} · coordo Action modifiée "
        "Titre avant : Publier un bottin → après : Publier un bottin des ressources"
    )
    assert changes[-1].endswith("Action ajoutée au plan")


# --- Organisation and themes -----------------------------------------------------------------


def test_organisation_page_lists_its_actions_across_plans_with_its_role(reader, casal):
    strategic = PlanFactory(coalition=casal.coalition, title="Plan stratégique 2021-2026")
    sub = SubObjectiveFactory(objective=ObjectiveFactory(plan=strategic, number=1), number=1)
    later = ActionFactory(sub_objective=sub, code="1.1.1", title="Animer un marché d'hiver")
    ActionPartnerFactory(
        action=later,
        organisation=casal.market,
        role=ActionPartner.Role.PARTNER,
        confirmation=ActionPartner.Confirmation.CONFIRMED_COLLABORATOR,
    )

    response = reader.get(reverse("dashboard:organisation", args=[casal.market.pk]))

    assert response.status_code == 200
    text = main_text(response)
    assert "Porteur de 1 action, partenaire de 1" in text
    rows = [
        words(row)
        for row in re.findall(r"<tr>\s*<th scope=\"row\">.*?</tr>", html(response), flags=re.S)
    ]
    assert (
        f"1.1.1 Cartographier les jardins collectifs Porteur · Membre confirmé En cours 40{NBSP}%"
        in rows
    )
    assert (
        "1.1.1 Animer un marché d'hiver Partenaire · Collaborateur confirmé À venir "
        f"≈{NBSP} 0{NBSP}% (estimé d'après le statut)" in rows
    )
    for plan in (casal.plan, strategic):
        assert f'href="{plan_url(plan)}?organisation={casal.market.pk}"' in html(response)


def test_organisation_page_says_its_part_in_words(reader, casal):
    """As a person would put it: how many actions it carries, in how many it is a partner,
    and where its role is still to be set; nothing about what nobody specified."""
    plan = PlanFactory(coalition=casal.coalition, title="Plan stratégique 2021-2026")
    sub = SubObjectiveFactory(objective=ObjectiveFactory(plan=plan, number=1), number=1)
    bank = OrganisationFactory(name="Banque alimentaire de Laval")
    roles = [ActionPartner.Role.CARRIER] * 3 + [ActionPartner.Role.PARTNER] * 5
    for number, role in enumerate([*roles, ActionPartner.Role.NOT_SPECIFIED], start=1):
        action = ActionFactory(sub_objective=sub, code=f"1.1.{number}", title=f"Action {number}")
        ActionPartnerFactory(action=action, organisation=bank, role=role)

    response = reader.get(reverse("dashboard:organisation", args=[bank.pk]))

    text = main_text(response)
    assert "Porteur de 3 actions, partenaire de 5, sans rôle précisé dans 1 autre" in text
    assert "Non précisé" not in text.replace("Non précisé (gris)", "")
    rows = {
        words(row).split()[0]: words(row)
        for row in re.findall(r"<tr>\s*<th scope=\"row\">.*?</tr>", html(response), flags=re.S)
    }
    assert rows["1.1.1"].startswith("1.1.1 Action 1 Porteur À venir")
    assert rows["1.1.9"].startswith("1.1.9 Action 9 à préciser À venir")


def test_organisation_page_of_unspecified_kind_and_roles_says_nothing_of_them(reader, casal):
    """Imported organisations often have no kind and no role: the page names the
    organisation and counts its actions, without a line of "Non précisé"."""
    unknown = OrganisationFactory(name="Table de quartier", kind="not_specified")
    ActionPartnerFactory(
        action=Action.objects.get(plan=casal.plan, code="1.1.1"), organisation=unknown
    )

    response = reader.get(reverse("dashboard:organisation", args=[unknown.pk]))

    text = main_text(response)
    assert "Non précisé" not in text
    assert text.startswith("Table de quartier")
    assert "Porteur ou partenaire de 1 action" in text
    assert "Rôle" not in text


def test_theme_list_counts_each_themes_actions_and_the_untagged_ones(reader, casal):
    response = reader.get(THEMES)

    assert words(card_of(response, "Accès physique")).startswith(
        f"Accès physique 1 en cours — sur 1 action Avancement estimé 40{NBSP}%"
    )
    # The rule once for every card.
    assert main_text(response).count("Estimation : ") == 1
    assert words(card_of(response, "Transformation alimentaire")) == (
        "Transformation alimentaire Aucune action rattachée à ce thème pour l'instant."
    )
    assert "5 actions ne sont rattachées à aucun thème" in main_text(response)


def test_theme_page_lists_the_themes_actions_by_plan(reader, casal):
    response = reader.get(reverse("dashboard:theme", args=[casal.theme.code]))

    assert response.status_code == 200
    text = main_text(response)
    assert "Accès physique" in text
    assert f"1.1.1 Cartographier les jardins collectifs En cours 40{NBSP}%" in text
    assert "Former les bénévoles" not in text
    assert f'href="{plan_url(casal.plan)}?theme={casal.theme.pk}"' in html(response)


def test_unknown_theme_is_not_found(reader):
    assert reader.get(reverse("dashboard:theme", args=["inconnu"])).status_code == 404


# --- A strategic plan ------------------------------------------------------------------------


@pytest.fixture
def strategic(casal):
    plan = PlanFactory(
        coalition=casal.coalition,
        title="Plan stratégique 2021-2026",
        kind=Plan.Kind.STRATEGIC,
        problem="Trop de ménages lavallois manquent de nourriture.",
        desired_change="Chaque quartier a accès à une alimentation saine.",
    )
    review = Review.objects.create(
        plan=plan,
        title="Bilan de l'an 1",
        start=datetime.date(2021, 4, 1),
        end=datetime.date(2022, 3, 31),
    )
    ReviewFunding.objects.create(review=review, funder="Centraide", amount=Decimal(81626), order=1)
    ReviewFunding.objects.create(
        review=review, funder="Ville de Laval", amount=Decimal(16000), order=2
    )
    ReviewMeeting.objects.create(review=review, body="Comité de coordination", count=6)
    ReviewStaff.objects.create(review=review, role="agente de mobilisation", duration="1 an")
    ReviewItem.objects.create(
        review=review, kind=ReviewItem.Kind.RESULT, heading="Gestion", text="Site web lancé."
    )
    return SimpleNamespace(plan=plan, review=review)


def test_strategic_plan_shows_its_problem_and_desired_change(reader, strategic):
    text = main_text(reader.get(plan_url(strategic.plan)))

    assert "Plan stratégique" in text
    assert "Problématique Trop de ménages lavallois manquent de nourriture." in text
    assert (
        "Résultat de changement souhaité Chaque quartier a accès à une alimentation saine." in text
    )


def test_review_funding_reads_in_quebec_format_with_its_total(reader, strategic):
    response = reader.get(plan_url(strategic.plan))

    content = html(response)
    assert f'<td class="amount">81{NBSP}626{NBSP}$</td>' in content
    assert f'<td class="amount">16{NBSP}000{NBSP}$</td>' in content
    assert (
        f'<tfoot><tr><th scope="row">Total</th><td class="amount">97{NBSP}626{NBSP}$</td>'
        in content
    )
    review = main_text(response).split("Bilan de l'an 1")[1]
    assert "Du 1er avril 2021 au 31 mars 2022" in review
    assert "6 × Comité de coordination" in review
    assert "1 agente de mobilisation (1 an)" in review
    assert "Résultat Gestion : Site web lancé." in review


def test_review_funding_shows_cents_only_when_there_are_some(reader, strategic):
    ReviewFunding.objects.create(
        review=strategic.review, funder="Dons", amount=Decimal("1234.50"), order=3
    )

    content = html(reader.get(plan_url(strategic.plan)))

    assert f'<td class="amount">1{NBSP}234,50{NBSP}$</td>' in content
    assert f'<td class="amount">98{NBSP}860,50{NBSP}$</td>' in content


def test_an_operational_plan_has_no_strategy_section(reader, casal):
    text = main_text(reader.get(plan_url(casal.plan)))

    assert "Le plan stratégique" not in text
    assert "Problématique" not in text


# --- Language --------------------------------------------------------------------------------


def test_pages_are_in_french_by_default(reader, casal):
    content = html(reader.get(plan_url(casal.plan)))

    assert '<html lang="fr">' in content
    assert "Actions et calendrier" in content


def test_choosing_english_comes_back_to_the_same_page_in_english(reader, casal):
    page = plan_url(casal.plan, "?status=done")

    response = reader.post(reverse("set_language"), {"language": "en", "next": page})

    assert response.status_code == 302
    assert response.url == page
    english = reader.get(response.url)
    assert '<html lang="en">' in html(english)
    assert "Actions and schedule" in main_text(english)
    assert "Actions et calendrier" not in main_text(english)
    assert shown_codes(english) == {"2.1.2"}  # the filters survive the change of language


# --- Query counts ----------------------------------------------------------------------------

# The smallest cap each page passes at the large size (SQLite and PostgreSQL), the same at
# both sizes: the count must not grow with the number of actions. For a coordinator, the
# header's back-office link reads her permissions (2 queries, once per request: the pages with
# "Modifier" links read them anyway).
QUERY_CAPS = {
    "home": 10,
    "plan": 23,
    "plan-filtered": 23,
    "action": 25,
    "changes": 24,
    # +1 each: the listed actions' periods, which a postponed action's new schedule shows.
    "organisation": 10,
    "themes": 8,
    "theme": 9,
}


PAGES = {
    "home": lambda data: HOME,
    "plan": lambda data: plan_url(data.plan),
    "plan-filtered": lambda data: plan_url(
        data.plan,
        f"?organisation={data.organisation.pk}&theme={data.theme.pk}&status=in_progress&q=Action",
    ),
    "action": lambda data: action_url(data.action),
    "changes": lambda data: reverse("dashboard:changes", args=[data.plan.slug]),
    "organisation": lambda data: reverse("dashboard:organisation", args=[data.organisation.pk]),
    "themes": lambda data: THEMES,
    "theme": lambda data: reverse("dashboard:theme", args=[data.theme.code]),
}


# Something of the plan that each page must show, so that a count is of a real page.
SHOWS = {
    "home": lambda data: data.plan.title,
    "plan": lambda data: data.action.title,
    "plan-filtered": lambda data: data.action.title,
    "action": lambda data: data.action.means,
    "changes": lambda data: "Démarrée, étape 0.",
    "organisation": lambda data: data.action.title,
    "themes": lambda data: data.theme.name,
    "theme": lambda data: data.action.title,
}


@pytest.mark.parametrize("page", PAGES)
def test_page_query_count_does_not_grow_with_the_plan(
    client, coordinator, django_assert_max_num_queries, page
):
    def check(response, data, actions):
        assert response.status_code == 200
        assert SHOWS[page](data) in main_text(response)

    counts = query_counts(
        client,
        coordinator,
        django_assert_max_num_queries,
        address=PAGES[page],
        cap=QUERY_CAPS[page],
        check=check,
    )

    assert counts[0] == counts[1], (
        f"{page}: {counts[0]} queries when small, {counts[1]} when large"
    )
