"""The funders' workbook: what was planned, what was done and who carried it, in one .xlsx.

Written with openpyxl in write-only mode, which streams rows to disk instead of keeping every
cell in memory: a plan of 10,000 actions stays lean (see benchmarks/). tablib, behind the
admin's flat imports and exports, has no section rows, rich text or print set-up, which a
funder's copy of the plan needs.
"""

import datetime
import functools
import itertools
from collections import defaultdict
from copy import copy
from decimal import Decimal
from types import SimpleNamespace

from django.db.models import BooleanField, Case, IntegerField, Value, When
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.worksheet import Worksheet

from actions.models import Action, Target, TargetValue
from dashboard.progress import Rollup, status_shares
from imports import layout
from imports.spreadsheets import StreamedWorkbook, text_cell
from partners import legend
from partners.models import ActionPartner, Organisation
from partners.timeline import ChangeKind, plan_changes
from plans import formats
from plans.models import ReviewItem

CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

WHITE = "FFFFFF"
HEADER_FILL = PatternFill("solid", fgColor="DCE3EC")
OBJECTIVE_FILL = PatternFill("solid", fgColor="1F3B5A")
SUB_OBJECTIVE_FILL = PatternFill("solid", fgColor="E8EEF5")
CURRENT_PERIOD_FILL = PatternFill("solid", fgColor="FFF2CC")
THIN = Side(style="thin", color="B7C2CF")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
WRAP = Alignment(wrap_text=True, vertical="top")
LEFT = Alignment(horizontal="left", vertical="top", wrap_text=True)
CENTRE = Alignment(horizontal="center", vertical="top", wrap_text=True)
# Every font is named: a font without a name is drawn in a serif face by LibreOffice.
FONT_NAME = "Calibri"
FONT_SIZE = 11
BOLD = Font(name=FONT_NAME, size=FONT_SIZE, bold=True)
TITLE_FONT = Font(name=FONT_NAME, bold=True, size=16)
LATE_FONT = Font(name=FONT_NAME, size=FONT_SIZE, bold=True, color="FF8B1A1A")
ON_COLOUR = Font(name=FONT_NAME, size=FONT_SIZE, bold=True, color="FF" + WHITE)  # on a fill

# Paper: letter, as in Quebec; a sheet wider than this many characters is printed landscape.
PORTRAIT_WIDTH = 100
MARGINS = PageMargins(left=0.4, right=0.4, top=0.6, bottom=0.6, header=0.3, footer=0.3)

# --- Row heights ---------------------------------------------------------------------------
# Neither openpyxl nor LibreOffice sizes a row to its wrapped text (Excel does, on editing
# only): a row left at 15 pt prints its second line over the next row. Each row's height is
# estimated from its longest wrapped cell. A column's width counts digits of the default
# font, so characters are measured in digits: generously, for the widest of the fonts the
# workbook is drawn in (Calibri in Excel; Carlito or DejaVu Sans in LibreOffice). A row a
# little too tall costs some white space; a row too short hides a line.
NARROW = frozenset(" .,;:!'|()[]ijlft-")
WIDE = frozenset("mwMW@%")
BOLD_FACTOR = 1.1
# A line of type takes 1.36 times its size (15 pt for 11 pt type), plus a little padding.
LINE_PITCH = 1.36
ROW_PADDING = 2


def char_width(char):
    """A character's width in digits (the unit of a column's width)."""
    if char in NARROW:
        return 0.5
    if char in WIDE:
        return 1.6
    if char.isupper():
        return 1.2
    return 0.95


@functools.lru_cache(maxsize=8192)  # words come back: measured once each
def text_width(text, *, bold=False):
    width = sum(map(char_width, text))
    return width * BOLD_FACTOR if bold else width


def line_count(text, width, *, bold=False):
    """The lines `text` takes when wrapped at word boundaries in a column `width` wide."""
    room = max(width - 1, 1)  # a cell's padding
    if "\n" not in text and len(text) * 1.6 * (BOLD_FACTOR if bold else 1) <= room:
        return 1  # short enough in the widest characters: most cells
    space = char_width(" ") * (BOLD_FACTOR if bold else 1)
    lines = 0
    for paragraph in text.split("\n"):
        lines += 1
        used = 0
        for word in paragraph.split(" "):
            size = text_width(word, bold=bold)
            if used and used + space + size <= room:
                used += space + size
                continue
            if used:
                lines += 1
            # A word wider than the column is broken across lines.
            while size > room:
                lines += 1
                size -= room
            used = size
    return lines


def row_height(lines, size=FONT_SIZE):
    """The height in points of a row showing `lines` lines of `size`-point type."""
    return round(lines * size * LINE_PITCH + ROW_PADDING, 1)


