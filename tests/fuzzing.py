"""What the import fuzzing tests share: the bad files a coordinator could upload, as hypothesis
strategies, and the means to check that a refused import wrote nothing.

The files start from a real export (a table of text cells) and go wrong the ways files do:
cells replaced by odd text, columns dropped, doubled or shuffled, rows doubled; then written
as CSV in some encoding and dialect, or as a workbook with extra sheets and merged cells; or
the bytes themselves are cut, flipped, or zipped into something that is no workbook.

The database, in three nested transactions: a test module loads the seeded plans once
(`loaded_for_module`, undone after the module, as Django's setUpTestData is); pytest-django
wraps each test in its own; each example runs in `rolled_back()`, a savepoint undone at its
end, so that no example sees what another wrote. Hypothesis warns that function-scoped fixtures
(the logged-in client of tests/conftest.py) are not reset between examples
(`HealthCheck.function_scoped_fixture`): the savepoint is what resets what they touch. This
keeps pytest's fixtures, which `hypothesis.extra.django.TestCase` would not.
"""

import contextlib
import csv
import datetime
import html
import io
import os
import typing
import zipfile

from django.apps import apps
from django.core.management import call_command
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.database import DirectoryBasedExampleDatabase
from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from tests.helpers import MACHINE_TEMP
from tests.plans.sources import ROOT

FIXTURES = ROOT / "fixtures"
# CI runs the same examples every time; locally each run explores new ones and replays the
# failures it found, kept outside the checkout. FUZZ_EXAMPLES=1000 hunts longer.
CI = "CI" in os.environ


def fuzz_settings(max_examples):
    """`max_examples` per run, which keeps the suite quick; no deadline, as an admin round trip
    takes from a few milliseconds to most of a second."""
    return settings(
        max_examples=int(os.environ.get("FUZZ_EXAMPLES", max_examples)),
        deadline=None,
        derandomize=CI,
        database=None
        if CI
        else DirectoryBasedExampleDatabase(os.path.join(MACHINE_TEMP, "casal-fuzz")),
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
        print_blob=True,
    )


class Source:
    """A real export to damage: its workbook's bytes and its rows of text, header first."""

    def __init__(self, name, xlsx, table):
        self.name, self.xlsx, self.table = name, xlsx, table

    def __repr__(self):
        # Hypothesis prints the test's arguments with a failing example: not 100 kB of bytes.
        return f"<{self.name}>"

    def bad_files(self, *, max_rows=None):
        """Every kind of bad file this export can turn into, as `BadFile`s; mostly tables,
        whose mistakes reach further into an import than unreadable bytes do."""
        table = mutated_table(self, max_rows=max_rows)
        csv_files = bad_file("csv", table.flatmap(csv_bytes))
        xlsx_files = bad_file("xlsx", st.one_of(table.flatmap(xlsx_bytes), mutated_workbook(self)))
        return st.one_of(
            *[csv_files] * 4,
            *[xlsx_files] * 4,
            bad_file("xlsx", st.one_of(corrupted(self), broken_zip(self))),
            bad_file("other", st.one_of(other_zip(), random_bytes)),
        )


class BadFile(typing.NamedTuple):
    kind: str  # what it was made as: "csv", "xlsx" or "other"
    name: str
    data: bytes


def bad_file(kind, contents):
    """A BadFile of `contents`, named as its kind would be, or sometimes not."""
    names = {"csv": "plan.csv", "xlsx": "plan.xlsx", "other": "plan.xlsx"}
    name = st.one_of(st.just(names[kind]), st.just(names[kind]), file_names)
    return st.builds(BadFile, st.just(kind), name, contents)


# --- The database before and after -----------------------------------------------------------

# Every table an import could write to: the plan data, its history (django-simple-history
# keeps it in the same apps) and the admin's log; not the upload kept for the confirmation.
SNAPSHOT_APPS = ("plans", "actions", "partners", "admin")
NOT_PLAN_DATA = {"plans.UploadedTable"}


