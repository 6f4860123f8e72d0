"""Reading uploaded spreadsheets without letting a hostile file hold the server.

A 2 MB workbook can inflate to 2 GB, a 5 MB CSV can hold a million rows, and a sheet can
claim 16,384 columns in one line of XML: before this module, each such file held a worker for
30 s or more and ended in a server error. Here every limit is a setting (the end of
casal_tracker/settings.py), read when the file is read, and each is checked before the work it
bounds:

- `UploadHandler` keeps the request's files in memory, never on local disk, and stops
  keeping them past IMPORT_MAX_BYTES (keeps nothing of a body longer than the limits) while
  still counting their size, so that the form says "Le fichier pèse 50 Mo; la limite est de
  5 Mo" at once (`check_size`).
- `workbook()` reads the zip's directory before any part is inflated: the declared sizes
  (IMPORT_MAX_UNCOMPRESSED_BYTES in all) and each part's compression ratio
  (IMPORT_MAX_COMPRESSION_RATIO). zipfile never inflates a part past the size its directory
  declares, so a part that lies about its size reads as damaged. The workbook is then opened
  in openpyxl's read-only mode, no part it reads whole larger than MAX_PART_BYTES, its shared
  strings read here so that their XML is released as it is read.
- `sheet_rows()` streams a sheet's rows from its XML, checking IMPORT_MAX_ROWS,
  IMPORT_MAX_COLUMNS and IMPORT_MAX_CELLS as each row and cell arrives, and never pads a row
  to the dimension the sheet declares (a forged `<dimension ref="A1:XFD1048576"/>` costs
  nothing). It keeps the cells' fonts and rich text, inline or shared, which the plan-table
  import reads the partner legend from. Each element of the XML is released once read, and
  a sheet of more elements than its cells could need reads as damaged.

What a file within every limit can still cost, at worst, is measured by
benchmarks/hostile_files.py: a few seconds, and about twice IMPORT_MAX_UNCOMPRESSED_BYTES of
memory for a single cell of that much text (the XML parser holds a text whole).
- `csv_rows()` applies the same row, column and cell limits to a CSV file.

Every refusal is an `UploadRefused`, whose message says in the coordinator's words what is
wrong and what to do.
"""

import contextlib
import csv
import io
import re
import zipfile

import tablib
from django.conf import settings
from django.core.files.uploadedfile import InMemoryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from openpyxl.cell.read_only import ReadOnlyCell
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont
from openpyxl.reader.excel import ExcelReader
from openpyxl.worksheet._read_only import ReadOnlyWorksheet
from openpyxl.worksheet._reader import (
    CELL_TAG,
    DATA_TAG,
    INLINE_STRING,
    ROW_TAG,
    WorkSheetParser,
)
from openpyxl.xml.constants import SHARED_STRINGS, SHEET_MAIN_NS
from openpyxl.xml.functions import iterparse

# A workbook is a dozen parts (a few dozen with pictures); thousands are no workbook.
MAX_PARTS = 1000
# The parts openpyxl reads whole into memory (styles, theme, workbook, relationships…): Excel
# writes them in kilobytes (a style sheet bloated by years of copy and paste, in megabytes);
# past this, their XML objects would take hundreds of megabytes.
MAX_PART_BYTES = 20 * 1024 * 1024
# A part's ratio is checked once it inflates past this: a small part cannot be a bomb, and
# XML that repeats itself (an empty style sheet) compresses far better than a sheet.
RATIO_CHECKED_FROM = 1024 * 1024
# XML elements inside one cell or shared string: a rich text of a few hundred runs at most
# (a cell holds 32,767 characters), not the millions one line of XML can hold.
MAX_CELL_ELEMENTS = 10_000
# XML elements of a sheet, or of the shared strings, for each cell IMPORT_MAX_CELLS allows:
# the funders' workbook has 4.7 a cell (its partners' rich text more, its numbers fewer),
# LibreOffice's 2. Python's XML parser reads about 300,000 elements a second.
ELEMENTS_PER_CELL = 6
# A CSV file's lines with their ends (\n, \r\n or \r alone), one at a time: what
# io.StringIO(text, newline="") gives, without its copy of the text at 4 bytes a character.
LINES = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")
STRING_TAG = f"{{{SHEET_MAIN_NS}}}si"
T_TAG = f"{{{SHEET_MAIN_NS}}}t"
RUN_TAG = f"{{{SHEET_MAIN_NS}}}r"
RUN_PROPERTIES_TAG = f"{{{SHEET_MAIN_NS}}}rPr"


