"""Importing a plan from its own table: a Word table saved as Excel, a spreadsheet, or the
funders' workbook this application exports.

Reading a file gives a `TableFile` (its sheet, header row and rows); the coordinator's
column mapping turns it into a `Preview` of what will be created and changed; `apply()`
writes that preview in one transaction. Every mistake is collected with its row and column,
and any mistake means nothing is written. An empty cell never erases anything.
"""

import csv
import hashlib
import itertools
import re
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import override
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont
from openpyxl.utils import get_column_letter

from actions.models import CODE_PATTERN, Action, Target
from actions.services import change_status, validate_status_change
from imports import layout, uploads
from imports.resources import decode_text
from imports.spreadsheets import restore
from imports.uploads import UploadRefused
from partners.models import ActionPartner, Organisation
from partners.services import change_link, link_partner
from plans import versions
from plans.models import Objective, Plan, SubObjective
from plans.services import save_with_author, set_author

# The header row is looked for among the first rows: titles and a legend may come first.
HEADER_SEARCH_ROWS = 15
# A plan's table has a dozen columns. Each one is a menu on the preview page, and past ZZZ
# (18 278) a column has no letter to be named by.
MAX_COLUMNS = 200
IGNORE = "ignore"
PERIOD_PREFIX = "period:"
LOOKS_LIKE_PERIOD = re.compile(r"^(\d{4}(\s*[-–/]\s*\d{2,4})?|an(née)?\s*\d+|year\s*\d+)$", re.I)
BULLETS = "•◦▪·-–—*"


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


# Reading the file ------------------------------------------------------------------------


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


# Mapping columns ---------------------------------------------------------------------------


def field_choices(plan, periods):
    """[(field, label)] the coordinator can map a column to."""
    return [
        (IGNORE, _("— Ignorer cette colonne —")),
        *[(key, str(label)) for key, label in layout.LEADING_COLUMNS],
        *[
            (f"{PERIOD_PREFIX}{p.pk}", _("Période %(label)s") % {"label": p.label})
            for p in periods
        ],
        *[(key, str(label)) for key, label in layout.TRAILING_COLUMNS],
        (layout.REASON_COLUMN[0], str(layout.REASON_COLUMN[1])),
    ]


def guess_mapping(headers, periods):
    """{column index: field or None}, None for a header the application does not know."""
    known = known_headers()
    by_label = {normalise(p.label): f"{PERIOD_PREFIX}{p.pk}" for p in periods}
    mapping = {}
    for index, header in enumerate(headers):
        name = normalise(header)
        mapping[index] = by_label.get(name) or known.get(name) or (IGNORE if not name else None)
    return mapping


def column_name(headers, index):
    header = headers[index] if index < len(headers) else ""
    letter = get_column_letter(index + 1)
    return (
        f"« {header} » ({letter})" if header else _("sans titre (%(letter)s)") % {"letter": letter}
    )


def check_mapping(mapping, headers, periods, rows):
    """Messages for unknown, doubled and missing columns; [] when the mapping is usable."""
    errors = []
    period_labels = ", ".join(p.label for p in periods) or "—"
    for index, chosen in sorted(mapping.items()):
        if chosen is not None:
            continue
        header = headers[index] if index < len(headers) else ""
        has_data = any(index < len(values) and cell_text(values[index]) for _n, values in rows)
        if not header and not has_data:
            continue
        if LOOKS_LIKE_PERIOD.match(header.strip()):
            errors.append(
                _(
                    "La colonne %(column)s ressemble à une période, mais le plan n'a pas de "
                    "période « %(label)s ». Périodes du plan : %(periods)s. Ajoutez la période "
                    "au plan, ou associez la colonne à une période existante."
                )
                % {
                    "column": column_name(headers, index),
                    "label": header,
                    "periods": period_labels,
                }
            )
        else:
            errors.append(
                _(
                    "Colonne inconnue : %(column)s. Associez-la à un champ, ou choisissez "
                    "« Ignorer cette colonne »."
                )
                % {"column": column_name(headers, index)}
            )
    counts = Counter(f for f in mapping.values() if f and f != IGNORE)
    labels = dict(field_choices(None, periods))
    for chosen, count in counts.items():
        if count > 1:
            columns = [column_name(headers, i) for i, f in sorted(mapping.items()) if f == chosen]
            errors.append(
                _("Plusieurs colonnes vont dans « %(field)s » : %(columns)s. Gardez-en une.")
                % {"field": labels.get(chosen, chosen), "columns": ", ".join(columns)}
            )
    if "title" not in counts:
        errors.append(
            _("Colonne manquante : %(field)s. C'est là que se lit le titre de chaque action.")
            % {"field": labels["title"]}
        )
    return errors


