"""The action back-office as the coordinator uses it: the list, its filters and search, the
change form with its inlines, the status changes and their trail, and who may do what."""

import datetime
import re
from types import SimpleNamespace

import pytest
from django.urls import reverse

from actions.models import Action, ProgressNote, Target, TargetValue
from actions.services import change_status
from partners.models import ActionPartner
from plans.groups import COORDINATION
from tests.factories import (
    ActionFactory,
    ActionPartnerFactory,
    ObjectiveFactory,
    OrganisationFactory,
    PeriodFactory,
    PlanFactory,
    ProgressNoteFactory,
    SubObjectiveFactory,
    TargetFactory,
    TargetValueFactory,
    ThemeFactory,
    build_plan,
)
from tests.helpers import (
    change_form_data,
    form_data,
    make_user,
    member_of_every_coalition,
    row_index,
)

# These test the admin for the coalitions the coordinator works for; the lines between
# coalitions are drawn in tests/test_permissions.py.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("coordinator_of_every_coalition")]

CHANGELIST = reverse("admin:actions_action_changelist")
IMPORT_URL = reverse("admin:actions_action_import")
# The "raison" error of actions/services.py, as the coordinator reads it.
REASON_REQUIRED = "Indiquez la raison"
FIX_ERRORS = "Corrigez l’erreur ci-dessous."

# Measured (SQLite and PostgreSQL), plus a small margin; the point is that they do not grow.
CHANGELIST_MAX_QUERIES = 16
# The change page reads the version of the action and of each inline's rows (one query per
# inline) and the coordinator's coalitions.
CHANGE_PAGE_MAX_QUERIES = 24
ORGANISATION_LIST_MAX_QUERIES = 10


@pytest.fixture
def member(backoffice_member):
    """The member of these tests may enter the back-office (tests/conftest.py)."""
    return backoffice_member


def change_url(action):
    return reverse("admin:actions_action_change", args=[action.pk])


# --- Reading what the coordinator sees -------------------------------------------------------


def listed_codes(response):
    """The action codes in the list's rows, as links."""
    return set(re.findall(r'<th class="field-code"><a href="[^"]+">([^<]+)</a>', html(response)))


def row_of(response, code):
    """The HTML of the list row whose code link is `code`."""
    for row in re.findall(r"<tr>.*?</tr>", html(response), flags=re.S):
        if re.search(rf'<th class="field-code"><a href="[^"]+">{re.escape(code)}</a>', row):
            return row
    raise AssertionError(f"no row for {code}")


def late_cell(row):
    """The words of the row's "en retard" cell."""
    cell = re.search(r'<td class="field-is_late">(.*?)</td>', row, flags=re.S)[1]
    return re.sub(r"<[^>]+>", "", cell).strip()


def html(response):
    return response.content.decode()


# --- Posting a rendered form back, as a browser would ----------------------------------------


def extra_row_index(data, prefix):
    """Index of the first empty row of an inline (after the saved ones)."""
    return int(data[f"{prefix}-INITIAL_FORMS"])


# --- Data ------------------------------------------------------------------------------------


