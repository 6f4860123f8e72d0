"""The assembly report: the plan's progress and what changed since the last assembly, as a
page to print and as a PDF made from the same template."""

import datetime
import io
import os
import re
import shutil
import subprocess
from xml.etree import ElementTree

import pytest
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from actions.models import Action
from actions.services import change_status
from dashboard.changes import DEFAULT_LOOKBACK
from devdata.management.commands.setup_demo import load_seed
from plans.models import Assembly, Membership, Plan
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
    assert "En retard 1" in text
    assert "1 action en retard" in text
    assert f"{late.code} {late.title}" in text
    objective = plan.objectives.get()
    assert f"{objective.number}. {objective.title}" in text


def test_report_counts_by_status_then_says_how_progress_is_estimated(reader, plan_with_changes):
    plan = plan_with_changes[0]

    text = main_text(reader.get(report_url(plan)))

    # One action in progress, nothing typed: half-way; two planned: 0. (50 + 0 + 0) / 3.
    assert (
        "1 en cours, 2 à venir — sur 3 actions Avancement estimé 17\xa0% Estimation : une action "
        "réalisée compte pour 100\xa0%"
    ) in text
    assert "Aucune action n'a d'avancement déclaré." in text
    assert "moyen" not in text


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
    assert "1 en cours, 2 à venir — sur 3 actions" in text
    assert "Avancement estimé" in text
    assert "Estimation : une action réalisée compte pour 100" in text
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


def test_late_and_postponed_actions_show_their_latest_reason_beside_them(
    reader, plan_with_changes, coordinator
):
    plan, _held, changed, late = plan_with_changes
    change_status(
        action=late,
        status=Action.Status.POSTPONED,
        user=coordinator,
        reason="Pas de local.",
        without_date=True,
    )
    change_status(action=late, status=Action.Status.PLANNED, user=coordinator)
    change_status(
        action=late,
        status=Action.Status.POSTPONED,
        user=coordinator,
        reason="Subvention refusée.",
        without_date=True,
    )
    change_status(
        action=changed,
        status=Action.Status.POSTPONED,
        user=coordinator,
        reason="Attend l'été.",
        without_date=True,
    )

    text = main_text(reader.get(report_url(plan)))

    # Each reason in the action's own row, the newest one only.
    assert f"{late.code} {late.title} Raison : Subvention refusée." in text
    assert "Pas de local." not in text.split("changements depuis")[0]
    assert f"{changed.code} {changed.title} Raison : Attend l'été." in text
    # Postponed without a new date, the late one waits: it is no longer late.
    assert "2 reportées" in text and "en retard ·" not in text
    assert f"{late.code} {late.title} Raison : Subvention refusée." in text


def test_pdf_shows_the_reason_beside_the_action(reader, plan_with_changes, coordinator):
    plan, _held, _changed, late = plan_with_changes
    change_status(
        action=late,
        status=Action.Status.POSTPONED,
        user=coordinator,
        reason="Subvention refusée.",
        without_date=True,
    )

    text = " ".join(pdf_text(reader.get(pdf_url(plan)).content).split())

    assert f"{late.title} Raison : Subvention refusée." in text


# --- The seeded plans as PDF: on the page, with their reviews, in few pages -----------------

# Measured on the seeded CASAL plan (fixtures only): 7 pages before the report was laid out for
# paper (partners one per line, a column past the edge), 4 after; with setup_demo's changes
# added, 8 before and 4 after.
CASAL_PAGES_BEFORE = 7
CASAL_PAGES_AT_MOST = 4
# Words may touch the printable area's edge by a rounding: points.
EDGE_TOLERANCE = 1.0


@pytest.fixture
def poppler():
    if shutil.which("pdftotext") is None:
        reason = "pdftotext missing (apt-get install poppler-utils)"
        if "CI" in os.environ:
            pytest.fail(f"{reason}; CI never skips the printed report.", pytrace=False)
        pytest.skip(reason)


def pdf_text(document):
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(document)).pages)


def word_boxes(document, directory):
    """[(page width, page height, [(x0, y0, x1, y1, word)])] as pdftotext places the words."""
    path = directory / "report.pdf"
    path.write_bytes(document)
    xhtml = subprocess.run(
        ["pdftotext", "-bbox", str(path), "-"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    xhtml = re.sub(r"<!DOCTYPE[^>]*>", "", xhtml).replace(
        ' xmlns="http://www.w3.org/1999/xhtml"', ""
    )
    pages = []
    for page in ElementTree.fromstring(xhtml).iter("page"):
        words = [
            (*(float(word.get(edge)) for edge in ("xMin", "yMin", "xMax", "yMax")), word.text)
            for word in page.iter("word")
        ]
        pages.append((float(page.get("width")), float(page.get("height")), words))
    return pages


def seeded_pdf(client, member, plan):
    Membership.objects.create(coalition=plan.coalition, user=member)
    client.force_login(member)
    response = client.get(pdf_url(plan))
    assert response.status_code == 200
    return response.content


def test_every_word_of_the_seeded_reports_lies_on_the_page(
    poppler, client, member, seeded_plan, tmp_path
):
    pages = word_boxes(seeded_pdf(client, member, seeded_plan), tmp_path)

    outside = [
        (number, word, round(x1))
        for number, (width, height, words) in enumerate(pages, start=1)
        for x0, y0, x1, y1, word in words
        if x0 < -EDGE_TOLERANCE
        or y0 < -EDGE_TOLERANCE
        or x1 > width + EDGE_TOLERANCE
        or y1 > height + EDGE_TOLERANCE
    ]
    assert outside == [], f"words past the edge (page, word, right end) of {pages[0][0]} pt"
    # Nor in the right margin, where a printer may cut: the page's margin is 14 mm.
    margin = 14 / 25.4 * 72
    in_margin = [
        (number, word)
        for number, (width, _height, words) in enumerate(pages, start=1)
        for _x0, _y0, x1, _y1, word in words
        if x1 > width - margin + EDGE_TOLERANCE
    ]
    assert in_margin == []


def test_seeded_casal_report_is_half_as_long_as_it_was(poppler, client, member, db, tmp_path):
    load_seed("themes", "casal_2016_2020")
    plan = Plan.objects.get(slug="casal-2016-2020")

    pages = word_boxes(seeded_pdf(client, member, plan), tmp_path)

    assert len(pages) <= CASAL_PAGES_AT_MOST, f"{len(pages)} pages (was {CASAL_PAGES_BEFORE})"


def test_seeded_lachine_report_holds_its_review(client, member, db):
    load_seed("themes", "lachine_2018_2021")
    plan = Plan.objects.get(slug="lachine-2018-2021")
    review = plan.reviews.get()

    text = " ".join(pdf_text(seeded_pdf(client, member, plan)).split())

    assert review.title in text
    for heading in ("Rencontres", "Financement", "Ressources humaines", "Résultat"):
        assert heading in text
    assert review.meetings.first().body in text
    assert review.staff.first().role in text
    assert review.items.filter(kind="result").first().text.split()[0] in text
    # No link to change it on paper, even for whoever may.
    assert "Modifier" not in text


# The smallest cap the report passes at the large size, the same at both sizes.
QUERY_CAP = 34  # 28 before: +1 for the reasons, +5 for the reviews and their parts


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