class UploadRefused(ValueError):
    """The file is refused; the message says why, in the coordinator's words."""


def megabytes(size):
    """1 Mo, 1,4 Mo: a size as the messages write it."""
    value = size / 1024 / 1024
    return number_format(value, decimal_pos=0 if value.is_integer() else 1)


def damaged():
    return UploadRefused(
        _(
            "Ce classeur est endommagé et ne peut pas être lu. Ouvrez-le dans Excel, "
            "enregistrez-le de nouveau au format .xlsx, puis réessayez."
        )
    )


def check_size(size):
    """UploadRefused if a file of `size` bytes is over IMPORT_MAX_BYTES."""
    limit = settings.IMPORT_MAX_BYTES
    if size > limit:
        raise UploadRefused(
            _("Le fichier pèse %(size)s Mo; la limite est de %(limit)s Mo.")
            % {"size": megabytes(size), "limit": megabytes(limit)}
        )


def too_many_rows():
    return UploadRefused(
        _(
            "Le fichier dépasse la limite de %(limit)s lignes. Supprimez les lignes en trop, "
            "même vides, ou importez le tableau en plusieurs fichiers, puis réessayez."
        )
        % {"limit": number_format(settings.IMPORT_MAX_ROWS, force_grouping=True)}
    )


def too_many_cells():
    return UploadRefused(
        _(
            "Le fichier dépasse la limite de %(limit)s cellules. Supprimez les lignes et les "
            "colonnes en trop, même vides, ou importez le tableau en plusieurs fichiers, puis "
            "réessayez."
        )
        % {"limit": number_format(settings.IMPORT_MAX_CELLS, force_grouping=True)}
    )


def too_many_columns(row):
    return UploadRefused(
        _(
            "La ligne %(row)s dépasse la limite de %(limit)s colonnes. Supprimez les "
            "colonnes en trop, même vides, puis réessayez."
        )
        % {"row": row, "limit": number_format(settings.IMPORT_MAX_COLUMNS, force_grouping=True)}
    )


def old_format_refusal(data):
    """The refusal for an OLE container (an encrypted workbook, or Excel's format before
    2007), None for any other file."""
    if not data.startswith(b"\xd0\xcf\x11\xe0"):
        return None
    if "EncryptedPackage".encode("utf-16-le") in data:
        return UploadRefused(
            _(
                "Ce classeur est protégé par un mot de passe. Ouvrez-le dans Excel, "
                "retirez le mot de passe (Fichier › Informations › Protéger le classeur), "
                "enregistrez-le, puis importez-le de nouveau."
            )
        )
    return UploadRefused(
        _(
            "Ce fichier est dans l'ancien format Excel (.xls). Ouvrez-le dans Excel et "
            "enregistrez-le au format « Classeur Excel (.xlsx) »."
        )
    )


def read_failure(error):
    """What to tell her when `error` stopped an import from reading her file: the refusal's
    own words, or, for whatever else a damaged file raised, a plain way out."""
    if isinstance(error, UploadRefused):
        return str(error)
    return _(
        "Ce fichier ne peut pas être lu. Vérifiez que le format choisi (CSV ou classeur "
        "Excel .xlsx) est bien celui du fichier, puis réessayez."
    )


# The upload itself ---------------------------------------------------------------------------