@functools.cache
def status_fill(status):
    return PatternFill("solid", fgColor=Action.STATUS_COLOURS[status].lstrip("#").upper())


@functools.cache
def organisation_font(confirmation, role):
    """An organisation's name in the legend's look (partners.legend), as the plan sheet's."""
    drawn = legend.look(confirmation, role)
    return Font(
        name=FONT_NAME, size=FONT_SIZE, color=drawn.argb, bold=drawn.bold, strike=drawn.strike
    )


def labels(choices):
    """{value: label} in the current language, translated once rather than once per cell."""
    return {member.value: str(member.label) for member in choices}


def placed(cells, row):
    """The row's cells numbered in place. openpyxl's own _values_to_row first tries each
    cell as a value, which fails with an exception for a cell: 8 % of the export's time."""
    for column, cell in enumerate(cells, start=1):
        cell.column = column
        cell.row = row
    return cells


class Sheet:
    """A write-only worksheet written row by row, with the layout every sheet shares."""

    def __init__(self, book, title, widths, styles):
        self.book = book
        self.ws = book.create_sheet(title)
        self.ws._values_to_row = placed
        self.styles = styles
        self.row_count = 0
        self.widths = list(widths)
        self.metrics = {}  # (font id, alignment id) -> (size, bold, wrapped)
        for index, width in enumerate(widths, start=1):
            self.ws.column_dimensions[get_column_letter(index)].width = width
        self.columns = len(widths)
        setup = self.ws.page_setup
        # Fit to the page's width and as many pages tall as it takes: a long plan squeezed
        # onto one page printed in type too small to read.
        setup.orientation = "landscape" if sum(widths) > PORTRAIT_WIDTH else "portrait"
        self.ws.page_margins = copy(MARGINS)
        setup.paperSize = Worksheet.PAPERSIZE_LETTER
        setup.fitToWidth = 1
        setup.fitToHeight = 0
        self.ws.sheet_properties.pageSetUpPr.fitToPage = True
        self.ws.print_options.gridLines = False
        self.ws.oddFooter.left.text = title
        self.ws.oddFooter.right.text = _("Page &P de &N")

    def cell(self, value, *, font=None, fill=None, alignment=WRAP, border=BORDER, fmt=None):
        if isinstance(value, Promise):  # a lazily translated label
            value = str(value)
        # Text stays text: a title typed "=HYPERLINK(…)" reaches the funder as those characters.
        cell = text_cell(self.ws, value)
        # Setting a style looks it up by hashing every attribute: done for each of 100,000s
        # of cells, that was half the export. Each combination is looked up once, then its
        # style ids are copied, as openpyxl copies them between cells itself.
        key = (id(font), id(fill), id(alignment), id(border), fmt)
        known = self.styles.get(key)
        if known is not None:
            cell._style = copy(known[0])
            return cell
        if alignment is not None:
            cell.alignment = alignment
        if font is not None:
            cell.font = font
        if fill is not None:
            cell.fill = fill
        if border is not None:
            cell.border = border
        if fmt is not None:
            cell.number_format = fmt
        # The style objects are kept with the ids, so that no id is reused by another object.
        self.styles[key] = (copy(cell._style), (font, fill, alignment, border))
        return cell

    def append(self, cells, *, span=False):
        """Write a row, as tall as its text; `span`: its one cell spreads over the table."""
        self.row_count += 1
        widths = [sum(self.widths)] if span else self.widths
        height = self.height(cells, widths)
        if height is not None:
            # Write-only sheets write a row's height with the row: set it before.
            self.ws.row_dimensions[self.row_count].height = height
        if span and self.columns > 1:
            last = get_column_letter(self.columns)
            self.ws.merged_cells.add(f"A{self.row_count}:{last}{self.row_count}")
        if self.row_count == 1:  # widths and frozen panes are set: the sheet's part opens
            self.book.start(self.ws)
        self.ws.append(cells)
        # Written with its row: kept, the heights of 10,000s of rows would stay in memory.
        self.ws.row_dimensions.pop(self.row_count, None)
        return self.row_count

    def height(self, cells, widths):
        """The row's height in points, or None for one line of the usual type."""
        tallest = None
        for cell, width in zip(cells, widths, strict=False):
            value = cell._value
            if not value or not isinstance(value, str | CellRichText):
                continue
            size, bold, wrapped = self.measure(cell)
            text = str(value)
            lines = line_count(text, width, bold=bold) if wrapped else text.count("\n") + 1
            if lines > 1 or size != FONT_SIZE:
                height = row_height(lines, size)
                tallest = height if tallest is None else max(tallest, height)
        return tallest

    def measure(self, cell):
        """(type size, bold, wrapped) of a cell, looked up once per style."""
        key = (cell._style.fontId, cell._style.alignmentId)
        known = self.metrics.get(key)
        if known is None:
            font = cell.font
            bold = bool(font.b)
            if isinstance(cell.value, CellRichText):  # the partners' cell: bold carriers
                bold = True
            known = (font.sz or FONT_SIZE, bold, bool(cell.alignment.wrap_text))
            if not isinstance(cell.value, CellRichText):
                self.metrics[key] = known
        return known

    def blank(self):
        return self.append([])

    def title(self, text):
        return self.append(
            [self.cell(text, font=TITLE_FONT, alignment=WRAP, border=None)], span=True
        )

    def line(self, text, font=None):
        return self.append([self.cell(text, font=font, alignment=WRAP, border=None)], span=True)

    def header(self, labels, fills=None):
        fills = fills or {}
        row = self.append(
            [
                self.cell(label, font=BOLD, fill=fills.get(index, HEADER_FILL), alignment=CENTRE)
                for index, label in enumerate(labels)
            ]
        )
        return row

    def freeze_below(self, row, columns=0):
        # Write-only sheets write their views first: freeze before the first row.
        self.ws.freeze_panes = f"{get_column_letter(columns + 1)}{row + 1}"

    def table(self, header_row, last_row, width=None):
        """Filters on the table and its header repeated on every printed page."""
        last_column = get_column_letter(width or self.columns)
        self.ws.auto_filter.ref = f"A{header_row}:{last_column}{max(last_row, header_row)}"
        self.ws.print_title_rows = f"{header_row}:{header_row}"


