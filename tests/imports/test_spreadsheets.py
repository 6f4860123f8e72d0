"""Text stays text in the spreadsheets the application writes: a CSV cell a spreadsheet would
run as a formula is written with an apostrophe that the imports take off again, and an XLSX
cell holds the very characters typed, never a formula, an error value or a mangled line end."""

import csv
import datetime
import io
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont

from imports import uploads
from imports.spreadsheets import (
    as_text,
    neutralise,
    restore,
    save_workbook,
    text_cell,
    write_table,
)
from tests.fuzzing import fuzz_settings

# What people type that a spreadsheet would run, or that looks like what the export wrote.
FORMULA_LIKE = [
    '=HYPERLINK("http://x","x")',
    "=1+1",
    "+33 1 23",
    "-moins",
    "@mention",
    "\t=1+1",
    "\r=1+1",
    "'=déjà cité",
    "''+deux apostrophes",
    "-2+3+cmd|' /C calc'!A0",
]
TRIGGERS = set("=+-@\t\r")
# Text that is no formula, and numbers, which every spreadsheet reads as numbers: left alone.
LEFT_ALONE = ["", "Titre", "'apostrophe", "a=b", " =espace devant", "-5", "+3,5", "12.5", "1.1.1"]


# --- CSV -------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", FORMULA_LIKE)
def test_formula_like_text_gets_an_apostrophe_that_restore_takes_off(text):
    assert neutralise(text) == "'" + text
    assert restore(neutralise(text)) == text


@pytest.mark.parametrize("text", LEFT_ALONE)
def test_other_text_and_numbers_are_written_as_they_are(text):
    assert neutralise(text) == text
    assert restore(text) == text


@pytest.mark.parametrize("value", [None, 0, -5, 12.5])
def test_values_that_are_not_text_are_written_as_they_are(value):
    assert neutralise(value) == value
    assert restore(value) == value


@fuzz_settings(max_examples=300)
@given(st.text(alphabet=st.sampled_from("'=+-@\t\r\n a1.,é\"")) | st.text())
def test_any_text_comes_back_exactly_and_never_starts_a_formula(text):
    written = neutralise(text)
    assert restore(written) == text
    # A spreadsheet sees an apostrophe first, or no trigger, or a plain number.
    assert written[:1] not in TRIGGERS or re.fullmatch(r"[+-][0-9]+([.,][0-9]+)?", written)


@fuzz_settings(max_examples=100)
@given(st.lists(st.text(), min_size=1, max_size=5))
def test_a_neutralised_row_written_and_read_as_csv_comes_back_exactly(row):
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_ALL).writerow([neutralise(cell) for cell in row])
    read = next(csv.reader(io.StringIO(out.getvalue(), newline="")))
    assert [restore(cell) for cell in read] == row


# --- XLSX ------------------------------------------------------------------------------------


def saved(workbook):
    stream = io.BytesIO()
    save_workbook(workbook, stream)
    return stream.getvalue()


def one_row(values):
    """The bytes of a write-only workbook whose first row holds `values`, through text_cell."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Feuille")
    sheet.append([text_cell(sheet, value) for value in values])
    return saved(workbook)


def first_row(data, **options):
    sheet = load_workbook(io.BytesIO(data), **options).worksheets[0]
    return next(sheet.iter_rows())


TEXTS = [*FORMULA_LIKE, "#N/A", "#REF!", "Ligne 1\r\nLigne 2", "\r", "fin\r", "_x000D_"]


@pytest.mark.parametrize("read_only", [False, True])
def test_xlsx_text_cells_are_strings_holding_exactly_what_was_typed(read_only):
    row = first_row(one_row(TEXTS), read_only=read_only)

    assert [cell.data_type for cell in row] == ["s"] * len(TEXTS)
    assert [cell.value for cell in row] == TEXTS


def test_xlsx_text_cells_read_back_exactly_through_the_upload_reader():
    with uploads.workbook(one_row(TEXTS)) as book:
        rows = list(uploads.sheet_rows(uploads.active_sheet(book)))
    assert rows == [(1, TEXTS)]


def test_numbers_and_dates_stay_numbers_and_dates():
    row = first_row(one_row([12, -5, 2.5, datetime.date(2020, 1, 31)]))
    assert [cell.data_type for cell in row] == ["n", "n", "n", "d"]


def test_a_cell_holding_a_forbidden_control_character_is_written_with_a_replacement():
    row = first_row(one_row(["Ligne\x0bsuivante", "=x\x01"]))
    assert [cell.value for cell in row] == ["Ligne\ufffdsuivante", "=x\ufffd"]
    assert [cell.data_type for cell in row] == ["s", "s"]


def test_rich_text_with_a_forbidden_character_is_written_with_a_replacement():
    bold = InlineFont(b=True)
    rich = CellRichText([TextBlock(bold, "=Org\x0b"), "\n", TextBlock(bold, "@Autre")])
    row = first_row(one_row([rich]), rich_text=True)
    assert str(row[0].value) == "=Org\ufffd\n@Autre"
    assert row[0].data_type == "s"


def test_as_text_turns_a_formula_cell_back_into_text():
    sheet = Workbook().active
    cell = sheet.cell(1, 1, "=1+1")
    assert cell.data_type == "f"
    assert as_text(cell).data_type == "s"
    assert cell.value == "=1+1"


def test_a_workbook_without_carriage_returns_is_saved_as_openpyxl_writes_it():
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Feuille")
    sheet.append([text_cell(sheet, "=1+1"), text_cell(sheet, "a\nb")])

    assert first_row(saved(workbook))[1].value == "a\nb"


def test_table_has_a_bold_frozen_header_and_columns_as_wide_as_their_text():
    stream = io.BytesIO()
    write_table(
        stream,
        ["titre", "moyens"],
        [["=1+1", "Ligne 1\nLigne 2"], ["x" * 300, None]],
        title="Actions",
    )

    sheet = load_workbook(io.BytesIO(stream.getvalue())).active
    assert sheet.title == "Actions"
    assert sheet.freeze_panes == "A2"
    header, first, second = sheet.iter_rows()
    assert [cell.value for cell in header] == ["titre", "moyens"]
    assert all(cell.font.b for cell in header)
    assert (first[0].value, first[0].data_type) == ("=1+1", "s")
    assert first[1].alignment.wrap_text
    assert second[1].value is None
    assert sheet.column_dimensions["A"].width == 100  # not 300: a readable column
    assert sheet.column_dimensions["B"].width == len("Ligne 1\nLigne 2")
