"""Text stays text in the spreadsheets the application writes and reads back.

A title typed as `=HYPERLINK("http://…")` must reach a funder as those very characters, never
as a live formula (OWASP, "CSV Injection"). In a CSV file a spreadsheet program reads a cell
that starts with `=`, `+`, `-`, `@`, a tab or a carriage return as a formula, so such a cell is
written with a leading apostrophe, and the imports take it off again: the round trip is exact.
In an XLSX file the cell is simply stored as a string, never as a formula or an error value,
and its carriage returns are written so that they read back as carriage returns.
"""

import datetime
import re
import shutil
import tempfile
import time
import zipfile

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.drawing.spreadsheet_drawing import SpreadsheetDrawing
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import IllegalCharacterError
from openpyxl.worksheet._writer import WorksheetWriter
from openpyxl.writer.excel import ExcelWriter

# A formula trigger, after any apostrophes a previous neutralisation (or the person) put
# there: `'=x` is written `''=x` so that taking one apostrophe off gives it back exactly.
_TRIGGERED = re.compile(r"'*[=+\-@\t\r]")
_NEUTRALISED = re.compile(r"'+[=+\-@\t\r]")
# A plain number ("-5", "+3,5") is data, not a formula, in every spreadsheet program.
_NUMBER = re.compile(r"[+-]?[0-9]+([.,][0-9]+)?")


def neutralise(value):
    """The cell to write in a CSV file for `value`: formula-like text gets an apostrophe."""
    if isinstance(value, str) and _TRIGGERED.match(value) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def restore(value):
    """The text a CSV cell written by neutralise() stood for."""
    if isinstance(value, str) and _NEUTRALISED.match(value):
        return value[1:]
    return value


def as_text(cell):
    """An openpyxl cell whose string value stays a string: openpyxl stores any text that
    starts with "=" as a formula, and "#N/A", "#REF!"… as error values."""
    if cell.data_type in ("f", "e") and isinstance(cell.value, str):
        cell.data_type = "s"
    return cell


def storable(value):
    """`value` as an XLSX cell can hold it: the control characters the format forbids (a
    vertical tab pasted from Word, say) become U+FFFD rather than failing the whole file."""
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
    if isinstance(value, CellRichText):
        return CellRichText(
            [
                TextBlock(block.font, storable(block.text))
                if isinstance(block, TextBlock)
                else storable(block)
                for block in value
            ]
        )
    return value


def text_cell(worksheet, value):
    """A write-only cell for `value` in which text stays text (see `as_text`, `storable`)."""
    try:
        cell = WriteOnlyCell(worksheet, value)
    except IllegalCharacterError:
        cell = WriteOnlyCell(worksheet, storable(value))
    if isinstance(value, CellRichText) and ILLEGAL_CHARACTERS_RE.search(str(value)):
        # openpyxl checks plain strings only: a forbidden character in a run would make
        # a file that Excel offers to "repair".
        cell.value = storable(value)
    return as_text(cell)


# Bytes of a part read or rewritten at a time when a saved workbook is looked over.
_CHUNK = 1024 * 1024


def save_workbook(workbook, stream):
    """Save `workbook` to `stream` (binary, open for writing), its carriage returns intact.

    XML reads a carriage return in text as a line feed, so the "\\r\\n" a coordinator's browser
    sends in a text area came back from the workbook as "\\n": a change the import then
    reported. openpyxl writes the character as it is (attributes aside, which it escapes); each
    one, necessarily in text, is rewritten as the reference "&#13;", which reads back as it was.
    """
    with tempfile.SpooledTemporaryFile(max_size=64 * 1024 * 1024) as saved:
        workbook.save(saved)
        saved.seek(0)
        with zipfile.ZipFile(saved) as archive:
            parts = archive.infolist()
            if any(_has_carriage_return(archive, part) for part in parts):
                with zipfile.ZipFile(stream, "w") as rewritten:
                    for part in parts:
                        copy = zipfile.ZipInfo(part.filename, part.date_time)
                        copy.compress_type = part.compress_type
                        copy.external_attr = part.external_attr
                        with archive.open(part) as source, rewritten.open(copy, "w") as target:
                            while chunk := source.read(_CHUNK):
                                if part.filename.endswith(".xml"):
                                    chunk = chunk.replace(b"\r", b"&#13;")
                                target.write(chunk)
                return
        saved.seek(0)
        shutil.copyfileobj(saved, stream)


def _has_carriage_return(archive, part):
    if not part.filename.endswith(".xml"):
        return False
    with archive.open(part) as source:
        while chunk := source.read(_CHUNK):
            if b"\r" in chunk:
                return True
    return False


