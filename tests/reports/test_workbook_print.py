"""The funders' workbook on paper: every row as tall as its wrapped text (neither openpyxl nor
LibreOffice sizes a row on its own, so a row left at 15 pt printed its text over the next
rows), every sheet fitted to the page's width and as many pages tall as it takes, on letter
paper, with its header repeated on each page."""

import datetime
import io
import re
from decimal import Decimal

import pytest
from django.core.management import call_command
from openpyxl import load_workbook

from plans.models import Plan, Review
from reports import workbook
from reports.workbook import line_count, row_height
from tests.factories import build_plan
from tests.plans.sources import ROOT

pytestmark = pytest.mark.django_db

SINCE = datetime.date(2020, 1, 1)


@pytest.fixture
def casal(db):
    call_command("loaddata", ROOT / "fixtures" / "casal_2016_2020.json", verbosity=0)
    return Plan.objects.get(slug="casal-2016-2020")


def export(plan):
    stream = io.BytesIO()
    workbook.export(plan, stream, since=SINCE)
    return load_workbook(io.BytesIO(stream.getvalue()))


# --- Estimating the lines of wrapped text ---------------------------------------------------


def test_text_shorter_than_its_column_takes_one_line():
    assert line_count("Portrait", 20) == 1
    assert line_count("", 20) == 1


def test_each_line_break_starts_a_line():
    assert line_count("CSDL\nRUI\nVille de Laval", 30) == 3


def test_long_text_wraps_at_words_into_more_lines_in_a_narrower_column():
    text = "Favoriser et faire rayonner les produits locaux dans les événements " * 4

    wide, narrow = line_count(text, 60), line_count(text, 30)

    assert 4 <= wide < narrow
    # Never fewer lines than LibreOffice draws in DejaVu Sans, its widest default font:
    # measured, 47 to 52 characters of this text a line in a column 40 wide.
    assert line_count(text, 40) >= len(text) / 47


def test_bold_and_capitals_take_more_room():
    words = "soutenir le développement " * 6

    assert line_count(words, 30, bold=True) >= line_count(words, 30)
    assert line_count(words.upper(), 30) > line_count(words, 30)


def test_a_word_wider_than_its_column_is_broken_over_lines():
    assert line_count("x" * 100, 20) >= 5


def test_row_height_grows_with_lines_and_type_size():
    assert row_height(1) >= 15  # Excel's own row for one line of 11 pt type
    assert row_height(3) >= 3 * 15 - 2
    assert row_height(1, 16) > row_height(1)


# --- The rows and pages of the plan's workbook ----------------------------------------------


def test_every_wrapped_row_is_tall_enough_for_its_lines(casal):
    book = export(casal)
    sheet = book["Plan"]
    widths = {letter: dimension.width for letter, dimension in sheet.column_dimensions.items()}

    checked = 0
    for row in sheet.iter_rows(min_row=5):
        longest = max(
            line_count(str(cell.value), widths[cell.column_letter], bold=cell.font.b)
            for cell in row
            if isinstance(cell.value, str)
        )
        height = sheet.row_dimensions[row[0].row].height or 15
        assert height >= row_height(longest) - 0.1, row[0].value
        checked += longest > 1
    assert checked > 20  # most of the CASAL plan's rows wrap


def test_every_sheet_prints_to_the_pages_width_as_many_pages_tall_as_needed(casal):
    book = export(casal)

    for sheet in book.worksheets:
        setup = sheet.page_setup
        assert sheet.sheet_properties.pageSetUpPr.fitToPage, sheet.title
        assert (setup.fitToWidth, setup.fitToHeight) == (1, 0), sheet.title
        assert setup.paperSize == int(sheet.PAPERSIZE_LETTER)  # letter, as in Quebec
        assert 0.25 <= sheet.page_margins.left <= 0.75
    orientations = {sheet.title: sheet.page_setup.orientation for sheet in book.worksheets}
    assert orientations["Sommaire"] == "portrait"
    assert orientations["Plan"] == orientations["Cibles"] == "landscape"


def test_tables_repeat_their_header_on_every_page(casal):
    book = export(casal)

    assert book["Plan"].print_title_rows == "$4:$4"
    for name in ["Cibles", "Organismes"]:
        assert book[name].print_title_rows == "$1:$1"
    assert book["Changements"].print_title_rows == "$3:$3"


def test_the_legend_spans_the_plan_and_wraps_within_it(casal):
    sheet = export(casal)["Plan"]

    assert "A3:L3" in {str(merged) for merged in sheet.merged_cells.ranges}
    assert sheet["A3"].alignment.wrap_text


# --- Figures a funder can compute with -------------------------------------------------------

FIGURE_AS_TEXT = re.compile(r"\d[\d\s.,]*\s?[%$]|\$\d|\d{4}-\d\d-\d\d( \d\d:\d\d(:\d\d)?)?")


@pytest.mark.parametrize("language", ["fr", "en"])
def test_dates_percentages_and_money_are_numbers_with_formats(language):
    plan = build_plan(actions=3)[0]
    review = Review.objects.create(
        plan=plan, title="Bilan", start=datetime.date(2024, 4, 1), end=datetime.date(2025, 3, 31)
    )
    review.funding.create(funder="PIC", amount=Decimal("81626"))
    stream = io.BytesIO()
    workbook.export(plan, stream, since=SINCE, language=language)
    book = load_workbook(io.BytesIO(stream.getvalue()))

    dated = 0
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, datetime.datetime):
                    dated += 1
                    assert cell.number_format == "yyyy-mm-dd", (sheet.title, cell.coordinate)
                elif isinstance(cell.value, str):
                    assert not FIGURE_AS_TEXT.fullmatch(cell.value), (sheet.title, cell.value)
    assert dated >= 2 + 3  # the cover's adoption and production, each action's update
    cover = book.worksheets[0]
    progress = cover["B11"]  # the estimated progress, after the counts by status
    assert isinstance(progress.value, int | float) and progress.number_format.endswith("%")
    amounts = [
        cell for row in book.worksheets[4].iter_rows() for cell in row if cell.value == 81626
    ]
    assert amounts and all("$" in cell.number_format for cell in amounts)