@pytest.fixture
def catalogue(db):
    """Two plans whose four actions each stand out for one filter."""
    plan = PlanFactory(slug="casal-essai")
    ended = PeriodFactory(
        plan=plan,
        label="2016-2018",
        start=datetime.date(2016, 4, 1),
        end=datetime.date(2018, 3, 31),
    )
    future = PeriodFactory(
        plan=plan,
        label="2090-2091",
        start=datetime.date(2090, 4, 1),
        end=datetime.date(2091, 3, 31),
    )
    objective_1 = ObjectiveFactory(plan=plan, number=1, title="Améliorer l'accès")
    objective_2 = ObjectiveFactory(plan=plan, number=2, title="Soutenir l'offre")
    sub_1_1 = SubObjectiveFactory(objective=objective_1, number=1)
    sub_2_1 = SubObjectiveFactory(objective=objective_2, number=1)
    other_plan = PlanFactory(slug="lachine-essai")
    sub_3_1 = SubObjectiveFactory(objective=ObjectiveFactory(plan=other_plan, number=3), number=1)
    access = ThemeFactory(name="Accès")
    market = OrganisationFactory(name="Marché solidaire de Laval", short_name="MSL")
    school = OrganisationFactory(name="Centre de services scolaire", short_name="CSSDL")

    late = ActionFactory(
        sub_objective=sub_1_1,
        code="1.1.1",
        title="Cartographier les jardins collectifs",
        means="Inventaire des jardins et glanage urbain.",
        status=Action.Status.IN_PROGRESS,
    )
    late.periods.set([ended])
    late.themes.set([access])
    ActionPartnerFactory(
        action=late,
        organisation=market,
        confirmation=ActionPartner.Confirmation.CONFIRMED_MEMBER,
    )
    done = ActionFactory(
        sub_objective=sub_1_1,
        code="1.1.2",
        title="Former les bénévoles",
        status=Action.Status.DONE,
    )
    done.periods.set([ended])
    ActionPartnerFactory(action=done, organisation=school)
    upcoming = ActionFactory(sub_objective=sub_2_1, code="2.1.1", title="Ouvrir un marché public")
    upcoming.periods.set([future])
    elsewhere = ActionFactory(
        sub_objective=sub_3_1,
        code="3.1.1",
        title="Lancer une épicerie mobile",
        status=Action.Status.POSTPONED,
    )
    return SimpleNamespace(
        plan=plan,
        ended=ended,
        objective_2=objective_2,
        access=access,
        market=market,
        late=late,
        done=done,
        upcoming=upcoming,
        elsewhere=elsewhere,
    )


@pytest.fixture
def member_client(member_client, member):
    """The member reads her coalition's actions in the admin."""
    with member_of_every_coalition(member):
        yield member_client


@pytest.fixture
def tracked_action(db):
    """An action as the coordinator finds it: a partner, a count and a deliverable, a note."""
    plan = PlanFactory()
    PeriodFactory(plan=plan, label="2016-2018")
    sub_objective = SubObjectiveFactory(objective=ObjectiveFactory(plan=plan, number=1), number=2)
    action = ActionFactory(
        sub_objective=sub_objective, code="1.2.3", title="Mobiliser les producteurs"
    )
    action.periods.set(plan.periods.all())
    ActionPartnerFactory(
        action=action, organisation=OrganisationFactory(name="Moisson Laval", short_name="ML")
    )
    count = TargetFactory(
        action=action,
        description="Nombre de producteurs intéressés",
        kind=Target.Kind.COUNT,
        target_value=10,
        order=1,
    )
    deliverable = TargetFactory(action=action, description="Boîte à outils", order=2)
    ProgressNoteFactory(action=action, text="Première rencontre tenue avec les producteurs.")
    return SimpleNamespace(action=action, count=count, deliverable=deliverable)


def action_with_rows(rows):
    """An action with `rows` partners, counted targets (with a value each) and notes."""
    action = ActionFactory()
    for _index in range(rows):
        ActionPartnerFactory(action=action)
        TargetValueFactory(target=TargetFactory(action=action, kind=Target.Kind.COUNT))
        ProgressNoteFactory(action=action)
    return action


def status_trail(action):
    return ProgressNote.objects.filter(action=action, kind=ProgressNote.Kind.STATUS_CHANGE)


# --- The list --------------------------------------------------------------------------------


def test_list_shows_code_title_status_periods_partners_and_late_flag(
    coordinator_client, catalogue
):
    response = coordinator_client.get(CHANGELIST)

    assert response.status_code == 200
    row = row_of(response, "1.1.1")
    assert "Cartographier les jardins collectifs" in row
    assert '<span class="status-badge status-in_progress">En cours</span>' in row
    assert "2016-2018" in row
    assert "MSL" in row
    assert late_cell(row) == "En retard"  # its period has ended and it is not done
    done_row = row_of(response, "1.1.2")
    assert '<span class="status-badge status-done">Réalisée</span>' in done_row
    assert "retard" not in late_cell(done_row)
    assert "CSSDL" in done_row
    upcoming_row = row_of(response, "2.1.1")
    assert "2090-2091" in upcoming_row
    assert "retard" not in late_cell(upcoming_row)