# Actions, targets or partner links read, and held, at a time while their rows are written.
# 500: 12 MiB of peak growth at 10,000 actions, 18 at 1,000 a chunk, 35 at 2,000, for the
# same time (benchmarks/README.md).
CHUNK_SIZE = 500
# Bytes of the file gathered before they are handed on (the first ones go at once).
FLUSH_BYTES = 64 * 1024


def batches(queryset, size):
    """Lists of up to `size` rows of `queryset`, fetched `size` at a time."""
    batch = []
    for row in queryset.iterator(chunk_size=size):
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


# What the targets' sheet shows of a target.
TARGET_FIELDS = ["action_id", "description", "kind", "unit", "target_value", "is_done"]


class PlanData:
    """Everything the workbook shows.

    What does not grow with the plan (periods, objectives, organisations, reviews, changes,
    the roll-ups) is read at once. The actions, targets and partner links are read
    CHUNK_SIZE at a time while their rows are written, each chunk with its related rows in
    a fixed number of queries (IN lists of one chunk's ids): memory stays the same whatever
    the plan's size, and the queries grow by a few per chunk, not per row."""

    def __init__(self, plan, *, since, today=None):
        self.plan = plan
        self.since = since
        self.today = today or timezone.localdate()
        self.periods = list(plan.periods.all())
        self.objectives = list(plan.objectives.prefetch_related("sub_objectives"))

        # The roll-ups, counted over the actions without keeping them.
        tallies = defaultdict(Tally)
        whole = Tally()
        figures = (
            plan.actions.with_progress()
            .with_late(self.today)
            .annotate(
                reported=Case(
                    When(Action.progress_reported_condition(), then=Value(True)),
                    default=Value(False),
                    output_field=BooleanField(),
                )
            )
            .order_by()
            .values_list("sub_objective_id", "status", "progress", "is_late", "reported")
        )
        for sub_id, *row in figures.iterator(chunk_size=CHUNK_SIZE):
            tallies[sub_id].add(*row)
            whole.add(*row)
        self.rollup = whole.rollup()
        # [(objective, roll-up, [(sub-objective, roll-up)])], as dashboard.progress.outline.
        self.sections = []
        for objective in self.objectives:
            subs = list(objective.sub_objectives.all())
            total = Tally()
            for sub in subs:
                total.extend(tallies[sub.pk])
            self.sections.append(
                (objective, total.rollup(), [(sub, tallies[sub.pk].rollup()) for sub in subs])
            )

        # Each organisation once, not a copy per link as select_related would make.
        organisations = Organisation.objects.filter(action_links__action__plan=plan).distinct()
        self.organisations = {organisation.pk: organisation for organisation in organisations}

        self.reviews = list(
            plan.reviews.select_related("presented_at").prefetch_related(
                "meetings", "funding", "staff", "items"
            )
        )
        self.changes = plan_changes(plan, since)

    def actions(self):
        """The actions in the outline's order, each with `scheduled` (period ids),
        `target_list` and `link_list`."""
        actions = (
            self.plan.actions.with_progress()
            .with_late(self.today)
            .filter(sub_objective__objective__plan=self.plan)
            .order_by("sub_objective__objective__number", "sub_objective__number", "sort_key")
        )
        through = Action.periods.through.objects
        for batch in batches(actions, CHUNK_SIZE):
            ids = [action.pk for action in batch]
            schedule = defaultdict(set)
            for action_id, period_id in through.filter(action_id__in=ids).values_list(
                "action_id", "period_id"
            ):
                schedule[action_id].add(period_id)
            targets = defaultdict(list)
            for target in Target.objects.filter(action_id__in=ids):
                targets[target.action_id].append(target)
            links = defaultdict(list)
            for link in ActionPartner.objects.filter(action_id__in=ids).order_by(
                "action_id", "order", "id"
            ):
                link.organisation = self.organisations[link.organisation_id]
                links[link.action_id].append(link)
            for action in batch:
                action.scheduled = schedule[action.pk]
                action.target_list = targets[action.pk]
                action.link_list = links[action.pk]
            yield from batch

    def targets(self):
        """The targets in the actions' order, each with its `action` and `value_list`,
        newest first."""
        targets = (
            Target.objects.filter(action__plan=self.plan)
            .select_related("action")
            .only(*TARGET_FIELDS, "action__code", "action__title")
            .order_by("action__sort_key", "action_id", "order", "id")
        )
        for batch in batches(targets, CHUNK_SIZE):
            values = defaultdict(list)
            for value in TargetValue.objects.filter(target_id__in=[t.pk for t in batch]):
                values[value.target_id].append(value)
            for target in batch:
                target.value_list = values[target.pk]
            yield from batch

    def links(self):
        """(link, action) by organisation name (without regard to case), then in the plan's
        order; each link with its `organisation`, each action with its progress and
        lateness."""
        if not self.organisations:
            return
        # The order of the names as Python sorts them: a database's collation would differ
        # (SQLite's lower() leaves "É" as it is).
        names = sorted({o.name.casefold() for o in self.organisations.values()})
        rank = {name: index for index, name in enumerate(names)}
        by_name = Case(
            *[
                When(organisation_id=pk, then=Value(rank[o.name.casefold()]))
                for pk, o in self.organisations.items()
            ],
            output_field=IntegerField(),
        )
        links = (
            ActionPartner.objects.filter(action__plan=self.plan)
            .annotate(name_rank=by_name)
            .order_by("name_rank", "action__sort_key", "action_id", "order", "id")
        )
        for batch in batches(links, CHUNK_SIZE):
            # What the sheet shows of each action, not the whole of it: every action is read
            # once per organisation it has.
            figures = (
                self.plan.actions.with_progress()
                .with_late(self.today)
                .filter(pk__in={link.action_id for link in batch})
                .values("pk", "code", "title", "status", "awaiting_date", "progress", "is_late")
            )
            actions = {row["pk"]: SimpleNamespace(**row) for row in figures}
            for link in batch:
                link.organisation = self.organisations[link.organisation_id]
                yield link, actions[link.action_id]


