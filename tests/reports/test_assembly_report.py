"""The assembly report: the plan's progress and what changed since the last assembly, as a
page to print and as a PDF made from the same template."""

import datetime
import io

import pytest
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from actions.models import Action
from actions.services import change_status
from dashboard.changes import DEFAULT_LOOKBACK
from plans.models import Assembly, Membership
from reports import pdf
from tests.dashboard.reading import french_date, main_text
from tests.factories import PeriodFactory, build_plan
from tests.helpers import query_counts


def report_url(plan, query=""):
    return reverse("reports:assembly", args=[plan.slug]) + query


def pdf_url(plan, query=""):
    return reverse("reports:assembly_pdf", args=[plan.slug]) + query


@pytest.fixture
def plan_with_changes(db, coordinator):
    """Three actions: one changed since the last assembly, one untouched, one late."""
    today = timezone.localdate()
    plan, (changed, other, late) = build_plan(actions=3)
    Membership.objects.create(coalition=plan.coalition, user=coordinator)
    held = Assembly.objects.create(
        coalition=plan.coalition, date=today - datetime.timedelta(days=20), title="AGA"
    )
    Assembly.objects.create(
        coalition=plan.coalition, date=today + datetime.timedelta(days=15), title="Prochaine"
    )
    change_status(action=changed, status=Action.Status.IN_PROGRESS, user=coordinator)
    # build_plan schedules everything in 2016-2019: only `late` keeps an ended period.
    future = PeriodFactory(
        plan=plan,
        label="Plus tard",
        start=today + datetime.timedelta(days=1),
        end=today + datetime.timedelta(days=400),
    )
    for action in (changed, other):
        action.periods.set([future])
    return plan, held, changed, late


@pytest.fixture
def reader(client, member, plan_with_changes):
    plan = plan_with_changes[0]
    Membership.objects.create(coalition=plan.coalition, user=member)
    client.force_login(member)
    return client


def test_report_is_for_the_next_assembly_and_counts_changes_since_the_last(
    reader, plan_with_changes
):
    plan, held, changed, _late = plan_with_changes
    next_date = held.date + datetime.timedelta(days=35)

    text = main_text(reader.get(report_url(plan)))

    assert f"Rapport pour l'assemblée du {french_date(next_date)}" in text
    assert f"Les changements sont comptés depuis le {french_date(held.date)}" in text
    assert "assemblée « AGA »" in text
    assert f"{changed.code} {changed.title}" in text
    assert "À venir → En cours" in text


def test_report_shows_progress_by_objective_and_lists_the_late_actions(reader, plan_with_changes):
    plan, _held, _changed, late = plan_with_changes

    text = main_text(reader.get(report_url(plan)))

    assert "Où en est le plan" in text
    assert "3 actions · 1 en retard" in text
    assert "1 action en retard" in text
    assert f"{late.code} {late.title}" in text
    objective = plan.objectives.get()
    assert f"{objective.number}. {objective.title}" in text


def test_report_since_can_be_chosen(reader, plan_with_changes):
    plan = plan_with_changes[0]
    later = timezone.localdate() + datetime.timedelta(days=1)

    text = main_text(reader.get(report_url(plan, f"?since={later:%Y-%m-%d}")))

    assert "Aucun changement depuis cette date." in text
    assert "0 changements depuis le" in text


def test_report_without_an_assembly_looks_back_thirty_days(client, member, db):
    plan, _actions = build_plan(actions=1)
    Membership.objects.create(coalition=plan.coalition, user=member)
    client.force_login(member)

    text = main_text(client.get(report_url(plan)))

    since = timezone.localdate() - DEFAULT_LOOKBACK
    assert f"Les changements sont comptés depuis le {french_date(since)}" in text
    assert "Rapport d'avancement pour l'assemblée" in text


def test_report_page_offers_the_pdf_with_the_same_date(reader, plan_with_changes):
    plan = plan_with_changes[0]

    content = reader.get(report_url(plan, "?since=2020-01-01")).content.decode()

    assert f'href="{pdf_url(plan)}?since=2020-01-01"' in content


def test_pdf_holds_the_same_report(reader, plan_with_changes):
    plan, held, changed, late = plan_with_changes

    response = reader.get(pdf_url(plan))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith(f'attachment; filename="{plan.slug}-')
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    text = " ".join(text.split())
    assert plan.title in text
    assert f"depuis le {french_date(held.date)}" in text
    assert changed.title in text
    assert late.title in text
    # The page's own controls are not in the PDF.
    assert "Télécharger en PDF" not in text
    assert "Afficher" not in text


def test_pdf_says_so_when_the_server_cannot_draw_it(reader, plan_with_changes, monkeypatch):
    def unavailable(*args, **kwargs):
        raise pdf.Unavailable("libpango-1.0-0: cannot open shared object file")

    monkeypatch.setattr(pdf, "render", unavailable)

    response = reader.get(pdf_url(plan_with_changes[0]))

    assert response.status_code == 503
    assert "Imprimez la page du rapport en PDF" in response.content.decode()


def test_pdf_fetches_nothing_from_the_network(reader, plan_with_changes, monkeypatch):
    """Were the page to point elsewhere, making the PDF must still not reach out."""
    fetched = []
    monkeypatch.setattr(
        "urllib.request.OpenerDirector.open", lambda self, *a, **k: fetched.append(a)
    )
    real_render = pdf.render_to_string

    def pointing_elsewhere(*args, **kwargs):
        page = real_render(*args, **kwargs)
        return page.replace(
            "</main>",
            '<img src="https://example.com/logo.png" alt="">'
            '<link rel="stylesheet" href="https://example.com/x.css"></main>',
        )

    monkeypatch.setattr(pdf, "render_to_string", pointing_elsewhere)

    response = reader.get(pdf_url(plan_with_changes[0]))

    assert response.content.startswith(b"%PDF")
    assert fetched == []


@pytest.mark.parametrize("url", [report_url, pdf_url])
def test_report_is_not_disclosed_to_an_outsider(client, outsider, plan_with_changes, url):
    client.force_login(outsider)

    assert client.get(url(plan_with_changes[0])).status_code == 404


@pytest.mark.parametrize("url", [report_url, pdf_url])
def test_anonymous_visitor_is_sent_to_log_in(client, plan_with_changes, url):
    response = client.get(url(plan_with_changes[0]))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_report_is_in_english_on_request(reader, plan_with_changes):
    plan = plan_with_changes[0]
    reader.cookies["django_language"] = "en"

    text = main_text(reader.get(report_url(plan)))

    assert "Changes are counted since" in text
    assert "Where the plan stands" in text or "Average progress" in text


# The smallest cap the report passes at the large size, the same at both sizes.
QUERY_CAP = 28


def test_report_query_count_does_not_grow_with_the_plan(
    client, coordinator, django_assert_max_num_queries
):
    def check(response, data, actions):
        assert "Démarrée, étape 0." in main_text(response)

    counts = query_counts(
        client,
        coordinator,
        django_assert_max_num_queries,
        address=lambda data: report_url(data.plan),
        cap=QUERY_CAP,
        check=check,
    )

    assert counts[0] == counts[1], f"{counts[0]} queries when small, {counts[1]} when large"