def test_list_offers_its_filters_in_french(coordinator_client, catalogue):
    content = html(coordinator_client.get(CHANGELIST))

    titles = re.findall(r"<summary>\s*(.*?)\s*</summary>", content)
    for title in ["Par plan", "Par objectif", "Par statut", "Par période prévue", "Par thèmes"]:
        assert title in titles
    assert '<a href="?late=yes">En retard</a>' in content
    assert '<a href="?late=no">Pas en retard</a>' in content
    assert f"{catalogue.plan.coalition} · 2016-2018" in content
    assert "Marché solidaire de Laval" in content


def test_action_form_offers_its_own_plans_sub_objectives_only(coordinator_client, catalogue):
    content = html(coordinator_client.get(change_url(catalogue.late)))

    select = re.search(r'<select name="sub_objective".*?</select>', content, re.S).group(0)
    assert f'value="{catalogue.upcoming.sub_objective_id}"' in select  # 2.1, same plan
    assert f'value="{catalogue.elsewhere.sub_objective_id}"' not in select  # 3.1, other plan


def test_organisation_filter_lists_the_chosen_plans_organisations(coordinator_client, catalogue):
    ActionPartnerFactory(
        action=catalogue.elsewhere, organisation=OrganisationFactory(name="Épicerie de Lachine")
    )
    other_plan = catalogue.elsewhere.plan

    everything = html(coordinator_client.get(CHANGELIST))
    this_plan = html(coordinator_client.get(CHANGELIST, {"plan__id__exact": catalogue.plan.pk}))
    other = html(coordinator_client.get(CHANGELIST, {"plan__id__exact": other_plan.pk}))

    assert "Marché solidaire de Laval" in everything
    assert "Épicerie de Lachine" in everything
    assert "Marché solidaire de Laval" in this_plan
    assert "Épicerie de Lachine" not in this_plan
    assert "Épicerie de Lachine" in other
    assert "Marché solidaire de Laval" not in other


@pytest.mark.parametrize(
    ("query", "shown"),
    [
        pytest.param(
            lambda c: {"plan__id__exact": c.plan.pk}, {"1.1.1", "1.1.2", "2.1.1"}, id="plan"
        ),
        pytest.param(lambda c: {"objective": c.objective_2.pk}, {"2.1.1"}, id="objective"),
        pytest.param(lambda c: {"status__exact": "done"}, {"1.1.2"}, id="status"),
        pytest.param(lambda c: {"period": c.ended.pk}, {"1.1.1", "1.1.2"}, id="period"),
        pytest.param(
            lambda c: {"organisation": c.market.pk},
            {"1.1.1"},
            id="organisation",
        ),
        pytest.param(lambda c: {"late": "yes"}, {"1.1.1"}, id="late"),
        pytest.param(lambda c: {"late": "no"}, {"1.1.2", "2.1.1", "3.1.1"}, id="not-late"),
        pytest.param(lambda c: {"themes__id__exact": c.access.pk}, {"1.1.1"}, id="theme"),
    ],
)
def test_each_filter_keeps_only_its_actions(coordinator_client, catalogue, query, shown):
    response = coordinator_client.get(CHANGELIST, query(catalogue))

    assert response.status_code == 200
    assert listed_codes(response) == shown


@pytest.mark.parametrize(
    ("term", "shown"),
    [
        pytest.param("2.1.1", {"2.1.1"}, id="code"),
        pytest.param("bénévoles", {"1.1.2"}, id="title-word"),
        pytest.param("glanage", {"1.1.1"}, id="means-word"),
    ],
)
def test_search_finds_code_title_and_means(coordinator_client, catalogue, term, shown):
    response = coordinator_client.get(CHANGELIST, {"q": term})

    assert listed_codes(response) == shown


# --- Query counts do not grow with the data --------------------------------------------------


@pytest.mark.parametrize("size", [5, 60])
def test_changelist_queries_do_not_grow_with_actions(
    coordinator_client, django_assert_max_num_queries, size
):
    build_plan(actions=size)

    with django_assert_max_num_queries(CHANGELIST_MAX_QUERIES):
        response = coordinator_client.get(CHANGELIST)

    assert len(listed_codes(response)) == size


@pytest.mark.parametrize("rows", [2, 20])
def test_change_page_queries_do_not_grow_with_inline_rows(
    coordinator_client, django_assert_max_num_queries, rows
):
    action = action_with_rows(rows)

    with django_assert_max_num_queries(CHANGE_PAGE_MAX_QUERIES):
        response = coordinator_client.get(change_url(action))

    assert response.status_code == 200