class Tally:
    """Counts towards a dashboard.progress.Rollup, one action at a time."""

    def __init__(self):
        self.total = self.late = self.progress_sum = self.progress_count = self.reported = 0
        self.statuses = defaultdict(int)

    def add(self, status, progress, late, reported):
        self.total += 1
        self.late += bool(late)
        self.reported += bool(reported)
        self.statuses[status] += 1
        if progress is not None:
            self.progress_sum += progress
            self.progress_count += 1

    def extend(self, other):
        self.total += other.total
        self.late += other.late
        self.reported += other.reported
        self.progress_sum += other.progress_sum
        self.progress_count += other.progress_count
        for status, count in other.statuses.items():
            self.statuses[status] += count

    def rollup(self):
        """The same figures as Rollup.of() over the same actions."""
        count = self.progress_count
        return Rollup(
            total=self.total,
            progress=round(self.progress_sum / count) if count else None,
            late=self.late,
            statuses=status_shares({f"status_{s}": n for s, n in self.statuses.items()}),
            reported=self.reported,
        )


class PlanWorkbook:
    """`PlanWorkbook(plan, since=date).chunks()`: the file's bytes as they are written;
    `.save(stream)`. Call inside the wanted language."""

    def __init__(self, plan, *, since, today=None):
        self.plan = plan
        self.since, self.today = since, today

    @functools.cached_property
    def data(self):
        """Read when the cover's title is written: the file's first bytes go out before."""
        return PlanData(self.plan, since=self.since, today=self.today)

    def save(self, stream):
        for chunk in self.chunks():
            stream.write(chunk)

    def chunks(self):
        """The workbook's bytes: the first as soon as the first sheet starts, then every
        FLUSH_BYTES or so while the rows are written (each sheet's methods yield after
        each row)."""
        self.styles = {}
        self.statuses = labels(Action.Status)
        self.target_kinds = labels(Target.Kind)
        self.kinds = labels(Organisation.Kind)
        self.roles = labels(ActionPartner.Role)
        self.confirmations = labels(ActionPartner.Confirmation)
        self.change_kinds = labels(ChangeKind)
        self.yes, self.no = formats.yes_no(True, capital=True), formats.yes_no(False, capital=True)
        book = StreamedWorkbook()
        properties = book.workbook.properties
        properties.title = self.plan.title
        properties.creator = "casal_tracker"
        properties.language = translation.get_language()
        sent = False
        for _row in itertools.chain(
            self.cover(book),
            self.plan_sheet(book),
            self.targets_sheet(book),
            self.organisations_sheet(book),
            self.reviews_sheet(book),
            self.changes_sheet(book),
        ):
            if book.pending >= FLUSH_BYTES or (book.pending and not sent):
                yield book.take()
                sent = True
        yield book.finish()

    # Sheets ---------------------------------------------------------------------------

    def cover(self, book):
        plan = self.plan
        sheet = Sheet(book, _("Sommaire"), [34, 60], self.styles)
        sheet.title(plan.title)
        yield  # the file's first bytes, before the data is read
        data = self.data
        sheet.blank()
        facts = [
            (_("Plan"), plan.title),
            (_("Coalition"), plan.coalition.name),
            (_("Type"), plan.get_kind_display()),
            (_("Période couverte"), formats.days(plan.start, plan.end)),
            (_("Adopté le"), plan.adopted_on or formats.MISSING),
            (_("Produit le"), data.today),
            # The counts by status first, then the estimate with its rule beside it, as the
            # pages say them (dashboard/progress.py).
            (_("Actions"), data.rollup.total),
            (_("Actions par statut"), data.rollup.status_sentence()),
            # A number the funder can compute with, shown as a percentage.
            (
                _("Avancement estimé"),
                formats.MISSING
                if data.rollup.progress is None
                else Decimal(data.rollup.progress) / 100,
            ),
            (
                _("Comment l'avancement est estimé"),
                f"{data.rollup.rule()} {data.rollup.reported_sentence()}",
            ),
            (_("Actions en retard"), data.rollup.late),
        ]
        for label, value in facts:
            sheet.append([sheet.cell(label, font=BOLD), self.fact_cell(sheet, value)])
        sheet.blank()
        sheet.header([_("Statut"), _("Actions")])
        for share in data.rollup.statuses:
            sheet.append(
                [
                    sheet.cell(
                        str(share.label),
                        font=ON_COLOUR,
                        fill=status_fill(share.status),
                    ),
                    sheet.cell(share.count, alignment=None),
                ]
            )
        sheet.blank()
        sheet.append(
            [
                sheet.cell(_("Changements depuis le %(date)s") % {"date": self.since_text()}),
                sheet.cell(len(data.changes), alignment=None),
            ]
        )
        sheet.blank()
        sheet.line(_("Contenu du classeur"), font=BOLD)
        for name, what in [
            (_("Plan"), _("le plan tel qu'adopté, avec l'état de chaque action")),
            (_("Cibles"), _("les cibles et les valeurs atteintes")),
            (_("Organismes"), _("ce que chaque organisme porte ou appuie")),
            (_("Bilans"), _("rencontres, financement, ressources humaines et résultats")),
            (_("Changements"), _("ce qui a changé depuis la date choisie")),
        ]:
            sheet.append([sheet.cell(name, border=None), sheet.cell(what, border=None)])
        yield

    @staticmethod
    def fact_cell(sheet, value):
        """A cover fact: dates as dates, fractions as percentages, both left-aligned as text."""
        if isinstance(value, datetime.date):
            return sheet.cell(value, fmt=formats.SPREADSHEET_DATE, alignment=LEFT)
        if isinstance(value, Decimal):
            return sheet.cell(value, fmt=formats.spreadsheet_percent_format(), alignment=LEFT)
        return sheet.cell(value)

    def plan_sheet(self, book):
        data, plan = self.data, self.plan
        periods = data.periods
        headers = [
            *(label for _key, label in layout.LEADING_COLUMNS),
            *(period.label for period in periods),
            *(label for _key, label in layout.TRAILING_COLUMNS),
        ]
        # Narrow enough that the type printed to the page's width stays legible (about 7 pt
        # at least in LibreOffice, whose default font is the widest): rows grow instead.
        widths = [6, 26, 34, 24, 20, *[7] * len(periods), 11, 12, 8, 11]
        sheet = Sheet(book, _("Plan"), widths, self.styles)
        header_row = 4
        sheet.freeze_below(header_row, columns=2)
        sheet.title(plan.title)
        sheet.line(
            _("%(coalition)s · état au %(date)s")
            % {"coalition": plan.coalition.name, "date": formats.day(data.today)}
        )
        sheet.append([sheet.cell(self.legend(), border=None)], span=True)
        first_period = len(layout.LEADING_COLUMNS)
        current = {
            first_period + index: CURRENT_PERIOD_FILL
            for index, period in enumerate(periods)
            if period.is_current(data.today)
        }
        sheet.header(headers, fills=current)

        blank_periods = [""] * len(periods)
        actions = data.actions()  # in the outline's order, read a chunk at a time
        action = next(actions, None)
        for objective, rollup, subs in data.sections:
            sheet.append(
                self.section_row(
                    sheet,
                    objective.code,
                    layout.section_title(objective, plan.objective_word),
                    rollup,
                    OBJECTIVE_FILL,
                    ON_COLOUR,
                )
            )
            for sub, sub_rollup in subs:
                sheet.append(
                    self.section_row(
                        sheet, sub.code, sub.title, sub_rollup, SUB_OBJECTIVE_FILL, BOLD
                    )
                )
                while action is not None and action.sub_objective_id == sub.pk:
                    scheduled = action.scheduled
                    marks = [
                        layout.SCHEDULED if period.pk in scheduled else "" for period in periods
                    ] or blank_periods
                    sheet.append(
                        [
                            sheet.cell(action.code, alignment=WRAP),
                            sheet.cell(action.title),
                            sheet.cell(action.means),
                            sheet.cell("\n".join(t.description for t in action.target_list)),
                            sheet.cell(
                                layout.partners_cell(
                                    action.link_list,
                                    action.carrier_to_be_found,
                                    action.partners_text,
                                )
                            ),
                            *(sheet.cell(mark, alignment=CENTRE) for mark in marks),
                            sheet.cell(
                                self.statuses[action.status],
                                font=ON_COLOUR,
                                fill=status_fill(action.status),
                            ),
                            sheet.cell(action.progress, alignment=CENTRE),
                            sheet.cell(
                                self.lateness(action),
                                font=LATE_FONT if action.is_late else None,
                                alignment=CENTRE,
                            ),
                            sheet.cell(
                                timezone.localdate(action.updated_at),
                                fmt=formats.SPREADSHEET_DATE,
                                alignment=CENTRE,
                            ),
                        ]
                    )
                    yield
                    action = next(actions, None)
        sheet.table(header_row, sheet.row_count)

    def section_row(self, sheet, code, title, rollup, fill, font):
        width = sheet.columns
        cells = [
            sheet.cell(code, font=font, fill=fill),
            sheet.cell(title, font=font, fill=fill),
        ]
        cells += [sheet.cell(None, fill=fill) for _ in range(width - 2)]
        # The roll-up of its actions where the actions show their completion.
        cells[width - 3] = sheet.cell(rollup.progress, font=font, fill=fill, alignment=CENTRE)
        if rollup.late:
            late = _("%(count)s en retard") % {"count": rollup.late}
            cells[width - 2] = sheet.cell(late, font=font, fill=fill, alignment=CENTRE)
        return cells

    def legend(self):
        blocks = [
            TextBlock(
                InlineFont(rFont=FONT_NAME, sz=FONT_SIZE, b=True),
                _("Légende des porteurs et partenaires : "),
            )
        ]
        for value, label, _colour, colour_name in ActionPartner.legend_entries():
            if value == ActionPartner.Confirmation.NOT_SPECIFIED:
                continue
            font = layout.partner_font(value, ActionPartner.Role.PARTNER)
            blocks += [TextBlock(font, f"{label} ({colour_name})"), " · "]
        blocks += [
            TextBlock(
                layout.partner_font(
                    ActionPartner.Confirmation.NOT_SPECIFIED, ActionPartner.Role.PARTNER
                ),
                _("gris : confirmation non précisée"),
            ),
            " · ",
            TextBlock(InlineFont(rFont=FONT_NAME, sz=FONT_SIZE, b=True), _("en gras : porteur")),
            " · ",
            _("« ? » : porteur à trouver"),
        ]
        return CellRichText(blocks)

    def targets_sheet(self, book):
        data = self.data
        headers = [
            _("Code"),
            _("Action"),
            _("Cible ou résultat attendu"),
            _("Type"),
            _("Unité"),
            _("Valeur cible"),
            _("Valeur atteinte"),
            _("En date du"),
            _("Atteint (%)"),
            _("Livré"),
            _("Valeurs précédentes"),
        ]
        sheet = Sheet(book, _("Cibles"), [6, 28, 32, 11, 12, 9, 9, 11, 9, 7, 20], self.styles)
        sheet.freeze_below(1, columns=2)
        sheet.header(headers)
        for target in data.targets():
            action, values = target.action, target.value_list
            latest = values[0] if values else None
            reached = None
            if latest is not None and target.target_value:
                reached = round(100 * latest.value / target.target_value)
            is_count = target.kind == Target.Kind.COUNT
            earlier = "\n".join(
                f"{formats.short_day(v.date)} : {formats.spreadsheet_number(v.value)}"
                for v in values[1:]
            )
            sheet.append(
                [
                    sheet.cell(action.code),
                    sheet.cell(action.title),
                    sheet.cell(target.description),
                    sheet.cell(self.target_kinds[target.kind]),
                    sheet.cell(target.unit),
                    sheet.cell(formats.spreadsheet_number(target.target_value)),
                    sheet.cell(formats.spreadsheet_number(latest.value) if latest else None),
                    sheet.cell(latest.date if latest else None, fmt=formats.SPREADSHEET_DATE),
                    sheet.cell(reached),
                    sheet.cell("" if is_count else (self.yes if target.is_done else self.no)),
                    sheet.cell(earlier),
                ]
            )
            yield
        sheet.table(1, sheet.row_count)

    def lateness(self, action):
        """The "En retard" cell: yes when late (with_late's rule); a postponed action awaiting
        a new date says so instead of a blank that would read as "on time"."""
        if action.is_late:
            return self.yes
        if action.awaiting_date:
            return _("en attente d'une nouvelle date")
        return ""

    def organisations_sheet(self, book):
        data = self.data
        headers = [
            _("Organisme"),
            _("Type"),
            _("Rôle"),
            _("Confirmation"),
            _("Code"),
            _("Action"),
            _("Statut"),
            _("Avancement (%)"),
            _("En retard"),
        ]
        sheet = Sheet(book, _("Organismes"), [26, 16, 11, 18, 6, 34, 11, 12, 8], self.styles)
        sheet.freeze_below(1, columns=1)
        sheet.header(headers)
        for link, action in data.links():
            organisation = link.organisation
            sheet.append(
                [
                    sheet.cell(
                        organisation.name,
                        font=organisation_font(link.confirmation, link.role),
                    ),
                    sheet.cell(self.kinds[organisation.kind]),
                    sheet.cell(self.roles[link.role]),
                    sheet.cell(self.confirmations[link.confirmation]),
                    sheet.cell(action.code),
                    sheet.cell(action.title),
                    sheet.cell(
                        self.statuses[action.status],
                        font=ON_COLOUR,
                        fill=status_fill(action.status),
                    ),
                    sheet.cell(action.progress, alignment=CENTRE),
                    sheet.cell(self.lateness(action), font=LATE_FONT if action.is_late else None),
                ]
            )
            yield
        sheet.table(1, sheet.row_count)

    def reviews_sheet(self, book):
        sheet = Sheet(book, _("Bilans"), [40, 22, 60], self.styles)
        sheet.title(_("Bilans du plan"))
        if not self.data.reviews:
            sheet.line(_("Aucun bilan n'est enregistré pour ce plan."))
            yield
            return
        totals = defaultdict(Decimal)  # funder -> amount, over every review
        for review in self.data.reviews:
            sheet.blank()
            self.review_heading(sheet, review)
            self.review_meetings(sheet, list(review.meetings.all()))
            self.review_funding(sheet, list(review.funding.all()), totals)
            self.review_staff(sheet, list(review.staff.all()))
            self.review_items(sheet, list(review.items.all()))
            if review.notes:
                sheet.append(
                    [sheet.cell(_("Notes"), font=BOLD), sheet.cell(""), sheet.cell(review.notes)]
                )
            yield
        if totals:
            self.funding_by_source(sheet, totals)
        yield

    @staticmethod
    def review_heading(sheet, review):
        """The review's title, its period and the assembly it was presented to, on the
        objectives' fill."""
        period = review.period_label or formats.days(review.start, review.end)
        presented = (
            _("Présenté à l'assemblée du %(date)s")
            % {"date": formats.day(review.presented_at.date)}
            if review.presented_at
            else ""
        )
        sheet.append(
            [
                sheet.cell(text, font=ON_COLOUR, fill=OBJECTIVE_FILL)
                for text in (review.title, period, presented)
            ]
        )

    @staticmethod
    def review_meetings(sheet, meetings):
        if not meetings:
            return
        sheet.header([_("Comité ou instance"), _("Rencontres"), ""])
        for meeting in meetings:
            sheet.append([sheet.cell(meeting.body), sheet.cell(meeting.count), sheet.cell("")])

    @staticmethod
    def review_funding(sheet, funding, totals):
        """The review's funding lines and their total; each amount is added to `totals`."""
        if not funding:
            return
        sheet.header([_("Source de financement"), _("Montant"), _("Note")])
        for line in funding:
            totals[line.funder] += line.amount
            sheet.append(
                [sheet.cell(line.funder), amount_cell(sheet, line.amount), sheet.cell(line.note)]
            )
        total_row(sheet, sum((line.amount for line in funding), Decimal(0)))

    @staticmethod
    def review_staff(sheet, staff):
        if not staff:
            return
        sheet.header([_("Ressource humaine"), _("Nombre"), _("Durée")])
        for person in staff:
            sheet.append(
                [sheet.cell(person.role), sheet.cell(person.count), sheet.cell(person.duration)]
            )

    @staticmethod
    def review_items(sheet, items):
        if not items:
            return
        sheet.header([_("Élément"), _("Rubrique"), _("Texte")])
        for item in items:
            sheet.append(
                [
                    sheet.cell(str(ReviewItem.Kind(item.kind).label)),
                    sheet.cell(item.heading),
                    sheet.cell(item.text),
                ]
            )

    @staticmethod
    def funding_by_source(sheet, totals):
        """Every review's funding added up by funder, under the last review."""
        sheet.blank()
        sheet.line(_("Financement par source, tous bilans confondus"), font=BOLD)
        sheet.header([_("Source de financement"), _("Montant"), ""])
        for funder, amount in totals.items():
            sheet.append([sheet.cell(funder), amount_cell(sheet, amount), sheet.cell("")])
        total_row(sheet, sum(totals.values(), Decimal(0)))

    def changes_sheet(self, book):
        changes = self.data.changes
        sheet = Sheet(book, _("Changements"), [11, 6, 28, 14, 28, 40, 14], self.styles)
        header_row = 3
        sheet.freeze_below(header_row, columns=0)
        sheet.title(_("Changements depuis le %(date)s") % {"date": self.since_text()})
        sheet.line(
            ngettext(
                "%(count)s changement, du plus récent au plus ancien.",
                "%(count)s changements, du plus récent au plus ancien.",
                formats.form_count(len(changes)),
            )
            % {"count": len(changes)}
        )
        sheet.header(
            [_("Date"), _("Code"), _("Action"), _("Type"), _("Changement"), _("Détail"), _("Par")]
        )
        for change in changes:
            detail = [f"{f.label} : {f.before} → {f.after}" for f in change.fields]
            if change.text:
                detail.insert(0, change.text)
            sheet.append(
                [
                    sheet.cell(change.date, fmt=formats.SPREADSHEET_DATE),
                    sheet.cell(change.action_code),
                    sheet.cell(change.action_title),
                    sheet.cell(self.change_kinds[change.kind]),
                    sheet.cell(change.headline),
                    sheet.cell("\n".join(detail)),
                    sheet.cell(change.author),
                ]
            )
            yield
        sheet.table(header_row, sheet.row_count)

    def since_text(self):
        return formats.day(self.data.since)


