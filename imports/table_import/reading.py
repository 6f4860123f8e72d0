"""Reading the file: the uploaded bytes as a `TableFile`, its header row found among the
first rows, within the limits of every upload (imports/uploads.py)."""

import csv
import itertools
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import override
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont

from imports import layout, uploads
from imports.resources import decode_text
from imports.spreadsheets import restore
from imports.uploads import UploadRefused

# The header row is looked for among the first rows: titles and a legend may come first.
HEADER_SEARCH_ROWS = 15
# A plan's table has a dozen columns. Each one is a menu on the preview page, and past ZZZ
# (18 278) a column has no letter to be named by.
MAX_COLUMNS = 200


class TableError(Exception):
    """The file cannot be imported; `messages` say where and what."""

    def __init__(self, messages):
        self.messages = [str(m) for m in (messages if isinstance(messages, list) else [messages])]
        super().__init__("\n".join(self.messages))


def same_text(stored, read):
    """Whether the text read from a file is the stored one. A line break typed in a browser
    is stored as "\r\n", which a spreadsheet program saves back as "\n": not a change."""
    return stored.replace("\r\n", "\n") == read.replace("\r\n", "\n")


def normalise(text):
    return " ".join(str(text or "").replace("’", "'").split()).casefold()


def cell_text(value):
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


@dataclass
class TableFile:
    sheet: str
    sheets: list
    header_row: int  # 1-based, as the spreadsheet numbers rows
    headers: list
    rows: list  # [(row number, [cell values])]


def read(data, filename, *, sheet=None):
    """A TableFile from the uploaded bytes, or TableError saying what is wrong with them.

    The limits of every upload hold here (imports/uploads.py): size, the zip's inflated size
    and ratio, rows and columns, each checked before the work it bounds."""
    try:
        return read_file(data, filename, sheet)
    except UploadRefused as error:
        raise TableError(str(error)) from None


def read_file(data, filename, sheet):
    uploads.check_size(len(data))
    if not data:
        raise TableError(_("Le fichier est vide."))
    refusal = uploads.old_format_refusal(data)
    if refusal is not None:
        raise refusal
    if data.startswith(b"PK\x03\x04"):
        return read_workbook(data, sheet)
    if filename.lower().endswith((".csv", ".txt")):
        return read_csv(data)
    raise TableError(
        _(
            "« %(name)s » n'est pas un tableur. Importez un classeur Excel (.xlsx) ou un "
            "fichier CSV; un tableau Word s'enregistre d'abord dans Excel."
        )
        % {"name": filename}
    )


def read_workbook(data, sheet_name):
    # Read-only and streamed, with the fonts and rich text the partner legend is read from.
    with uploads.workbook(data, rich_text=True) as workbook:
        names = workbook.sheetnames
        if sheet_name:
            if sheet_name not in names:
                raise TableError(
                    _("Le classeur n'a pas de feuille « %(sheet)s ». Feuilles : %(sheets)s.")
                    % {"sheet": sheet_name, "sheets": ", ".join(names)}
                )
            candidates = [sheet_name]
        else:
            # The exported workbook's plan sheet, in either language, else every sheet in order.
            preferred = [n for n in names if normalise(n) == "plan"]
            candidates = preferred + [n for n in names if n not in preferred]
        for name in candidates:
            rows = uploads.sheet_rows(workbook[name], convert=cell_value)
            # A sheet without a header row among its first rows is not read further.
            first = list(itertools.islice(rows, HEADER_SEARCH_ROWS))
            found = find_header(first)
            if found is not None:
                read = first + list(rows)
                return TableFile(name, names, found, header_cells(read, found), body(read, found))
            rows.close()
    raise TableError(no_header_message())


def cell_value(cell):
    """A cell's value with what its formatting means here: a percentage as typed (40 for
    "40 %", which Excel stores as 0.4), and a whole-cell colour or bold kept as rich text,
    as Excel stores a cell formatted in one piece."""
    value = cell.value
    if isinstance(value, int | float) and "%" in (cell.number_format or ""):
        return round(value * 100, 6)
    font = cell.font
    if isinstance(value, str) and value.strip() and font is not None:
        colour = font.color.rgb if font.color is not None and font.color.type == "rgb" else None
        if font.b or font.strike or colour:
            return CellRichText(
                [TextBlock(InlineFont(b=font.b, strike=font.strike, color=colour), value)]
            )
    return value


def read_csv(data):
    try:
        text = decode_text(data)
    except ValueError as error:
        raise TableError(str(error)) from None
    delimiter = uploads.csv_delimiter(text)
    rows = []
    try:
        for index, cells in uploads.csv_rows(text, delimiter):
            # Undo the apostrophe the CSV exports put before text a spreadsheet would run.
            rows.append((index, [restore(cell) for cell in cells]))
    except csv.Error as error:
        raise TableError(
            _(
                "La ligne %(line)s du fichier CSV ne peut pas être lue (une cellule trop longue, "
                "ou des guillemets jamais fermés). Ouvrez le fichier dans Excel, enregistrez-le "
                "de nouveau au format CSV ou .xlsx, puis réessayez."
            )
            % {"line": error.line}
        ) from None
    found = find_header(rows)
    if found is None:
        raise TableError(no_header_message())
    return TableFile("", [], found, header_cells(rows, found), body(rows, found))


def header_cells(rows, header_row):
    headers = [cell_text(value) for value in rows[header_row - 1][1]]
    if len(headers) > MAX_COLUMNS:
        raise TableError(
            _(
                "La ligne des en-têtes a %(count)s colonnes ; un tableau de plan en a au plus "
                "%(limit)s. Supprimez les colonnes en trop, même vides, puis réessayez."
            )
            % {"count": len(headers), "limit": MAX_COLUMNS}
        )
    return headers


def body(rows, header_row):
    return [(index, values) for index, values in rows[header_row:]]


def known_headers():
    """{normalised header: field} in both languages, with the usual variants."""
    known = {}
    for language in ("fr", "en"):
        with override(language):
            for key, label in [
                *layout.LEADING_COLUMNS,
                *layout.TRAILING_COLUMNS,
                layout.REASON_COLUMN,
            ]:
                known[normalise(label)] = key
    known.update(
        {
            "actions": "title",
            "titre": "title",
            "title": "title",
            "no": "code",
            "n°": "code",
            "numéro": "code",
            "moyens": "means",
            "moyens d'action": "means",
            "cibles": "targets",
            "porteurs": "partners",
            "partenaires": "partners",
            "porteurs et partenaires (texte d'origine)": "partners",
            "avancement": "completion",
            "raison": "reason",
        }
    )
    return known


def find_header(rows):
    """The row, among the first ones, that names the most known columns, one being Action."""
    known = known_headers()
    best, best_count = None, 1
    for index, values in rows[:HEADER_SEARCH_ROWS]:
        fields = [known.get(normalise(cell_text(v))) for v in values]
        count = sum(1 for f in fields if f)
        if "title" in fields and count > best_count:
            best, best_count = index, count
    return best


def no_header_message():
    with override("fr"):
        expected = ", ".join(str(label) for _key, label in layout.LEADING_COLUMNS[1:])
    return _(
        "Aucune ligne d'en-têtes trouvée dans les %(count)s premières lignes. La ligne des "
        "en-têtes doit nommer au moins la colonne Action et une autre parmi : %(expected)s."
    ) % {"count": HEADER_SEARCH_ROWS, "expected": expected}