class _Pipe:
    """A sink zipfile writes to without seeking; the bytes written so far are taken out."""

    def __init__(self):
        self._chunks = []
        self.size = 0

    def write(self, data):
        self._chunks.append(bytes(data))
        self.size += len(data)
        return len(data)

    def flush(self):
        pass

    def take(self):
        data = b"".join(self._chunks)
        self._chunks, self.size = [], 0
        return data


class _CarriageReturns:
    """Writes XML text on to `target` with each carriage return as "&#13;" (see
    save_workbook: XML would read it back as a line feed)."""

    def __init__(self, target):
        self.target = target

    def write(self, data):
        return self.target.write(bytes(data).replace(b"\r", b"&#13;"))

    def writestr(self, name, data, *args, **kwargs):  # as an archive, for ExcelWriter
        if name.endswith(".xml") if isinstance(name, str) else name.filename.endswith(".xml"):
            data = (data.encode() if isinstance(data, str) else data).replace(b"\r", b"&#13;")
        return self.target.writestr(name, data, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.target, name)


class _StreamedExcelWriter(ExcelWriter):
    """openpyxl's writer for the parts after the sheets, whose XML is in the archive already."""

    def write_worksheet(self, ws):
        ws._drawing = SpreadsheetDrawing()
        ws._rels = ws._writer._rels
        self.manifest.append(ws)


class StreamedWorkbook:
    """A write-only workbook written as a zip while its rows come, for a download that
    starts at once and a memory that does not grow with the rows.

    openpyxl writes each write-only sheet to a temporary file and zips them all on saving:
    nothing reaches the reader before the last row. Here each sheet's XML goes straight
    into its zip entry, compressed as it comes, and `take()` hands out what is ready.
    Python's zipfile writes to a stream it cannot seek (each entry followed by a data
    descriptor), which Excel, LibreOffice and openpyxl read: no streaming-zip library is
    needed. Sheets are written one after the other: `start(ws)` before a sheet's first
    row, once its column widths and frozen panes are set.
    """

    def __init__(self):
        self.workbook = Workbook(write_only=True)
        self._pipe = _Pipe()
        self._archive = zipfile.ZipFile(self._pipe, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
        self._open = None  # (worksheet, zip entry) being written

    def create_sheet(self, title):
        self._close_sheet()
        ws = self.workbook.create_sheet(title)
        ws._id = len(self.workbook.worksheets)  # its part's name, as ExcelWriter numbers it
        return ws

    def start(self, ws):
        """Open `ws`'s part in the zip and write what comes before its rows."""
        self._close_sheet()
        part = zipfile.ZipInfo(ws.path[1:], time.localtime()[:6])  # dated, as writestr's
        part.compress_type = zipfile.ZIP_DEFLATED
        entry = self._archive.open(part, "w")
        ws._writer = WorksheetWriter(ws, out=_CarriageReturns(entry))
        ws._writer.write_top()
        self._open = (ws, entry)

    def _close_sheet(self):
        if self._open is not None:
            ws, entry = self._open
            ws.close()  # the rows' end, filters, merged cells and print set-up
            entry.close()
            self._open = None

    @property
    def pending(self):
        """Bytes ready to be taken."""
        return self._pipe.size

    def take(self):
        return self._pipe.take()

    def finish(self):
        """Write the parts after the sheets and the zip's directory; the last bytes."""
        for ws in self.workbook.worksheets:
            if ws._writer is None:  # a sheet without a row
                self.start(ws)
        self._close_sheet()
        self.workbook.properties.modified = datetime.datetime.now(datetime.UTC).replace(
            tzinfo=None
        )
        _StreamedExcelWriter(self.workbook, _CarriageReturns(self._archive)).save()
        return self.take()


# What a column may be widened to, in characters (Excel's own limit is 255).
MAX_COLUMN_WIDTH = 100


def write_table(stream, headers, rows, *, title):
    """A one-sheet workbook of `headers` (bold, frozen above the rows) and `rows`, whose text
    stays text, as tablib writes one: each column as wide as its widest value, the cells
    that hold a line break wrapped."""
    rows = list(rows)
    table = [list(headers), *rows] if headers else rows
    widths = {}
    for row in table:
        for index, value in enumerate(row, start=1):
            width = len(str(value)) if value is not None else 0
            if width > widths.get(index, 0):
                widths[index] = width
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title)
    for index, width in widths.items():
        sheet.column_dimensions[get_column_letter(index)].width = min(width, MAX_COLUMN_WIDTH)
    bold, wrap = Font(bold=True), Alignment(wrap_text=True)
    if headers:
        sheet.freeze_panes = "A2"
    for number, row in enumerate(table):
        cells = []
        for value in row:
            cell = text_cell(sheet, value)
            if number == 0 and headers:
                cell.font = bold
            elif isinstance(value, str) and "\n" in value:
                cell.alignment = wrap
            cells.append(cell)
        sheet.append(cells)
    save_workbook(workbook, stream)