@contextlib.contextmanager
def rolled_back():
    """A savepoint undone at the end, whatever the example wrote."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


@contextlib.contextmanager
def loaded_for_module(django_db_blocker, *names):
    """The seeded fixtures `names`, loaded once for a test module and undone after it: each
    test's own transaction, and each example's savepoint, nest inside (as with Django's
    setUpTestData), so that the seeding is paid once, not once per test."""
    with django_db_blocker.unblock(), rolled_back():
        call_command("loaddata", *[FIXTURES / name for name in names], verbosity=0)
        yield


def snapshot():
    """{table: every row's values, by primary key}: equal before and after means untouched."""
    tables = {}
    for label in SNAPSHOT_APPS:
        for model in apps.get_app_config(label).get_models(include_auto_created=True):
            if model._meta.label in NOT_PLAN_DATA:
                continue
            tables[model._meta.db_table] = list(model._base_manager.order_by("pk").values_list())
    return tables


def counts(state):
    return {table: len(rows) for table, rows in state.items()}


def page_text(response):
    return html.unescape(response.content.decode())


def flash_messages(response):
    return [str(message) for message in response.wsgi_request._messages]


def assert_shown(response, messages):
    """A refusal gives its reasons, every one of them on the page."""
    assert messages, "refused without a message"
    text = page_text(response)
    for message in messages:
        assert str(message).strip()
        assert str(message) in text


file_names = st.sampled_from(
    ["plan.xlsx", "plan.csv", "PLAN.CSV", "plan.txt", "plan", "plan.xls", "plan.pdf", "é à.csv"]
)


# --- Text that goes wrong --------------------------------------------------------------------

# What spreadsheets' cells hold when they go wrong, by kind, so that each kind comes up often.
BLANKS = ["", " ", "\t", "\n", "\ufeff", "\u200d"]
FORMULAS = ["=1+1", "=SUM(A1:A3)", '=HYPERLINK("http://exemple.org";"lien")', "+1", "@A1"]
NUMBERS = [
    "0",
    "-0",
    "-5",
    "100",
    "101",
    "1,5",
    "40 %",
    "½",
    "1e308",
    "-1e308",
    "NaN",
    "inf",
    "99999999999999999999999",
    "9" * 4301,  # longer than Python's int() reads
    "-" + "9" * 4301,
]
DATES = ["31/02/2020", "2020-13-45", "1 février 2017", "00/00/0000", "2017-02-01 00:00:00"]
CODES = [
    "1",
    "1.1",
    "1.1.1",
    "1.1.1.",
    "1..1",
    "01.01.001",
    "0.0.0",
    "9.9.9",
    "1.x",
    "١.١.١",
    "1.1.1 1.1.2",
    "1.1.1.1.1.1.1.1.1.1.1",
    "70000.1.1",
    "1.70000.1",
    "99999999999999999999.1.1",
    "9" * 4301 + ".1.1",
    "1.1." + "9" * 4301,
    "Objectif 1 : Nourrir",
    "OBJECTIF 99999 : Nourrir",
    "1.1.1 Une action",
]
VOCABULARY = [
    "À venir",
    "en cours",
    "RÉALISÉE",
    "Reportée",
    "abandoned",
    "Terminée",
    "done",
    "2016-2018",
    "2018-2019, 2030-2031",
    "2030-2031",
    ",",
    "X",
    "x",
    "?",
    "Coordo.",
    "Tous",
    "CSDL Ville de Laval",
    "casal-2016-2020",
    "lachine-2018-2021",
    "casal",
    "inconnu",
    "Organisme communautaire",
    "coordination",
]
TRICKY = [
    "\u202eRTL",
    "😀🍎",
    "e\u0301",
    "_x0000_",
    "_x001F_",
    "'",
    '"',
    'a"b',
    "a\nb",
    "a\r\nb",
    "a\rb",
    "a;b",
    "a,b",
    "\\",
    "<script>alert(1)</script>",
    "{{ x }}",
    "%(value)s",
    "%s",
]

# Over the lengths of the fields (60, 200, 500 characters).
long_text = st.builds(
    lambda piece, times: piece * times,
    st.sampled_from(["x", "é", "1.", "😀", " ", "\n", "a, "]),
    st.sampled_from([61, 201, 501, 2001]),
)

plain_text = st.one_of(
    st.text(st.characters(codec="latin-1", categories=["L", "N", "Zs"]), min_size=1, max_size=60),
    st.sampled_from(VOCABULARY),
)

odd_text = st.one_of(
    *[st.sampled_from(kind) for kind in (BLANKS, FORMULAS, NUMBERS, DATES, CODES, VOCABULARY)],
    st.sampled_from(TRICKY),
    st.text(max_size=40),
    long_text,
)


# --- Tables that go wrong --------------------------------------------------------------------


# The columns that name a row in the exports: the plan table's, the actions', the organisations'.
NAMING = {"code", "plan", "nom", "nom court", "coalition"}


@st.composite
def mutated_table(draw, source, *, max_rows=None):
    """The source's table (rows of cells, the header first) after a few of the mistakes files
    have."""
    rows = [list(row) for row in source.table]
    if max_rows is not None and len(rows) > max_rows + 1:
        # A real file cut to a few rows: the whole one makes every example slow.
        start = draw(st.integers(1, len(rows) - max_rows))
        rows = [rows[0], *rows[start : start + max_rows]]
    if draw(st.integers(0, 3)) == 0:
        # Edited as the coordinator means to: a few cells retyped, which an import accepts
        # as often as not, so that accepted imports get checked too.
        for _ in range(draw(st.integers(1, 3))):
            row = rows[draw(st.integers(1, len(rows) - 1))] if len(rows) > 1 else rows[0]
            if row:
                row[draw(st.integers(0, len(row) - 1))] = draw(plain_text)
        return rows
    for _ in range(draw(st.integers(0, 6))):
        width = max(len(row) for row in rows)
        operation = draw(
            st.sampled_from(
                [
                    *["cell"] * 8,
                    *["identifier"] * 2,
                    "header",
                    "drop_column",
                    "duplicate_column",
                    "shuffle_columns",
                    "add_column",
                    "drop_row",
                    "duplicate_row",
                    "shuffle_rows",
                    "blank_row",
                    "ragged_row",
                ]
            )
        )
        if operation == "cell" and len(rows) > 1:
            row = draw(st.integers(1, len(rows) - 1))
            # Mostly the first columns, where the exports put what identifies a row.
            column = draw(st.one_of(st.integers(0, 2), st.integers(0, width)))
            rows[row] += [""] * (column + 1 - len(rows[row]))
            rows[row][column] = draw(odd_text)
        elif operation == "identifier" and len(rows) > 1:
            # What names a row (its code, plan or name) clashes with another row's or goes odd.
            columns = [i for i, header in enumerate(rows[0]) if str(header).casefold() in NAMING]
            if columns:
                column = draw(st.sampled_from(columns))
                taken = [row[column] for row in rows[1:] if column < len(row)] or [""]
                row = rows[draw(st.integers(1, len(rows) - 1))]
                row += [""] * (column + 1 - len(row))
                row[column] = draw(
                    st.one_of(st.sampled_from(taken), st.sampled_from(CODES + NUMBERS))
                )
        elif operation == "header":
            column = draw(st.integers(0, width))
            rows[0] += [""] * (column + 1 - len(rows[0]))
            rows[0][column] = draw(st.one_of(odd_text, st.sampled_from(list(rows[0]))))
        elif operation == "drop_column" and width:
            column = draw(st.integers(0, width - 1))
            rows = [row[:column] + row[column + 1 :] for row in rows]
        elif operation == "duplicate_column" and width:
            column = draw(st.integers(0, width - 1))
            rows = [
                [*row[: column + 1], *row[column : column + 1], *row[column + 1 :]] for row in rows
            ]
        elif operation == "shuffle_columns":
            order = draw(st.permutations(range(width)))
            rows = [[row[i] if i < len(row) else "" for i in order] for row in rows]
        elif operation == "add_column":
            rows = [[*row, draw(odd_text)] for row in rows]
        elif operation == "drop_row" and len(rows) > 1:
            del rows[draw(st.integers(0, len(rows) - 1))]
        elif operation == "duplicate_row":
            index = draw(st.integers(0, len(rows) - 1))
            rows.insert(index, list(rows[index]))
        elif operation == "shuffle_rows":
            rows = [rows[0], *draw(st.permutations(rows[1:]))]
        elif operation == "blank_row":
            rows.insert(draw(st.integers(0, len(rows))), [])
        elif operation == "ragged_row" and len(rows) > 1:
            row = draw(st.integers(1, len(rows) - 1))
            rows[row] = [*rows[row][: draw(st.integers(0, width + 2))], draw(odd_text)]
    if draw(st.integers(0, 9)) == 0:
        # Empty columns far to the right, up to past what column letters can name (ZZZ).
        rows[0] += [""] * (draw(st.sampled_from([30, 300, 18279])) - len(rows[0]))
    return rows


ENCODINGS = ["utf-8", "utf-8-sig", "cp1252", "latin-1", "utf-16", "utf-16-le", "mac_roman"]


@st.composite
def csv_bytes(draw, table):
    """The table as CSV, in the dialect and encoding of some spreadsheet or other."""
    out = io.StringIO(newline="")
    writer = csv.writer(
        out,
        delimiter=draw(st.sampled_from([",", ",", ";", "\t", "|", " "])),
        quoting=draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL])),
        lineterminator=draw(st.sampled_from(["\r\n", "\n", "\r"])),
    )
    writer.writerows([[str(cell) for cell in row] for row in table])
    return out.getvalue().encode(draw(st.sampled_from(ENCODINGS)), errors="replace")