# The preview -------------------------------------------------------------------------------


@dataclass
class PartnerLine:
    name: str
    confirmation: str | None  # None: the cell says nothing about it
    carrier: bool
    formatted: bool  # the cell carries fonts, so role and confirmation can be read from it
    organisation: Organisation | None = None  # an existing one
    link: ActionPartner | None = None  # the action's existing link
    changes: list = field(default_factory=list)


@dataclass
class Entry:
    row: int
    kind: str  # "objective", "sub_objective" or "action"
    code: str
    title: str
    existing: object = None
    changes: list = field(default_factory=list)  # [(label, before, after)] for existing rows
    # Actions only
    means: str = ""
    status: str | None = None
    reason: str = ""
    completion: int | None = None
    completion_given: bool = False
    periods: list | None = None  # None: no period column
    targets: list = field(default_factory=list)  # new target descriptions
    partners: list = field(default_factory=list)  # [PartnerLine]
    partners_text: str = ""
    to_be_found: bool | None = None

    @property
    def is_new(self):
        return self.existing is None

    @property
    def status_label(self):
        return Action.Status(self.status).label if self.status else ""

    @property
    def new_partners(self):
        return [p for p in self.partners if p.link is None]

    @property
    def changed_partners(self):
        return [p for p in self.partners if p.link is not None and p.changes]

    @property
    def is_changed(self):
        return bool(self.changes or self.targets or self.new_partners or self.changed_partners)


@dataclass
class Preview:
    plan: object
    entries: list
    new_organisations: list  # names

    def of_kind(self, kind):
        return [e for e in self.entries if e.kind == kind]

    def counts(self):
        counts = {}
        for kind in ("objective", "sub_objective", "action"):
            entries = self.of_kind(kind)
            counts[kind] = {
                "new": sum(1 for e in entries if e.is_new),
                "changed": sum(1 for e in entries if not e.is_new and e.is_changed),
                "unchanged": sum(1 for e in entries if not e.is_new and not e.is_changed),
            }
        return counts

    @property
    def has_changes(self):
        return bool(self.new_organisations) or any(e.is_new or e.is_changed for e in self.entries)

    def fingerprint(self):
        """Changes if what the import would write changes between preview and confirmation:
        the plan moved on, or a column was mapped differently."""
        summary = repr(
            [
                (
                    e.kind,
                    e.code,
                    e.title,
                    e.is_new,
                    e.changes,
                    e.means,
                    e.status,
                    e.reason,
                    e.completion if e.completion_given else None,
                    None if e.periods is None else [p.pk for p in e.periods],
                    e.targets,
                    e.to_be_found,
                    e.partners_text,
                    [
                        (p.name, p.link is None, p.changes, p.confirmation, p.carrier)
                        for p in e.partners
                    ],
                )
                for e in self.entries
            ]
            + sorted(self.new_organisations)
        )
        return hashlib.sha256(summary.encode()).hexdigest()