class UploadHandler(FileUploadHandler):
    """FILE_UPLOAD_HANDLERS: every uploaded file in memory, never on local disk.

    Past IMPORT_MAX_BYTES (for the request's files together) a file's bytes are counted and
    dropped: the file then reads as empty, with its true `size`, and `too_large` set, so
    the form refuses it by its size, having held at most the limit in memory."""

    def __init__(self, request=None):
        super().__init__(request)
        self.kept = 0
        self.over = False

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        # A body longer than the limit, the other fields' own limit and their headers holds
        # more file than the limit: nothing of it is kept, not even its first megabytes.
        fields = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if content_length and fields is not None:
            self.over = content_length > settings.IMPORT_MAX_BYTES + fields + 1024 * 1024

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.file = io.BytesIO()
        self.too_large = self.over

    def receive_data_chunk(self, raw_data, start):
        if not self.too_large:
            if self.kept + len(raw_data) <= settings.IMPORT_MAX_BYTES:
                self.file.write(raw_data)
                self.kept += len(raw_data)
            else:
                self.too_large = True
                self.kept -= self.file.tell()
                self.file = io.BytesIO()
        # Consumed: no other handler gets the data.

    def file_complete(self, file_size):
        self.file.seek(0)
        upload = InMemoryUploadedFile(
            file=self.file,
            field_name=self.field_name,
            name=self.file_name,
            content_type=self.content_type,
            size=file_size,
            charset=self.charset,
            content_type_extra=self.content_type_extra,
        )
        upload.too_large = self.too_large
        return upload


# Workbooks ------------------------------------------------------------------------------------


