"""The admin's CSV and XLSX exports of actions keep text as text: a spreadsheet opening the CSV
runs none of its cells (each formula-like one starts with an apostrophe, OWASP's advice), the
XLSX holds strings, never formulas, and either file imported back changes nothing."""

import csv
import io

import openpyxl
import pytest
from django.core.management import call_command

from actions.models import Action, ProgressNote
from partners.models import ActionPartner
from tests.factories import build_plan
from tests.imports.helpers import (
    EXPORT_URL,
    HEADER,
    TYPED,
    confirm,
    export_form_data,
    row_messages,
    upload,
)
from tests.plans.sources import ROOT

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("coordinator_of_every_coalition")]

FIXTURES = ROOT / "fixtures"
TEXT_COLUMNS = {"titre": "title", "moyens": "means", "porteurs et partenaires": "partners_text"}


def export(client, title):
    response = client.post(EXPORT_URL, export_form_data(client, title))
    assert response.status_code == 200
    return response.content


def csv_rows(content):
    text = content.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline="")))


def xlsx_rows(content):
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    return [list(row) for row in sheet.iter_rows()]


@pytest.fixture
def typed_plan(db):
    """A plan whose actions' titles, means and partners are each one of TYPED."""
    _plan, actions = build_plan(actions=len(TYPED), slug="casal-texte")
    for action, (text, _cell) in zip(actions, TYPED, strict=True):
        Action.objects.filter(pk=action.pk).update(title=text, means=text, partners_text=text)
    return {action.code: text for action, (text, _cell) in zip(actions, TYPED, strict=True)}


# --- What the files hold ---------------------------------------------------------------------


def test_csv_export_writes_each_formula_like_cell_with_an_apostrophe(
    coordinator_client, typed_plan
):
    rows = csv_rows(export(coordinator_client, "csv"))

    assert rows[0] == HEADER
    written = {row[1]: dict(zip(HEADER, row, strict=True)) for row in rows[1:]}
    cells = dict(TYPED)
    for code, text in typed_plan.items():
        for column in TEXT_COLUMNS:
            assert written[code][column] == cells[text], (code, column)


def test_csv_export_quotes_every_cell(coordinator_client, typed_plan):
    Action.objects.filter(plan__slug="casal-texte", code="1.1.1").update(title="a;=1+1")

    lines = export(coordinator_client, "csv").decode("utf-8-sig").split("\r\n")

    assert lines[0] == ",".join(f'"{column}"' for column in HEADER)
    assert any(line.startswith('"casal-texte","1.1.1","a;=1+1",') for line in lines)


def test_xlsx_export_holds_the_typed_text_as_strings(coordinator_client, typed_plan):
    rows = xlsx_rows(export(coordinator_client, "xlsx"))

    assert [cell.value for cell in rows[0]] == HEADER
    assert all(cell.data_type != "f" for row in rows for cell in row)
    by_code = {row[1].value: dict(zip(HEADER, row, strict=True)) for row in rows[1:]}
    for code, text in typed_plan.items():
        for column in TEXT_COLUMNS:
            cell = by_code[code][column]
            assert (cell.value, cell.data_type) == (text, "s"), (code, column)


def test_xlsx_export_keeps_tablibs_layout(coordinator_client, typed_plan):
    sheet = openpyxl.load_workbook(io.BytesIO(export(coordinator_client, "xlsx"))).active

    assert sheet.title == "Tablib Dataset"
    assert sheet.freeze_panes == "A2"
    assert all(cell.font.b for cell in sheet[1])
    assert sheet.column_dimensions["B"].width == len("1.1.10")


def test_a_forbidden_control_character_does_not_fail_the_xlsx_export(
    coordinator_client, typed_plan
):
    Action.objects.filter(plan__slug="casal-texte", code="1.1.1").update(title="Saut\x0bWord")

    rows = xlsx_rows(export(coordinator_client, "xlsx"))

    titles = [row[2].value for row in rows[1:]]
    assert "Saut\ufffdWord" in titles


# --- Round trip of both seeded plans -----------------------------------------------------------


@pytest.fixture
def seeded_plans(db):
    """Both seeded plans, formula-like text typed in their first actions' titles, means and
    partners."""
    call_command(
        "loaddata",
        FIXTURES / "themes.json",
        FIXTURES / "casal_2016_2020.json",
        FIXTURES / "lachine_2018_2021.json",
        verbosity=0,
    )
    texts = [text for text, _cell in TYPED]
    for slug in ["casal-2016-2020", "lachine-2018-2021"]:
        actions = Action.objects.filter(plan__slug=slug).order_by("sort_key")
        for index, action in enumerate(actions[: len(texts)]):
            Action.objects.filter(pk=action.pk).update(
                title=texts[index],
                means=texts[(index + 1) % len(texts)],
                partners_text=texts[(index + 2) % len(texts)],
            )


def snapshot():
    return {
        "actions": list(Action.objects.order_by("pk").values()),
        "periods": sorted(Action.periods.through.objects.values_list("action_id", "period_id")),
        "partners": list(ActionPartner.objects.order_by("pk").values()),
        "history": Action.history.count(),
        "notes": list(ProgressNote.objects.order_by("pk").values()),
    }


@pytest.mark.parametrize("title", ["csv", "xlsx"])
def test_export_imported_back_changes_nothing(coordinator_client, seeded_plans, title):
    content = export(coordinator_client, title)
    before = snapshot()

    preview = upload(coordinator_client, content, name=f"actions.{title}", title=title)

    assert "confirm_form" in preview.context, row_messages(preview)
    kinds = [row.import_type for row in preview.context["result"].rows]
    assert kinds == ["skip"] * Action.objects.count()
    confirm(coordinator_client, preview)
    assert snapshot() == before