CELL_FORMATS = ["General", "0%", "0.00%", "yyyy-mm-dd", "d mmmm yyyy", "@", "[h]:mm:ss"]
# Values a spreadsheet cell holds besides text.
other_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.datetimes(min_value=datetime.datetime(1899, 1, 1), max_value=datetime.datetime(2200, 1, 1)),
)


def sheet_text(value):
    """Text that openpyxl agrees to write: no control characters."""
    return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value


@st.composite
def xlsx_bytes(draw, table):
    """The table in a workbook: maybe under title rows, among other sheets, with merged cells,
    numbers and dates and formats where text was."""
    book = Workbook()
    sheets = [book.active]
    for _ in range(draw(st.integers(0, 2))):
        sheets.insert(draw(st.integers(0, len(sheets))), book.create_sheet())
    names = draw(
        st.lists(
            st.sampled_from(["Plan", "plan", "Feuil1", "Cibles", "Sheet", "Données", " Plan "]),
            min_size=len(sheets),
            max_size=len(sheets),
            unique_by=str.casefold,
        )
    )
    for sheet, name in zip(sheets, names, strict=True):
        sheet.title = name.strip() or "Feuille"
    target = draw(st.sampled_from(sheets))
    offset = draw(st.integers(0, 3))
    for column in range(draw(st.integers(0, 2))):  # a title above the table
        target.cell(1, column + 1, sheet_text(draw(odd_text)))
    for row_index, row in enumerate(table, start=1 + offset):
        for column_index, value in enumerate(row, start=1):
            if value in ("", None):
                continue
            cell = target.cell(row_index, column_index)
            cell.value = sheet_text(draw(st.one_of(st.just(value), st.just(value), other_values)))
            if draw(st.integers(0, 9)) == 0:
                cell.number_format = draw(st.sampled_from(CELL_FORMATS))
                cell.font = Font(
                    bold=draw(st.booleans()),
                    strike=draw(st.booleans()),
                    color=draw(st.sampled_from([None, "FFFF0000", "FF0070C0", "FF7A2A8C"])),
                )
    for sheet in sheets:
        if sheet is not target and draw(st.booleans()):  # another sheet with some other table
            for _ in range(draw(st.integers(1, 4))):
                sheet.append([sheet_text(draw(odd_text)) for _ in range(draw(st.integers(1, 4)))])
        for _ in range(draw(st.integers(0, 2))):
            top = draw(st.integers(1, max(sheet.max_row, 1)))
            left = draw(st.integers(1, max(sheet.max_column, 1)))
            sheet.merge_cells(
                start_row=top,
                start_column=left,
                end_row=top + draw(st.integers(0, 2)),
                end_column=left + draw(st.integers(0, 2)),
            )
    stream = io.BytesIO()
    book.save(stream)
    return stream.getvalue()