class RowReader:
    """Turns the file's rows into a Preview against the plan as it is in the database."""

    def __init__(self, plan, table_file, mapping):
        self.plan = plan
        self.file = table_file
        self.mapping = mapping
        self.periods = {p.pk: p for p in plan.periods.all()}
        self.columns = {}
        for index, chosen in mapping.items():
            if chosen and chosen != IGNORE and chosen not in layout.DERIVED:
                self.columns.setdefault(chosen, index)
        self.period_columns = {
            int(f.removeprefix(PERIOD_PREFIX)): i
            for f, i in self.columns.items()
            if f.startswith(PERIOD_PREFIX)
        }
        self.errors = []
        self.objectives = {o.number: o for o in plan.objectives.all()}
        self.subs = {
            (s.objective.number, s.number): s
            for s in SubObjective.objects.filter(objective__plan=plan).select_related("objective")
        }
        self.actions = {a.code: a for a in plan.actions.prefetch_related("periods", "targets")}
        self.links = {}
        for link in ActionPartner.objects.filter(action__plan=plan).select_related("organisation"):
            self.links.setdefault(link.action_id, []).append(link)
        self.organisations = {}
        for organisation in Organisation.objects.all():
            for name in (organisation.name, organisation.short_name):
                if name:
                    self.organisations.setdefault(normalise(name), organisation)
        self.new_organisations = {}
        self.statuses = status_names()

    def error(self, row, message, column=None):
        where = _("Ligne %(row)s") % {"row": row}
        if column is not None:
            where += ", " + _("colonne %(column)s") % {
                "column": column_name(self.file.headers, self.columns[column])
            }
        self.errors.append(f"{where} : {message}")

    def value(self, values, key):
        index = self.columns.get(key)
        if index is None or index >= len(values):
            return None
        return values[index]

    def text(self, values, key):
        value = self.value(values, key)
        return cell_text(str(value) if isinstance(value, CellRichText) else value)

    def preview(self):
        entries, seen = [], {}
        for row, values in self.file.rows:
            entry = self.entry(row, values)
            if entry is None:
                continue
            if entry.code in seen:
                self.error(
                    row,
                    _("le code %(code)s est déjà à la ligne %(first)s.")
                    % {"code": entry.code, "first": seen[entry.code]},
                )
                continue
            seen[entry.code] = row
            entries.append(entry)
        self.check_parents(entries)
        if self.errors:
            raise TableError(self.errors)
        return Preview(self.plan, entries, sorted(self.new_organisations.values()))

    def entry(self, row, values):
        title_text = self.text(values, "title")
        code = self.text(values, "code")
        if not any(cell_text(str(v) if isinstance(v, CellRichText) else v) for v in values):
            return None  # a blank row
        words = [self.plan.objective_label]
        found, rest = layout.split_code(title_text, words)
        if not code:
            code, title = found, rest
        else:
            # "Objectif 1 : …" beside code 1: the title is what follows the number.
            title = rest if found == code else title_text
        if not code:
            self.error(
                row,
                _(
                    "pas de code. Écrivez le code (1, 1.2 ou 1.2.3) dans la colonne Code ou au "
                    "début de la cellule Action."
                ),
            )
            return None
        code = code.rstrip(".")
        try:
            parts = [int(p) for p in code.split(".")] if re.match(CODE_PATTERN, code) else None
        except ValueError:  # a number of more digits than int() reads (4300)
            parts = None
        if parts is None:
            self.error(
                row,
                _("le code « %(code)s » est mal formé : écrivez par exemple 1, 1.2 ou 1.2.3.")
                % {"code": code},
            )
            return None
        code = ".".join(str(p) for p in parts)
        if not title:
            self.error(row, _("le titre de %(code)s est vide.") % {"code": code})
            return None
        if len(parts) == 1:
            return self.objective_entry(row, parts, code, title)
        if len(parts) == 2:
            return self.sub_entry(row, parts, code, title)
        return self.action_entry(row, values, parts, code, title)

    def objective_entry(self, row, parts, code, title):
        existing = self.objectives.get(parts[0])
        entry = Entry(row, "objective", code, title, existing)
        if existing and not same_text(existing.title, title):
            entry.changes.append((_("Titre"), existing.title, title))
        return entry

    def sub_entry(self, row, parts, code, title):
        existing = self.subs.get(tuple(parts))
        entry = Entry(row, "sub_objective", code, title, existing)
        if existing and not same_text(existing.title, title):
            entry.changes.append((_("Titre"), existing.title, title))
        return entry

    def action_entry(self, row, values, parts, code, title):
        existing = self.actions.get(code)
        entry = Entry(row, "action", code, title, existing)
        entry.means = self.text(values, "means")
        entry.reason = self.text(values, "reason")
        self.read_status(entry, values)
        self.read_completion(entry, values)
        self.read_periods(entry, values)
        self.read_targets(entry, values)
        self.read_partners(entry, values)
        if existing:
            for label, before, after in [
                (_("Titre"), existing.title, entry.title),
                (_("Moyens"), existing.means, entry.means),
            ]:
                if after and not same_text(before, after):  # an empty cell never erases
                    entry.changes.append((label, before, after))
        return entry

    def read_status(self, entry, values):
        text = self.text(values, "status")
        current = entry.existing.status if entry.existing else Action.Status.PLANNED
        if not text:
            entry.status = current
            return
        status = self.statuses.get(normalise(text))
        if status is None:
            allowed = ", ".join(str(s.label) for s in Action.Status)
            self.error(
                entry.row,
                _("le statut « %(value)s » n'existe pas. Statuts permis : %(allowed)s.")
                % {"value": text, "allowed": allowed},
                "status",
            )
            return
        entry.status = status
        try:
            validate_status_change(
                old_status=entry.existing.status if entry.existing else None,
                new_status=status,
                reason=entry.reason,
            )
        except ValidationError as error:
            for message in error.message_dict["reason"]:
                self.error(entry.row, message, "status")
        if entry.existing and status != current:
            entry.changes.append(
                (_("Statut"), Action.Status(current).label, Action.Status(status).label)
            )

    def read_completion(self, entry, values):
        raw = self.value(values, "completion")
        text = cell_text(raw).replace("%", "").replace(",", ".").strip()
        if not text:
            return
        try:
            number = float(text)
        except ValueError:
            number = None
        if number is None or not 0 <= number <= 100:
            self.error(
                entry.row,
                _("« %(value)s » n'est pas un avancement : écrivez un nombre de 0 à 100.")
                % {"value": cell_text(raw)},
                "completion",
            )
            return
        number = round(number)
        current = entry.existing.completion if entry.existing else None
        # The workbook shows what the status implies when no completion was typed:
        # reading that back must not turn it into a typed completion.
        if current is None and number == Action.implied_progress(entry.status):
            return
        entry.completion, entry.completion_given = number, True
        if entry.existing and current != number:
            entry.changes.append(
                (_("Avancement (%)"), "—" if current is None else str(current), str(number))
            )

    def read_periods(self, entry, values):
        if not self.period_columns:
            return
        chosen = [
            self.periods[pk]
            for pk, index in self.period_columns.items()
            if index < len(values) and cell_text(values[index])
        ]
        chosen.sort(key=lambda p: p.start)
        entry.periods = chosen
        if entry.existing:
            before = sorted(entry.existing.periods.all(), key=lambda p: p.start)
            if [p.pk for p in before] != [p.pk for p in chosen]:
                entry.changes.append(
                    (
                        _("Périodes prévues"),
                        ", ".join(p.label for p in before) or "—",
                        ", ".join(p.label for p in chosen) or "—",
                    )
                )

    def read_targets(self, entry, values):
        lines = [
            line.strip().lstrip(BULLETS).strip()
            for line in self.text(values, "targets").split("\n")
        ]
        lines = [line for line in lines if line]
        known = (
            {normalise(t.description) for t in entry.existing.targets.all()}
            if entry.existing
            else set()
        )
        for line in lines:
            if normalise(line) not in known:
                known.add(normalise(line))
                entry.targets.append(line)

    def read_partners(self, entry, values):
        if "partners" not in self.columns:
            return
        value = self.value(values, "partners")
        lines = partner_lines(value)
        if not lines:
            return  # an empty cell never erases: the links and "?" stay as they are
        entry.partners_text = "\n".join(line.name for line in lines)
        entry.to_be_found = any(line.name == layout.TO_BE_FOUND for line in lines)
        if entry.existing and entry.to_be_found != entry.existing.carrier_to_be_found:
            entry.changes.append(
                (
                    _("Porteur à trouver"),
                    yes_no(entry.existing.carrier_to_be_found),
                    yes_no(entry.to_be_found),
                )
            )
        links = self.links.get(entry.existing.pk, []) if entry.existing else []
        if (
            entry.existing
            and not links
            and normalise(cell_text(str(value))) == normalise(entry.existing.partners_text)
        ):
            return  # the plan's own text, exported as written where no link is recorded
        by_name = {}
        for link in links:
            for name in (
                link.label_in_source,
                link.organisation.name,
                link.organisation.short_name,
            ):
                if name:
                    by_name.setdefault(normalise(name), link)
        taken = set()
        for line in lines:
            if line.name == layout.TO_BE_FOUND:
                continue
            for part in self.split_names(line, by_name):
                link = by_name.get(normalise(part.name))
                if link is not None and link.pk not in taken:
                    taken.add(link.pk)
                    part.link = link
                    part.changes = link_changes(link, part)
                else:
                    part.organisation = self.organisations.get(normalise(part.name))
                    if part.organisation is None:
                        self.new_organisations.setdefault(normalise(part.name), part.name)
                entry.partners.append(part)

    def split_names(self, line, by_name):
        """Names run together ("RUI CSDL Ville de Laval") split on the names already known."""
        if normalise(line.name) in by_name or normalise(line.name) in self.organisations:
            return [line]
        names = split_known(line.name, [*by_name, *self.organisations])
        if names is None:
            return [line]
        return [PartnerLine(n, line.confirmation, line.carrier, line.formatted) for n in names]

    def check_parents(self, entries):
        in_file = {e.code for e in entries}
        for entry in entries:
            parts = [int(p) for p in entry.code.split(".")]
            if entry.kind == "sub_objective":
                if str(parts[0]) not in in_file and parts[0] not in self.objectives:
                    self.error(
                        entry.row,
                        _(
                            "l'objectif %(parent)s de %(code)s n'existe ni dans le fichier "
                            "ni dans le plan."
                        )
                        % {"parent": parts[0], "code": entry.code},
                    )
            elif entry.kind == "action":
                parent = ".".join(str(p) for p in parts[:2])
                if parent not in in_file and tuple(parts[:2]) not in self.subs:
                    self.error(
                        entry.row,
                        _(
                            "le sous-objectif %(parent)s de l'action %(code)s n'existe ni "
                            "dans le fichier ni dans le plan."
                        )
                        % {"parent": parent, "code": entry.code},
                    )


