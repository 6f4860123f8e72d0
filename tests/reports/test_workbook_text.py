"""The funders' workbook shows what was typed as text: a title typed `=HYPERLINK(…)` is those
characters in every sheet, never a live formula, and the workbook read back by the plan-table
import changes nothing, formula-like titles, means and partners included."""

import datetime
import io
import itertools

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import models
from django.urls import reverse
from openpyxl import load_workbook
from openpyxl.cell.rich_text import CellRichText

from actions.models import Action, ProgressNote, Target
from actions.services import change_status
from imports import table_import
from partners.models import ActionPartner, Organisation
from plans.models import (
    Coalition,
    Objective,
    Period,
    Plan,
    Review,
    ReviewFunding,
    ReviewItem,
    ReviewMeeting,
    ReviewStaff,
    SubObjective,
)
from reports import workbook
from tests.imports.helpers import exported, preview_of, snapshot
from tests.plans.sources import ROOT

pytestmark = pytest.mark.django_db

FIXTURES = ROOT / "fixtures"
SINCE = datetime.date(2020, 1, 1)
HYPERLINK = '=HYPERLINK("http://x","x")'
# What people type that a spreadsheet would run, or read as an error value.
FORMULA_LIKE = [HYPERLINK, "+33 1 23", "-moins", "@mention", "'=déjà cité", "#N/A", "=1+1"]
# Every text the workbook shows, by model; choices, codes and identifiers aside.
TEXT_FIELDS = {
    Coalition: ["name", "short_name"],
    Plan: ["title"],
    Period: ["label"],
    Objective: ["title"],
    SubObjective: ["title"],
    Action: ["title", "means", "partners_text"],
    Target: ["description", "unit"],
    Organisation: ["name", "short_name"],
    ActionPartner: ["label_in_source"],
    Review: ["title", "period_label", "notes"],
    ReviewMeeting: ["body"],
    ReviewFunding: ["funder", "note"],
    ReviewStaff: ["role", "duration"],
    ReviewItem: ["heading", "text"],
}


def cells(book):
    return [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]


def texts(book):
    """Every text of the workbook: each cell's, and each line of a cell's."""
    found = set()
    for cell in cells(book):
        if isinstance(cell.value, str | CellRichText):
            found.add(str(cell.value))
            found.update(str(cell.value).split("\n"))
    return found


# Shown inside a longer text ("Objectif 1 : …"), or in place of another (a partner's label in
# the source comes before its short name; a plan's partners text stands in for its links).
SHOWN_WITHIN = {
    (Coalition, "short_name"),
    (Objective, "title"),
    (Action, "partners_text"),
    (Organisation, "short_name"),
}


def formula_like_everywhere():
    """Every text field the workbook shows made formula-like, each value its own: the values
    that must show as a cell or a line of one."""
    typed = []
    kinds = itertools.cycle(FORMULA_LIKE)
    for model, fields in TEXT_FIELDS.items():
        for pk in model.objects.values_list("pk", flat=True):
            values = {}
            for field in fields:
                limit = model._meta.get_field(field).max_length or 200
                values[field] = f"{next(kinds)}{model.__name__}.{field}.{pk}"[:limit]
            model.objects.filter(pk=pk).update(**values)
            typed += [v for f, v in values.items() if (model, f) not in SHOWN_WITHIN]
    return typed


@pytest.fixture
def lachine(db):
    """The Lachine plan, whose reviews give the reviews sheet its meetings, money and staff."""
    call_command("loaddata", FIXTURES / "themes.json", FIXTURES / "lachine_2018_2021.json")
    return Plan.objects.get(slug="lachine-2018-2021")


