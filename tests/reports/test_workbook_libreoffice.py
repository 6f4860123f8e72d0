"""The funders' workbook printed by LibreOffice, as a funder without Excel prints it: each
seeded plan's workbook converted to PDF, whose words must never lie on one another (a row too
short for its wrapped text prints it over the next rows) nor be too small to read (a long
sheet squeezed onto one page)."""

import datetime
import itertools
import os
import re
import shutil
import subprocess
from collections import defaultdict
from xml.etree import ElementTree

import pytest

from reports import workbook

pytestmark = pytest.mark.django_db

TOOLS = ["soffice", "pdftotext"]
TIMEOUT = 180  # seconds: one conversion takes a few
# pdftotext draws a word's box from its font's ascent to its descent, about 1.3 times the
# type's size in DejaVu Sans: the lines of one paragraph overlap by a tenth of their height.
# Words overlap when their boxes share more than a quarter of the lower one's height.
LINE_OVERLAP = 0.25
HORIZONTAL_TOLERANCE = 0.5  # points
SMALLEST_WORD = 8.0  # points tall: type of about 6 pt at the least (it was 4 pt)


@pytest.fixture(scope="module")
def tools():
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        reason = (
            f"{', '.join(missing)} missing (apt-get install libreoffice-calc-nogui poppler-utils)"
        )
        if "CI" in os.environ:
            pytest.fail(f"{reason}; CI never skips the printed workbook.", pytrace=False)
        pytest.skip(reason)


def printed(plan, directory):
    """The plan's workbook as LibreOffice prints it: {page number: [(x0, y0, x1, y1, word)]}."""
    source = directory / workbook.filename(plan, datetime.date(2026, 12, 3))
    with source.open("wb") as stream:
        workbook.export(plan, stream, since=datetime.date(2020, 1, 1))
    # A profile of its own: two runs at once would otherwise share, and lock, the user's.
    profile = (directory / "profile").as_uri()
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation={profile}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(directory),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=TIMEOUT,
    )
    pdf = source.with_suffix(".pdf")
    assert pdf.exists(), "LibreOffice wrote no PDF"
    boxes = subprocess.run(
        ["pdftotext", "-bbox", str(pdf), "-"],
        check=True,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    ).stdout
    return words_by_page(boxes)


def words_by_page(xhtml):
    xhtml = re.sub(r"<!DOCTYPE[^>]*>", "", xhtml).replace(
        ' xmlns="http://www.w3.org/1999/xhtml"', ""
    )
    pages = defaultdict(list)
    for number, page in enumerate(ElementTree.fromstring(xhtml).iter("page"), start=1):
        for word in page.iter("word"):
            box = tuple(float(word.get(edge)) for edge in ("xMin", "yMin", "xMax", "yMax"))
            pages[number].append((*box, word.text))
    return pages


def sheet_of(words):
    """The sheet a page prints, as its footer names it at the bottom left."""
    bottom = max(y1 for _x0, _y0, _x1, y1, _word in words)
    return min((x0, word) for x0, _y0, _x1, y1, word in words if y1 == bottom)[1]


def overlapping(words):
    """The pairs of words printed on one another."""
    found = []
    for a, b in itertools.combinations(words, 2):
        across = min(a[2], b[2]) - max(a[0], b[0])
        down = min(a[3], b[3]) - max(a[1], b[1])
        if across > HORIZONTAL_TOLERANCE and down > LINE_OVERLAP * min(a[3] - a[1], b[3] - b[1]):
            found.append((a[4], b[4]))
    return found


def test_the_checks_catch_text_printed_over_text():
    # Two words of one line touching, two lines of a paragraph, then a line on another.
    line = [(10, 10, 40, 24, "Favoriser"), (43, 10, 60, 24, "et")]
    next_line = [(10, 22.5, 40, 36.5, "faire")]
    over = [(20, 15, 50, 29, "rayonner")]

    assert overlapping(line + next_line) == []
    assert overlapping(line + over) == [("Favoriser", "rayonner"), ("et", "rayonner")]


def test_printed_workbook_keeps_every_word_apart_and_legible(tools, seeded_plan, tmp_path):
    pages = printed(seeded_plan, tmp_path)

    for number, words in pages.items():
        assert overlapping(words) == [], f"page {number}"
        smallest = min(y1 - y0 for _x0, y0, _x1, y1, _word in words)
        assert smallest >= SMALLEST_WORD, f"page {number}: words {smallest:.1f} pt tall"
    sheets = [sheet_of(words) for words in pages.values()]
    assert sheets[0] == "Sommaire"
    assert sheets.count("Plan") >= 2  # no longer squeezed onto one page