def check_zip(data):
    """UploadRefused unless the zip's directory promises a workbook of bounded size; the
    directory is all that is read."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
        raise damaged() from None
    with archive:
        parts = archive.infolist()
    if len(parts) > MAX_PARTS:
        raise damaged()
    total_limit = settings.IMPORT_MAX_UNCOMPRESSED_BYTES
    ratio_limit = settings.IMPORT_MAX_COMPRESSION_RATIO
    total = 0
    for part in parts:
        if part.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            # Excel deflates; another method is no workbook, or one made to be refused.
            raise damaged()
        total += part.file_size
        if total > total_limit:
            raise UploadRefused(
                _(
                    "Ce classeur pèse plus de %(limit)s Mo une fois décompressé : trop pour "
                    "être lu. Copiez le tableau seul dans un nouveau classeur, enregistrez-le, "
                    "puis réessayez."
                )
                % {"limit": megabytes(total_limit)}
            )
        ratio = part.file_size / max(part.compress_size, 1)
        if part.file_size > RATIO_CHECKED_FROM and ratio > ratio_limit:
            raise UploadRefused(
                _(
                    "Une partie de ce classeur se décompresse %(ratio)s fois plus grande "
                    "qu'elle n'est compressée (la limite est de %(limit)s fois) : il ne peut "
                    "pas être lu sans risque. Copiez le tableau seul dans un nouveau "
                    "classeur, enregistrez-le, puis réessayez."
                )
                % {
                    "ratio": number_format(int(ratio), force_grouping=True),
                    "limit": number_format(ratio_limit, force_grouping=True),
                }
            )


class PartLimitedZip(zipfile.ZipFile):
    """The workbook's zip, as openpyxl reads it: a part it reads whole (styles, theme,
    workbook, relationships…) may not inflate past MAX_PART_BYTES, whatever its name; the
    worksheets and shared strings, which it opens, are streamed."""

    def read(self, name, pwd=None):
        part = name if isinstance(name, zipfile.ZipInfo) else self.getinfo(name)
        if part.file_size > MAX_PART_BYTES:
            raise damaged()
        return super().read(name, pwd)


class Sheet(ReadOnlyWorksheet):
    """openpyxl's read-only worksheet, without its size: openpyxl looks for the dimension the
    sheet declares, and parses the whole sheet when there is none. Read by `sheet_rows`."""

    def _get_size(self):
        pass


class LimitedExcelReader(ExcelReader):
    """openpyxl's reader in read-only mode, its zip a PartLimitedZip, its shared strings read
    by `shared_strings`, its worksheets unsized, and its chart sheets left out (nothing to
    import there)."""

    def __init__(self, data, **options):
        super().__init__(io.BytesIO(data), **options)
        self.archive.close()
        self.archive = PartLimitedZip(io.BytesIO(data))

    def read_strings(self):
        self.shared_strings = []
        part = self.package.find(SHARED_STRINGS)
        if part is not None:
            with self.archive.open(part.PartName[1:]) as source:
                self.shared_strings = shared_strings(source, rich_text=self.rich_text)

    def read_worksheets(self):
        for sheet, relation in self.parser.find_sheets():
            if relation.target in self.valid_files and "chartsheet" not in relation.Type:
                worksheet = Sheet(self.wb, sheet.name, relation.target, self.shared_strings)
                worksheet.sheet_state = sheet.state
                worksheet.rich_text = self.rich_text
                self.wb._sheets.append(worksheet)


@contextlib.contextmanager
def workbook(data, *, rich_text=False):
    """The uploaded .xlsx as openpyxl's read-only workbook, once `check_zip` passed; values
    only (a formula reads as its last computed value). UploadRefused if it cannot be read."""
    check_zip(data)
    try:
        reader = LimitedExcelReader(data, read_only=True, data_only=True, rich_text=rich_text)
        reader.read()
    except UploadRefused:
        raise
    except Exception:
        # A damaged part fails deep inside openpyxl, with whatever its XML parser, zlib or
        # reader raises (ParseError, zlib.error, BadZipFile, IndexError…): to her, all say
        # the same.
        raise damaged() from None
    try:
        yield reader.wb
    finally:
        reader.archive.close()


def streamed(source, whole):
    """(event, element) for the XML of `source` as iterparse builds it, with the elements whose
    tag is in `whole` (a cell, a shared string) given complete at their "end" event. Every
    element is released once complete, so memory holds one such element, not the file; past
    ELEMENTS_PER_CELL × IMPORT_MAX_CELLS elements, or MAX_CELL_ELEMENTS within one, the file
    is refused as damaged: no cell needs that many."""
    limit = ELEMENTS_PER_CELL * settings.IMPORT_MAX_CELLS
    ancestors = []
    inside = 0  # depth within an element kept whole
    count = within = 0
    for event, element in iterparse(source, events=("start", "end")):
        if event == "start":
            count += 1
            if inside or element.tag in whole:
                inside += 1
                within += 1
                if within > MAX_CELL_ELEMENTS:
                    raise damaged()
            if count > limit:
                raise damaged()
            ancestors.append(element)
            if not inside:
                yield event, element
            continue
        ancestors.pop()
        if inside:
            inside -= 1
            if inside:
                continue  # part of an element kept whole
            within = 0
        yield event, element
        if ancestors:
            ancestors[-1].remove(element)


def shared_strings(source, *, rich_text):
    """The workbook's shared strings, as openpyxl reads them (rich text kept if asked), each
    string's XML released once read; UploadRefused past IMPORT_MAX_CELLS strings, more than
    the cells that could use them."""
    limit = settings.IMPORT_MAX_CELLS
    strings = []
    fonts = {}
    for event, element in streamed(source, {STRING_TAG}):
        if event == "end" and element.tag == STRING_TAG:
            if len(strings) >= limit:
                raise too_many_cells()
            strings.append(string_value(element, rich_text=rich_text, fonts=fonts, shared=True))
    return strings


def string_value(element, *, rich_text, fonts, shared):
    """The text of a shared string (<si>) or an inline one (<is>) exactly as openpyxl reads it
    (`read_string_table`, `read_rich_text`, `WorkSheetParser.parse_cell`), without building
    its Text objects, which take 20 µs a string: a CellRichText when `rich_text` and its runs
    are formatted, with the fonts seen before (`fonts`) shared."""
    plain = element.findtext(T_TAG)
    runs = element.findall(RUN_TAG)
    if not rich_text:
        text = (plain or "") + "".join(run.findtext(T_TAG) or "" for run in runs)
        return text.replace("x005F_", "") if shared else text
    if plain:
        return plain.replace("x005F_", "")
    blocks = []
    for run in runs:
        text = (run.findtext(T_TAG) or "").replace("x005F_", "")
        properties = run.find(RUN_PROPERTIES_TAG)
        if properties is None:
            blocks.append(text)
        else:
            blocks.append(TextBlock(font_of(properties, fonts), text))
    if not blocks:
        return ""
    if len(blocks) == 1 and isinstance(blocks[0], str):
        return blocks[0]
    return CellRichText(blocks)


def font_of(properties, fonts):
    """The InlineFont of a run's <rPr>, read once for all the runs formatted alike."""
    key = tuple((child.tag, tuple(sorted(child.attrib.items()))) for child in properties)
    font = fonts.get(key)
    if font is None:
        font = fonts[key] = InlineFont.from_tree(properties)
    return font