def test_no_text_typed_anywhere_becomes_a_formula_or_an_error_value(lachine, coordinator):
    get_user_model().objects.filter(pk=coordinator.pk).update(username="@coordo")
    action = lachine.actions.order_by("sort_key").first()
    change_status(
        action=action,
        status=Action.Status.POSTPONED,
        user=coordinator,
        reason=HYPERLINK,
        without_date=True,
    )
    ProgressNote.objects.create(action=action, author=coordinator, text="=1+1")
    typed = formula_like_everywhere()

    stream = io.BytesIO()
    workbook.export(Plan.objects.get(pk=lachine.pk), stream, since=SINCE)
    book = load_workbook(io.BytesIO(stream.getvalue()), rich_text=True)

    kinds = {cell.data_type for cell in cells(book)}
    assert "f" not in kinds and "e" not in kinds
    formula_like = [c for c in cells(book) if str(c.value or "").startswith("=")]
    assert len(formula_like) > 20  # each one a formula cell, before
    assert all(cell.data_type == "s" for cell in formula_like)
    shown = texts(book)
    assert [text for text in typed if text not in shown] == []
    assert HYPERLINK in shown  # the reason of the status change
    assert "@coordo" in shown


def test_a_forbidden_control_character_in_a_title_does_not_fail_the_download(
    client, member, coordinator
):
    call_command("loaddata", FIXTURES / "themes.json", FIXTURES / "lachine_2018_2021.json")
    plan = Plan.objects.get(slug="lachine-2018-2021")
    plan.coalition.memberships.create(user=member)
    action = plan.actions.order_by("sort_key").first()
    Action.objects.filter(pk=action.pk).update(title="Saut\x0bde ligne de Word")
    client.force_login(member)

    response = client.get(reverse("reports:workbook", args=[plan.slug]))

    assert response.status_code == 200
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    assert "Saut\ufffdde ligne de Word" in texts(book)


# --- Round trip through the plan-table import -------------------------------------------------

# (title, means) given to the plan's first actions, and the partner labels of its first links.
TITLES_AND_MEANS = [
    (HYPERLINK, 'Ligne 1\r\n=HYPERLINK("http://x","x")\r\nLigne 3'),
    ("+33 1 23", "-moins\r\n+plus\r\n@arobase"),
    ("-moins", "@mention"),
    ("@mention", "'=déjà cité"),
    ("'=déjà cité", "Tabulation\t=1+1 et retour\r=1+1"),
    ("#N/A", "=1+1"),
]
PARTNER_LABELS = ['=HYPERLINK("http://x","org")', "+33 1 23 45", "@org", "-org", "'=org"]


def type_formula_like_text(plan):
    actions = list(plan.actions.order_by("sort_key"))
    for action, (title, means) in zip(actions, TITLES_AND_MEANS, strict=False):
        Action.objects.filter(pk=action.pk).update(title=title, means=means)
    unlinked = [a for a in actions if not a.partner_links.exists()]
    Action.objects.filter(pk=unlinked[0].pk).update(
        partners_text='=HYPERLINK("http://x","tous")\n@membres'
    )
    links = ActionPartner.objects.filter(action__plan=plan).order_by("pk")
    for link, label in zip(links, PARTNER_LABELS, strict=False):
        ActionPartner.objects.filter(pk=link.pk).update(label_in_source=label)


@pytest.mark.parametrize("language", ["fr", "en"])
def test_formula_like_text_reads_back_as_no_change(seeded_plan, coordinator, language):
    type_formula_like_text(seeded_plan)
    data = exported(seeded_plan, language)
    before = snapshot(seeded_plan)

    preview = preview_of(seeded_plan, data)

    changed = [(e.code, e.changes, e.targets) for e in preview.entries if e.is_changed]
    assert changed == []
    assert preview.new_organisations == []
    assert not preview.has_changes
    table_import.apply(preview, user=coordinator)
    assert snapshot(seeded_plan) == before


def test_the_workbook_keeps_carriage_returns_and_tabs(seeded_plan):
    type_formula_like_text(seeded_plan)

    book = load_workbook(io.BytesIO(exported(seeded_plan)), read_only=True)
    shown = {cell.value for row in book["Plan"].iter_rows() for cell in row}

    for _title, means in TITLES_AND_MEANS:
        assert means in shown


def test_models_listed_hold_the_text_fields_named():
    """TEXT_FIELDS names fields that exist, so that the test above covers what it says."""
    for model, fields in TEXT_FIELDS.items():
        for field in fields:
            assert isinstance(model._meta.get_field(field), models.CharField | models.TextField)