def status_names():
    names = {}
    for language in ("fr", "en"):
        with override(language):
            for status in Action.Status:
                names[normalise(status.label)] = status.value
    names.update({normalise(status.value): status.value for status in Action.Status})
    return names


def yes_no(value):
    return _("oui") if value else _("non")


def partner_lines(value):
    """[PartnerLine] from the cell: one per line, with what its font says when it has one."""
    if value is None:
        return []
    lines = []
    if isinstance(value, CellRichText):
        current, font = "", None
        for block in value:
            text = block.text if isinstance(block, TextBlock) else str(block)
            pieces = text.split("\n")
            for position, piece in enumerate(pieces):
                if position:
                    lines.append((current, font))
                    current, font = "", None
                if piece.strip() and font is None and isinstance(block, TextBlock):
                    font = block.font
                current += piece
        lines.append((current, font))
        parsed = []
        for text, font in lines:
            if text.strip():
                confirmation, carrier = layout.read_partner(font)
                parsed.append(PartnerLine(text.strip(), confirmation, carrier, True))
        return parsed
    return [
        PartnerLine(line.strip(), None, False, False)
        for line in cell_text(value).split("\n")
        if line.strip()
    ]


def split_known(text, names):
    """The known names that make up `text` end to end, longest first; None if some is unknown."""
    remaining = normalise(text)
    original = " ".join(str(text).replace("’", "'").split())
    candidates = sorted({n for n in names if n}, key=len, reverse=True)
    found, position = [], 0
    while position < len(remaining):
        if remaining[position] in " ,;/":
            position += 1
            continue
        for name in candidates:
            end = position + len(name)
            if remaining.startswith(name, position) and (
                end == len(remaining) or remaining[end] in " ,;/"
            ):
                found.append(original[position:end])
                position = end
                break
        else:
            return None
    return found if len(found) > 1 else None