@st.composite
def mutated_workbook(draw, source):
    """A real workbook edited in place: its styles, rich text and other sheets kept."""
    book = load_workbook(io.BytesIO(source.xlsx), rich_text=True)
    for sheet in book.worksheets:
        sheet.tables.clear()  # a table whose header changed would not save
    for _ in range(draw(st.integers(1, 5))):
        sheet = draw(st.sampled_from(book.worksheets))
        operation = draw(
            st.sampled_from([*["cell"] * 3, "delete_cols", "insert_rows", "merge", "sheet"])
        )
        rows, columns = max(sheet.max_row, 1), max(sheet.max_column, 1)
        if operation == "cell":
            cell = sheet.cell(draw(st.integers(1, rows + 1)), draw(st.integers(1, columns + 1)))
            if type(cell).__name__ != "MergedCell":
                cell.value = sheet_text(draw(st.one_of(odd_text, other_values)))
        elif operation == "delete_cols":
            sheet.delete_cols(draw(st.integers(1, columns)), draw(st.integers(1, 2)))
        elif operation == "insert_rows":
            sheet.insert_rows(draw(st.integers(1, rows)), draw(st.integers(1, 3)))
        elif operation == "merge":
            top, left = draw(st.integers(1, rows)), draw(st.integers(1, columns))
            sheet.merge_cells(
                start_row=top, start_column=left, end_row=top + 1, end_column=left + 1
            )
        elif operation == "sheet":
            if len(book.worksheets) > 1 and draw(st.booleans()):
                book.remove(sheet)
            else:
                book.create_sheet(draw(st.sampled_from(["Plan", "Vide", "Feuil2"])), 0)
    stream = io.BytesIO()
    book.save(stream)
    return stream.getvalue()


