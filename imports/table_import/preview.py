"""The preview: the file's rows, read against the plan as it is in the database
(`RowReader`), become the `Entry`s of a `Preview` of what an import would create and
change; every mistake is collected with its row and column."""

import hashlib
import re
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import npgettext, override
from openpyxl.cell.rich_text import CellRichText, TextBlock

from actions.models import CODE_PATTERN, Action
from actions.services import validate_status_change
from imports import layout
from imports.table_import.mapping import IGNORE, PERIOD_PREFIX, check_mapping, column_name
from imports.table_import.reading import TableError, cell_text, normalise, same_text
from partners.models import ActionPartner, Organisation
from plans.formats import form_count, yes_no
from plans.models import SubObjective

BULLETS = "•◦▪·-–—*"


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

    def count_lines(self):
        """'Objectifs : 1 nouveau, 2 modifiés, 0 inchangé', one line per kind, each word agreeing
        with its count and with the kind's gender (une action nouvelle, un objectif nouveau)."""
        counts = self.counts()
        return [
            _("%(kind)s : %(counts)s")
            % {"kind": label, "counts": count_words(counts[kind], feminine=kind == "action")}
            for kind, label in (
                ("objective", _("Objectifs")),
                ("sub_objective", _("Sous-objectifs")),
                ("action", _("Actions")),
            )
        ]

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
        # The workbook names the plan's first level in its reader's language.
        self.objective_words = set()
        for language, _name in settings.LANGUAGES:
            with override(language):
                self.objective_words.add(plan.objective_word)
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
        # The plan's own name, or the one the English workbook writes (Field of action 1: …).
        words = [self.plan.objective_label, *self.objective_words]
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
        # The workbook shows the progress the pages count (what the status implies when no
        # completion was typed; 100 for a done action): reading that back changes nothing.
        if number == Action.progress_for(entry.status, current) and (
            current is None or entry.status in Action.PROGRESS_SET_BY_STATUS
        ):
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


def count_words(counts, *, feminine):
    """'1 nouveau, 2 modifiés, 0 inchangé' (or nouvelle, modifiées… for a feminine noun)."""
    new, changed, same = counts["new"], counts["changed"], counts["unchanged"]
    if feminine:
        words = [
            npgettext("action", "%(count)s nouvelle", "%(count)s nouvelles", form_count(new)),
            npgettext("action", "%(count)s modifiée", "%(count)s modifiées", form_count(changed)),
            npgettext("action", "%(count)s inchangée", "%(count)s inchangées", form_count(same)),
        ]
    else:
        words = [
            npgettext("objectif", "%(count)s nouveau", "%(count)s nouveaux", form_count(new)),
            npgettext("objectif", "%(count)s modifié", "%(count)s modifiés", form_count(changed)),
            npgettext("objectif", "%(count)s inchangé", "%(count)s inchangés", form_count(same)),
        ]
    return ", ".join(
        word % {"count": count} for word, count in zip(words, (new, changed, same), strict=True)
    )