@pytest.mark.parametrize("size", [5, 60])
def test_organisation_list_queries_do_not_grow(
    coordinator_client, django_assert_max_num_queries, size
):
    build_plan(actions=size, partners_per_action=size // 5)

    with django_assert_max_num_queries(ORGANISATION_LIST_MAX_QUERIES):
        response = coordinator_client.get(reverse("admin:partners_organisation_changelist"))

    assert response.status_code == 200


# --- The change page -------------------------------------------------------------------------


def test_change_page_shows_partners_and_targets_and_the_notes_in_its_history(
    coordinator_client, tracked_action
):
    action = tracked_action.action
    content = html(coordinator_client.get(change_url(action)))

    assert "Moisson Laval" in content
    assert "Nombre de producteurs intéressés" in content
    assert "Boîte à outils" in content
    # The trail is read (and corrected) from the history, never edited as rows of the form.
    history = html(
        coordinator_client.get(reverse("admin:actions_action_history", args=[action.pk]))
    )
    assert "Première rencontre tenue avec les producteurs." in history


def test_the_full_form_changes_no_status(coordinator_client, tracked_action):
    """Statuses, their reasons and notes change on the update page
    (tests/partners/test_update_page.py): a status posted to the full form is ignored."""
    action = tracked_action.action
    data = change_form_data(coordinator_client.get(change_url(action)))
    assert "status" not in data
    data.update(status=Action.Status.DONE, completion="80", title="Mobiliser les fermes")

    response = coordinator_client.post(change_url(action), data)

    assert response.status_code == 302
    action.refresh_from_db()
    assert (action.title, action.status, action.completion) == (
        "Mobiliser les fermes",
        Action.Status.PLANNED,
        None,
    )
    assert not status_trail(action).exists()


def test_a_new_action_starts_planned(coordinator_client, coordinator, catalogue):
    add = f"{reverse('admin:actions_action_add')}?plan={catalogue.upcoming.plan_id}"
    data = form_data(coordinator_client.get(add).context["adminform"].form)
    data.update(
        sub_objective=str(catalogue.upcoming.sub_objective_id),
        code="2.1.2",
        title="Ouvrir un deuxième marché",
    )
    for empty in ("periods", "related_actions", "themes"):  # no box ticked
        data.pop(empty)
    for prefix in ("partner_links", "targets", "notes"):
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})

    response = coordinator_client.post(add, data)
    assert response.status_code == 302
    action = Action.objects.get(code="2.1.2")
    assert action.status == Action.Status.PLANNED
    assert action.history.get().history_user == coordinator
    assert not ProgressNote.objects.filter(action=action).exists()


def test_new_value_on_a_count_target_is_recorded(coordinator_client, tracked_action):
    action, count = tracked_action.action, tracked_action.count
    data = change_form_data(coordinator_client.get(change_url(action)))
    row = row_index(data, "targets", count.pk)
    data[f"targets-{row}-new_value"] = "12"
    data[f"targets-{row}-new_value_date"] = "2019-05-01"

    response = coordinator_client.post(change_url(action), data)

    assert response.status_code == 302
    value = TargetValue.objects.get(target=count)
    assert value.value == 12
    assert value.date == datetime.date(2019, 5, 1)
    assert "12 (2019-05-01)" in html(coordinator_client.get(change_url(action)))


def test_new_value_on_a_deliverable_is_refused(coordinator_client, tracked_action):
    action, deliverable = tracked_action.action, tracked_action.deliverable
    data = change_form_data(coordinator_client.get(change_url(action)))
    row = row_index(data, "targets", deliverable.pk)
    data[f"targets-{row}-new_value"] = "3"

    response = coordinator_client.post(change_url(action), data)

    assert response.status_code == 200
    assert "Seule une cible de type « Nombre » reçoit des valeurs." in html(response)
    assert not TargetValue.objects.exists()