# --- Bytes that go wrong ---------------------------------------------------------------------


@st.composite
def corrupted(draw, data):
    """`data` (bytes, or a source's workbook) cut short, with bytes flipped, inserted or
    dropped."""
    data = bytearray(data.xlsx if isinstance(data, Source) else data)
    for _ in range(draw(st.integers(1, 4))):
        operation = draw(st.sampled_from(["truncate", "flip", "insert", "delete"]))
        position = draw(st.integers(0, max(len(data) - 1, 0)))
        if operation == "truncate":
            del data[position:]
        elif operation == "flip" and data:
            data[position] = draw(st.integers(0, 255))
        elif operation == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=16))
        elif operation == "delete":
            del data[position : position + draw(st.integers(1, 64))]
    return bytes(data)


@st.composite
def broken_zip(draw, source):
    """A workbook's zip with parts missing, cut or replaced: a readable zip, a broken xlsx."""
    archive = zipfile.ZipFile(io.BytesIO(source.xlsx))
    parts = {name: archive.read(name) for name in archive.namelist()}
    for _ in range(draw(st.integers(1, 3))):
        name = draw(st.sampled_from(sorted(parts)))
        operation = draw(st.sampled_from(["drop", "truncate", "garble", "empty"]))
        if operation == "drop":
            del parts[name]
            if not parts:
                break
        elif operation == "truncate":
            parts[name] = parts[name][: draw(st.integers(0, len(parts[name])))]
        elif operation == "garble":
            parts[name] = draw(corrupted(parts[name]))
        else:
            parts[name] = b""
    stream = io.BytesIO()
    compression = draw(st.sampled_from([zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED]))
    with zipfile.ZipFile(stream, "w", compression) as out:
        for name, content in parts.items():
            out.writestr(name, content)
    return stream.getvalue()


@st.composite
def other_zip(draw):
    """A zip that is no workbook: a Word document, an archive of photos, an empty one."""
    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w") as out:
        for name in draw(
            st.lists(
                st.sampled_from(
                    [
                        "[Content_Types].xml",
                        "word/document.xml",
                        "xl/workbook.xml",
                        "photo.jpg",
                        "mimetype",
                        "notes.txt",
                    ]
                ),
                unique=True,
                max_size=4,
            )
        ):
            out.writestr(name, draw(st.binary(max_size=200)))
    return stream.getvalue()


MAGIC = [b"", b"PK\x03\x04", b"\xd0\xcf\x11\xe0", b"\xef\xbb\xbf", b"%PDF-1.4\n", b"\x89PNG\r\n"]
random_bytes = st.builds(
    lambda magic, rest: magic + rest, st.sampled_from(MAGIC), st.binary(max_size=2000)
)
