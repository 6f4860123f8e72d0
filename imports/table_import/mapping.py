"""Mapping columns: which field each header of the file goes into, guessed from the
headers, then checked once the coordinator has chosen."""

import re
from collections import Counter

from django.utils.translation import gettext as _
from openpyxl.cell.rich_text import CellRichText
from openpyxl.utils import get_column_letter

from imports import layout
from imports.table_import.reading import cell_text, known_headers, normalise

IGNORE = "ignore"
PERIOD_PREFIX = "period:"
LOOKS_LIKE_PERIOD = re.compile(r"^(\d{4}(\s*[-–/]\s*\d{2,4})?|an(née)?\s*\d+|year\s*\d+)$", re.I)


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