def test_value_added_on_the_target_page_is_recorded_and_signed(
    coordinator_client, coordinator, tracked_action
):
    count = tracked_action.count
    url = reverse("admin:actions_target_change", args=[count.pk])
    data = change_form_data(coordinator_client.get(url))
    row = extra_row_index(data, "values")
    data[f"values-{row}-value"] = "7"
    data[f"values-{row}-date"] = "2019-06-01"

    response = coordinator_client.post(url, data)

    assert response.status_code == 302
    value = TargetValue.objects.get(target=count)
    assert (value.value, value.date) == (7, datetime.date(2019, 6, 1))
    assert value.history.get().history_user == coordinator


# --- No trap in the list --------------------------------------------------------------------


def test_the_list_has_no_status_menu_that_looks_saved(coordinator_client, catalogue):
    """A status picked in the list changed colour at once and was lost unless « Enregistrer »,
    far below, was clicked; postponing there was always refused. The list shows badges and
    sends each row to its update page."""
    content = html(coordinator_client.get(CHANGELIST))

    assert "status-select" not in content
    assert 'name="_save"' not in content
    update = reverse("admin:actions_action_update", args=[catalogue.upcoming.pk])
    assert update in row_of(coordinator_client.get(CHANGELIST), "2.1.1")


def test_a_status_posted_to_the_list_changes_nothing(coordinator_client, catalogue):
    data = {
        "form-TOTAL_FORMS": "1",
        "form-INITIAL_FORMS": "1",
        "form-0-id": str(catalogue.upcoming.pk),
        "form-0-status_0": Action.Status.IN_PROGRESS,
        "form-0-status": Action.Status.IN_PROGRESS,
        "_save": "Enregistrer",
    }

    coordinator_client.post(CHANGELIST, data)

    catalogue.upcoming.refresh_from_db()
    assert catalogue.upcoming.status == Action.Status.PLANNED
    assert not status_trail(catalogue.upcoming).exists()


# --- The bulk "change status" admin action ---------------------------------------------------


def bulk_post(actions, **fields):
    return {
        "action": "change_status_action",
        "_selected_action": [str(action.pk) for action in actions],
        **fields,
    }


def test_bulk_change_status_first_shows_the_chosen_actions(coordinator_client, catalogue):
    chosen = [catalogue.late, catalogue.upcoming]

    response = coordinator_client.post(CHANGELIST, bulk_post(chosen))

    assert response.status_code == 200
    content = html(response)
    assert "Nouveau statut pour ces 2 actions" in content
    assert "1.1.1 Cartographier les jardins collectifs (En cours)" in content
    assert "2.1.1 Ouvrir un marché public (À venir)" in content
    assert "Former les bénévoles" not in content
    assert not status_trail(catalogue.late).exists()


def test_bulk_change_status_applies_to_all_with_one_trail_entry_each(
    coordinator_client, coordinator, catalogue
):
    chosen = [catalogue.late, catalogue.upcoming]
    data = bulk_post(
        chosen,
        apply="Changer le statut",
        status=Action.Status.POSTPONED,
        reason="Reporté à l'an prochain faute de financement.",
        without_date="on",
        note="",
        date="2019-06-15",
    )

    response = coordinator_client.post(CHANGELIST, data)

    assert response.status_code == 302
    messages = [str(m) for m in response.wsgi_request._messages]
    assert "2 actions ont changé de statut." in messages
    for action in chosen:
        action.refresh_from_db()
        assert action.status == Action.Status.POSTPONED
        entry = status_trail(action).get()
        assert entry.reason == "Reporté à l'an prochain faute de financement."
        assert entry.text == "Reportée sans nouvelle date."
        assert action.awaiting_date
        assert entry.author == coordinator
        assert entry.date == datetime.date(2019, 6, 15)
    catalogue.done.refresh_from_db()
    assert catalogue.done.status == Action.Status.DONE


def test_bulk_postpone_without_reason_shows_the_error_and_changes_nothing(
    coordinator_client, catalogue
):
    chosen = [catalogue.late, catalogue.upcoming]
    data = bulk_post(
        chosen, apply="Changer le statut", status=Action.Status.POSTPONED, date="2019-06-15"
    )

    response = coordinator_client.post(CHANGELIST, data)

    assert response.status_code == 200
    assert REASON_REQUIRED in html(response)
    for action, status in [(catalogue.late, "in_progress"), (catalogue.upcoming, "planned")]:
        action.refresh_from_db()
        assert action.status == status
    assert not ProgressNote.objects.filter(kind=ProgressNote.Kind.STATUS_CHANGE).exists()