def active_sheet(book):
    """The sheet the workbook was saved on, as import-export reads it, else the first."""
    sheet = book.active
    if isinstance(sheet, Sheet):
        return sheet
    if not book.worksheets:
        raise no_header()
    return book.worksheets[0]


def sheet_rows(sheet, *, convert=None):
    """(row number, [values]) for each row of a read-only worksheet, from row 1: a row the
    file leaves out comes as [], a cell it leaves out as None, and trailing blank rows are
    left out. With `convert`, each value is convert(cell), given openpyxl's ReadOnlyCell
    with its font and number format (a damaged style reads as a damaged workbook).

    UploadRefused past IMPORT_MAX_ROWS, IMPORT_MAX_COLUMNS or IMPORT_MAX_CELLS, checked as
    the rows come."""
    book = sheet.parent
    parser = WorkSheetParser(
        None,
        sheet._shared_strings,
        data_only=True,
        epoch=book.epoch,
        date_formats=book._date_formats,
        timedelta_formats=book._timedelta_formats,
        rich_text=sheet.rich_text,
    )
    try:
        with book._archive.open(sheet._worksheet_path) as source:
            yield from padded(rows_of(source, parser, sheet, convert))
    except UploadRefused:
        raise
    except Exception:
        raise damaged() from None


def rows_of(source, parser, sheet, convert):
    """(row number, {column: value or cell}) of each <row> of the sheet's XML, as they come."""
    max_rows = settings.IMPORT_MAX_ROWS
    max_columns = settings.IMPORT_MAX_COLUMNS
    max_cells = settings.IMPORT_MAX_CELLS
    fonts = {}
    in_data = False
    row = None
    rows = cells = cells_in_row = 0
    for event, element in streamed(source, {CELL_TAG}):
        tag = element.tag
        if event == "start":
            if tag == DATA_TAG:
                in_data = True
            elif tag == ROW_TAG and in_data:
                rows += 1
                number = row_number(element.get("r"), parser.row_counter)
                if number > max_rows or rows > max_rows:
                    raise too_many_rows()
                parser.row_counter, parser.col_counter = number, 0
                row = (number, {})
                cells_in_row = 0
        elif tag == CELL_TAG:
            if row is None:
                continue  # a cell outside any row: nothing to read
            number, values = row
            cells += 1
            cells_in_row += 1
            if cells_in_row > max_columns:
                raise too_many_columns(number)
            if cells > max_cells:
                raise too_many_cells()
            column, value, data_type, style = cell_of(element, parser, fonts)
            if column > max_columns:
                raise too_many_columns(number)
            if convert is not None:
                value = convert(ReadOnlyCell(sheet, number, column, value, data_type, style))
            values[column] = value
        elif tag == ROW_TAG and row is not None:
            yield row
            row = None
        elif tag == DATA_TAG:
            return  # nothing after the cells is read