def link_changes(link, part):
    """What the cell's fonts change in an existing link; nothing when the cell has no fonts."""
    if not part.formatted:
        return []
    changes = []
    if part.confirmation is not None and part.confirmation != link.confirmation:
        changes.append(
            (
                _("Confirmation"),
                link.get_confirmation_display(),
                ActionPartner.Confirmation(part.confirmation).label,
            )
        )
    is_carrier = link.role == ActionPartner.Role.CARRIER
    if part.carrier != is_carrier:
        role = ActionPartner.Role.CARRIER if part.carrier else ActionPartner.Role.PARTNER
        changes.append((_("Rôle"), link.get_role_display(), ActionPartner.Role(role).label))
    return changes


def build_preview(plan, table_file, mapping):
    """Preview, or TableError listing every problem of the mapping and of the rows."""
    periods = list(plan.periods.all())
    errors = check_mapping(mapping, table_file.headers, periods, table_file.rows)
    if errors:
        raise TableError(errors)
    return RowReader(plan, table_file, mapping).preview()


def samples(table_file):
    """{column index: the first non-empty value below its header}, to help map it."""
    found = {}
    for _row, values in table_file.rows:
        for index, value in enumerate(values):
            text = cell_text(str(value) if isinstance(value, CellRichText) else value)
            if text and index not in found:
                found[index] = text[:80]
        if len(found) == len(table_file.headers):
            break
    return found