def test_bulk_postpone_offers_the_chosen_actions_periods_and_the_wait(
    coordinator_client, catalogue
):
    response = coordinator_client.post(CHANGELIST, bulk_post([catalogue.late]))

    content = html(response)
    assert "Reportée : quand aura-t-elle lieu ?" in content
    assert "2016-2018 (terminée)" in content
    assert "2090-2091" in content
    assert "Attend une nouvelle date (sans date)" in content


def test_bulk_postpone_to_a_new_period_reschedules_each_action(coordinator_client, catalogue):
    future = catalogue.upcoming.periods.get()
    chosen = [catalogue.late, catalogue.upcoming]
    data = bulk_post(
        chosen,
        apply="Changer le statut",
        status=Action.Status.POSTPONED,
        reason="Pas de local.",
        periods=[str(future.pk)],
        date="2019-06-15",
    )

    response = coordinator_client.post(CHANGELIST, data)

    assert response.status_code == 302
    for action in chosen:
        action.refresh_from_db()
        assert (action.status, action.awaiting_date) == (Action.Status.POSTPONED, False)
        assert list(action.periods.all()) == [future]
        assert status_trail(action).get().text == "Reportée à 2090-2091."


def test_bulk_postpone_without_saying_when_changes_nothing(coordinator_client, catalogue):
    chosen = [catalogue.late, catalogue.upcoming]
    data = bulk_post(
        chosen,
        apply="Changer le statut",
        status=Action.Status.POSTPONED,
        reason="Pas de local.",
        date="2019-06-15",
    )

    response = coordinator_client.post(CHANGELIST, data)

    assert response.status_code == 200
    assert (
        "Choisissez la ou les nouvelles périodes, ou indiquez que l&#x27;action attend une "
        "nouvelle date." in html(response)
    )
    for action, status in [(catalogue.late, "in_progress"), (catalogue.upcoming, "planned")]:
        action.refresh_from_db()
        assert action.status == status
    assert not ProgressNote.objects.filter(kind=ProgressNote.Kind.STATUS_CHANGE).exists()


# --- History ---------------------------------------------------------------------------------


def test_history_page_names_the_coordinator_after_a_change(coordinator_client, tracked_action):
    action = tracked_action.action
    data = change_form_data(coordinator_client.get(change_url(action)))
    data["title"] = "Mobiliser les producteurs maraîchers"
    assert coordinator_client.post(change_url(action), data).status_code == 302

    response = coordinator_client.get(reverse("admin:actions_action_history", args=[action.pk]))

    assert response.status_code == 200
    # The header greets the user by name too: read the history table only.
    table = re.search(r'<table id="change-history".*?</table>', html(response), flags=re.S)[0]
    assert re.search(r">\s*coordo\s*<", table)
    assert "Mobiliser les producteurs maraîchers" in table


# --- Permissions -----------------------------------------------------------------------------


def test_member_sees_the_list(member_client, tracked_action):
    response = member_client.get(CHANGELIST)

    assert response.status_code == 200
    assert listed_codes(response) == {"1.2.3"}


def test_member_sees_the_change_page_read_only(member_client, tracked_action):
    response = member_client.get(change_url(tracked_action.action))

    assert response.status_code == 200
    content = html(response)
    assert "Mobiliser les producteurs" in content
    assert "Moisson Laval" in content
    assert "Nombre de producteurs intéressés" in content
    assert 'name="_save"' not in content


def test_member_cannot_save_a_change(member_client, tracked_action):
    action = tracked_action.action

    response = member_client.post(
        change_url(action),
        {"title": "Modifiée par un membre", "status": Action.Status.DONE, "code": action.code},
    )

    assert response.status_code == 403
    action.refresh_from_db()
    assert action.title == "Mobiliser les producteurs"
    assert action.status == Action.Status.PLANNED


def test_member_has_no_import_button_but_the_coordinator_has(
    member_client, coordinator, tracked_action
):
    assert IMPORT_URL not in html(member_client.get(CHANGELIST))
    assert member_client.get(IMPORT_URL).status_code == 403
    member_client.force_login(coordinator)
    assert IMPORT_URL in html(member_client.get(CHANGELIST))