def cell_of(element, parser, fonts):
    """(column, value, data type, style) of a <c>, as openpyxl's parser reads it, its inline
    string read by `string_value`."""
    inline = element.find(INLINE_STRING) if element.get("t") == "inlineStr" else None
    if inline is not None:
        element.remove(inline)
    cell = parser.parse_cell(element)
    value, data_type = cell["value"], cell["data_type"]
    if inline is not None:
        value = string_value(inline, rich_text=parser.rich_text, fonts=fonts, shared=False)
        data_type = "s"
    return cell["column"], value, data_type, cell["style_id"]


def row_number(attribute, previous):
    if attribute is None:
        return previous + 1
    number = float(attribute)
    if not number.is_integer() or number < 1:
        raise ValueError(attribute)
    return int(number)


def padded(rows):
    """Rows numbered from 1 without gaps ([] for a missing row), each a list of its cells by
    column (None where a cell is missing); trailing blank rows left out."""
    last = 0
    for number, values in rows:
        if number <= last:
            continue  # a row given twice, or out of order: the first one counts
        cells = [None] * max(values, default=0)
        for column, value in values.items():
            cells[column - 1] = value
        if all(is_blank(cell) for cell in cells):
            continue  # yielded as [] if a row with something follows
        for missing in range(last + 1, number):
            yield missing, []
        last = number
        yield number, cells


def is_blank(value):
    return value is None or value == "" or (isinstance(value, CellRichText) and not str(value))


# CSV -----------------------------------------------------------------------------------------


# What of the first line the delimiter is guessed from: csv.Sniffer takes a time that grows
# with the square of the line's length (an 80 KB line of `,"` held a worker 29 s).
SNIFFED_CHARS = 4096


def csv_delimiter(text):
    """The delimiter of CSV text, among the comma, the semicolon (French Excel) and the tab,
    guessed from the start of its first line (ended by \n, \r\n or \r alone)."""
    first_line = re.split(r"\r\n?|\n", text[:SNIFFED_CHARS], maxsplit=1)[0]
    try:
        return csv.Sniffer().sniff(first_line, delimiters=",;\t").delimiter
    except csv.Error:
        return ","


def csv_rows(text, delimiter):
    """(row number, [cells]) of CSV text, numbered from 1; UploadRefused past IMPORT_MAX_ROWS,
    IMPORT_MAX_COLUMNS or IMPORT_MAX_CELLS, checked as the rows come. csv.Error goes through,
    with the `line` of the file it stopped at."""
    max_rows = settings.IMPORT_MAX_ROWS
    max_columns = settings.IMPORT_MAX_COLUMNS
    max_cells = settings.IMPORT_MAX_CELLS
    cells = 0
    # Excel for Mac ends its CSV lines with \r alone: given each line with its own end, the
    # csv module reads every kind of line end itself, and keeps those inside quoted cells.
    reader = csv.reader((line.group() for line in LINES.finditer(text)), delimiter=delimiter)
    number = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            error.line = reader.line_num
            raise
        number += 1
        if number > max_rows:
            raise too_many_rows()
        if len(row) > max_columns:
            raise too_many_columns(number)
        cells += len(row)
        if cells > max_cells:
            raise too_many_cells()
        yield number, row


# Datasets for django-import-export ------------------------------------------------------------


def no_header():
    return UploadRefused(
        _(
            "Le fichier ne contient aucune ligne : la première doit nommer les colonnes, "
            "les suivantes en donner les valeurs."
        )
    )


def dataset(rows, *, fill=None):
    """A tablib Dataset for django-import-export: the first row that is not blank names the
    columns and the rows that are not blank under it are the data, each padded with `fill`
    to the widest. UploadRefused when no row names a column: import-export would fail on a
    dataset without headers."""
    headers = None
    data = []
    for _number, values in rows:
        if all(is_blank(value) for value in values):
            continue
        if headers is None:
            headers = list(values)
        else:
            data.append(list(values))
    if headers is None:
        raise no_header()
    width = max([len(headers), *(len(values) for values in data)])
    result = tablib.Dataset()
    result.headers = headers + [fill] * (width - len(headers))
    for values in data:
        result.append(values + [fill] * (width - len(values)))
    return result