def summary(counts):
    """The message after an import: how many of each were created and changed."""
    return _(
        "Import terminé : %(objectives_new)s objectif(s) créé(s) et %(objectives_changed)s "
        "modifié(s); %(subs_new)s sous-objectif(s) créé(s) et %(subs_changed)s modifié(s); "
        "%(actions_new)s action(s) créée(s) et %(actions_changed)s modifiée(s)."
    ) % {
        "objectives_new": counts["objective"]["new"],
        "objectives_changed": counts["objective"]["changed"],
        "subs_new": counts["sub_objective"]["new"],
        "subs_changed": counts["sub_objective"]["changed"],
        "actions_new": counts["action"]["new"],
        "actions_changed": counts["action"]["changed"],
    }


# Writing -----------------------------------------------------------------------------------


def lock(plan):
    """Locks, until the transaction ends, the plan and every row an import of its table may
    change (call it before building the preview that the confirmation compares)."""
    for queryset in (
        Plan.objects.filter(pk=plan.pk),
        Objective.objects.filter(plan=plan),
        SubObjective.objects.filter(objective__plan=plan),
        Action.objects.filter(plan=plan),
        ActionPartner.objects.filter(action__plan=plan),
    ):
        versions.lock(queryset)


@transaction.atomic
def apply(preview, *, user):
    """Write the preview: all of it, or, at the first invalid object, nothing."""
    try:
        return Writer(preview, user).write()
    except ValidationError as error:
        raise TableError(error_messages(error)) from None
    except IntegrityError:
        # A colleague saved the same row meanwhile; the transaction wrote nothing.
        raise TableError(
            [_("Une autre personne a modifié ces données au même moment : réessayez l'import.")]
        ) from None


def error_messages(error):
    """A ValidationError's messages as the import lists them, each after its field's name."""
    if not hasattr(error, "error_dict"):
        return error.messages
    return [
        f"{key} : {text}" if key and key != NON_FIELD_ERRORS else text
        for key, texts in error.message_dict.items()
        for text in texts
    ]


@contextmanager
def row_errors(entry):
    """A ValidationError raised while writing `entry` says which row of the file, and which
    code, it is about: the coordinator corrects the file, not the database."""
    try:
        yield
    except ValidationError as error:
        raise ValidationError(
            [
                _("Ligne %(row)s (%(code)s) : %(message)s")
                % {"row": entry.row, "code": entry.code, "message": message}
                for message in error.messages
            ]
        ) from None