def amount_cell(sheet, amount, font=None):
    """A sum of money as a number, shown with cents only when there are some."""
    return sheet.cell(amount, font=font, fmt=formats.spreadsheet_money_format(amount))


def total_row(sheet, total):
    return sheet.append(
        [sheet.cell(_("Total"), font=BOLD), amount_cell(sheet, total, font=BOLD), sheet.cell("")]
    )


def filename(plan, today=None, language="fr"):
    """The plan, the day and the language: the French and English copies side by side."""
    today = today or timezone.localdate()
    return f"{plan.slug}_{formats.iso_day(today)}_{language}.xlsx"


def chunks(plan, *, since, language="fr", today=None):
    """The bytes of the plan's workbook in `language`, as they are written: for a streamed
    response, which may read them after the view has returned."""
    with translation.override(language):
        pieces = PlanWorkbook(plan, since=since, today=today).chunks()
    while True:
        # The language only while a piece is written: between pieces the server's thread
        # goes on with its own.
        with translation.override(language):
            piece = next(pieces, None)
        if piece is None:
            return
        yield piece


def export(plan, stream, *, since, language="fr", today=None):
    """Write the plan's workbook to `stream` in `language`."""
    for piece in chunks(plan, since=since, language=language, today=today):
        stream.write(piece)