def test_member_cannot_change_statuses_with_the_bulk_action(member_client, catalogue):
    assert "Changer le statut des actions choisies" not in html(member_client.get(CHANGELIST))
    data = bulk_post(
        [catalogue.upcoming],
        apply="Changer le statut",
        status=Action.Status.DONE,
        date="2019-06-15",
    )

    member_client.post(CHANGELIST, data)

    catalogue.upcoming.refresh_from_db()
    assert catalogue.upcoming.status == Action.Status.PLANNED
    assert not status_trail(catalogue.upcoming).exists()


@pytest.mark.parametrize("who", ["outsider", "anonymous"])
def test_non_staff_are_sent_to_the_login_page(client, outsider, tracked_action, who):
    if who == "outsider":
        client.force_login(outsider)

    for url in [CHANGELIST, change_url(tracked_action.action)]:
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith(reverse("admin:login"))


def test_member_reads_statuses_as_badges(member_client, catalogue):
    content = html(member_client.get(CHANGELIST))

    assert '<span class="status-badge status-done">Réalisée</span>' in content
    assert "status-select" not in content


# --- Two coordinators at once: a stale page never overwrites a newer save -------------------


@pytest.fixture
def colleague(django_user_model):
    return make_user(django_user_model, "coordo2", COORDINATION)


def test_stale_change_form_is_refused_and_says_what_changed(
    coordinator_client, colleague, tracked_action
):
    action = tracked_action.action
    opened = coordinator_client.get(change_url(action))
    change_status(action=action, status=Action.Status.DONE, user=colleague)  # meanwhile
    data = change_form_data(opened)
    data["title"] = "Mobiliser les producteurs locaux"

    response = coordinator_client.post(change_url(action), data)

    assert response.status_code == 200
    content = html(response)
    assert "coordo2 a enregistré « 1.2.3 Mobiliser les producteurs » le" in content
    assert "Statut : À venir → Réalisée" in content
    assert "Mobiliser les producteurs locaux" in content  # what she typed is still there
    action.refresh_from_db()
    assert action.status == Action.Status.DONE
    assert action.title == "Mobiliser les producteurs"


def test_stale_change_form_quotes_what_changed_as_typed(
    coordinator_client, colleague, tracked_action
):
    action = tracked_action.action
    opened = coordinator_client.get(change_url(action))
    action.means = "Présenter l'outil à l'assemblée"
    action._history_user = colleague
    action.save()

    response = coordinator_client.post(change_url(action), change_form_data(opened))

    raw = response.content.decode()
    assert "Présenter l&#x27;outil à l&#x27;assemblée" in raw  # escaped once, read as typed
    assert "&amp;#x27;" not in raw


def test_fresh_change_form_saves(coordinator_client, tracked_action):
    action = tracked_action.action
    data = change_form_data(coordinator_client.get(change_url(action)))
    data["title"] = "Mobiliser les producteurs locaux"

    response = coordinator_client.post(change_url(action), data)

    assert response.status_code == 302
    action.refresh_from_db()
    assert action.title == "Mobiliser les producteurs locaux"


def test_history_page_reads_in_words(coordinator_client, coordinator, tracked_action):
    action = tracked_action.action
    change_status(
        action=action,
        status=Action.Status.POSTPONED,
        user=coordinator,
        reason="Local fermé.",
        without_date=True,
    )

    response = coordinator_client.get(reverse("admin:actions_action_history", args=[action.pk]))

    # The action's timeline, above the versions of its fields, tells it in words.
    timeline = re.search(r'<ol class="timeline">.*?</ol>', html(response), flags=re.S)[0]
    assert re.search(r"Statut\s*:\s*À venir\s*→\s*Reportée", timeline)
    assert "postponed" not in timeline  # the word she chose, not the stored code
    assert "Local fermé." in timeline
    assert "Reportée sans nouvelle date." in timeline
    assert "None" not in html(response)


def test_an_id_past_the_columns_range_is_a_missing_action(coordinator_client):
    """Found by looking for a 500: the page read the version of an id no column can hold."""
    response = coordinator_client.get(
        reverse("admin:actions_action_change", args=["99999999999999999999999"]), follow=True
    )

    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == reverse("admin:index")