class Writer:
    """Writes a Preview, each object through its service (validated, signed by `user`);
    apply() runs it in one transaction."""

    def __init__(self, preview, user):
        self.preview = preview
        self.plan = preview.plan
        self.user = user
        self.objectives = {o.number: o for o in self.plan.objectives.all()}
        self.subs = {
            (s.objective.number, s.number): s
            for s in SubObjective.objects.filter(objective__plan=self.plan).select_related(
                "objective"
            )
        }
        self.organisations = {}

    def save(self, obj, entry=None):
        """Validates and saves `obj`, written for `entry`'s row (its errors say so)."""
        if entry is None:
            obj.full_clean()
        else:
            with row_errors(entry):
                obj.full_clean()
        return save_with_author(obj, user=self.user)

    def write(self):
        for name in self.preview.new_organisations:
            self.organisations[normalise(name)] = self.save(Organisation(name=name))
        for entry in self.preview.entries:
            if entry.kind == "objective":
                self.write_objective(entry)
            elif entry.kind == "sub_objective":
                self.write_sub(entry)
        for entry in self.preview.entries:
            if entry.kind == "action":
                self.write_action(entry)
        return self.preview.counts()

    def write_objective(self, entry):
        number = int(entry.code)
        objective = self.objectives.get(number) or Objective(plan=self.plan, number=number)
        if objective.pk and not entry.changes:
            return
        objective.title = entry.title
        self.objectives[number] = self.save(objective, entry)

    def write_sub(self, entry):
        key = tuple(int(p) for p in entry.code.split("."))
        sub = self.subs.get(key) or SubObjective(objective=self.objectives[key[0]], number=key[1])
        if sub.pk and not entry.changes:
            return
        sub.title = entry.title
        self.subs[key] = self.save(sub, entry)

    def write_action(self, entry):
        if not entry.is_new and not entry.is_changed:
            return
        action = self.fill_action(entry)
        if entry.is_new or entry.changes:
            with row_errors(entry):
                change_status(
                    action=action, status=entry.status, user=self.user, reason=entry.reason
                )
        self.write_periods(action, entry)
        self.write_targets(action, entry)
        self.write_partners(action, entry)

    def fill_action(self, entry):
        """The action `entry` creates or changes, holding the row's values; not saved: its
        status is saved with them (change_status). An empty cell erases nothing."""
        parts = tuple(int(p) for p in entry.code.split(".")[:2])
        action = entry.existing or Action(
            sub_objective=self.subs[parts],
            code=entry.code,
            partners_text=entry.partners_text,
        )
        action.title = entry.title
        if entry.means:
            action.means = entry.means
        if entry.completion_given:
            action.completion = entry.completion
        if entry.to_be_found is not None:
            action.carrier_to_be_found = entry.to_be_found
        return action

    def write_periods(self, action, entry):
        if entry.periods is None:
            return  # no period column
        current = {p.pk for p in action.periods.all()} if not entry.is_new else set()
        if current != {p.pk for p in entry.periods}:
            set_author(action, user=self.user)
            action.periods.set(entry.periods)

    def write_targets(self, action, entry):
        """The row's new targets, after those the action has."""
        start = action.targets.count() if not entry.is_new else 0
        for order, description in enumerate(entry.targets, start=start):
            self.save(Target(action=action, description=description, order=order), entry)

    def write_partners(self, action, entry):
        """The row's new partners, after those the action has; what the cell's fonts change
        in the existing links."""
        first = 0 if entry.is_new else ActionPartner.objects.filter(action=action).count()
        for index, part in enumerate(entry.partners):
            with row_errors(entry):
                if part.link is None:
                    self.link(action, part, order=first + index)
                elif part.changes:
                    self.change(part)

    def link(self, action, part, *, order):
        link_partner(
            action=action,
            organisation=part.organisation or self.organisations[normalise(part.name)],
            user=self.user,
            role=ActionPartner.Role.CARRIER if part.carrier else ActionPartner.Role.NOT_SPECIFIED,
            confirmation=part.confirmation or ActionPartner.Confirmation.NOT_SPECIFIED,
            label_in_source=part.name,
            order=order,
        )

    def change(self, part):
        changes = {
            "role": ActionPartner.Role.CARRIER if part.carrier else ActionPartner.Role.PARTNER
        }
        if part.confirmation is not None:
            changes["confirmation"] = part.confirmation
        change_link(link=part.link, user=self.user, **changes)
