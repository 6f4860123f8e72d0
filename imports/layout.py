"""The plan as a table, the way coalitions write it in Word: the layout that the funders'
workbook exports and the table import reads back, so that one round-trips through the other.

Objective and sub-objective rows are section rows (code 1, then 1.1); action rows carry a
code of three numbers or more. The partners cell lists one name per line in the colour of the
plan's legend, carriers in bold and those who declined struck through.
"""

import functools
import re

from django.utils.translation import gettext_lazy as _
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont

from partners import legend
from partners.models import ActionPartner

# (key, header). The period columns come between the partners and the status.
LEADING_COLUMNS = [
    ("code", _("Code")),
    ("title", _("Action")),
    ("means", _("Moyens d'action et conditions de réalisation")),
    ("targets", _("Cibles et résultats attendus")),
    ("partners", _("Porteurs et partenaires")),
]
TRAILING_COLUMNS = [
    ("status", _("Statut")),
    ("completion", _("Avancement (%)")),
    ("late", _("En retard")),
    ("updated", _("Dernière mise à jour")),
]
# Read by the import but never written: the workbook shows no reason column.
REASON_COLUMN = ("reason", _("Raison du changement de statut"))
# Derived by the application: an import reads past them.
DERIVED = {"late", "updated"}

# What a cell in a period column says when the action is scheduled then.
SCHEDULED = "X"
# The partners cell's line for an action that has no carrier yet, as the plans write it.
TO_BE_FOUND = "?"

# How plans name their first level, ahead of its number: "OBJECTIF 1 : …", "Axe 2 - …".
SECTION_WORDS = ["objectif", "objective", "axe", "orientation", "champ d'intervention"]
CODE_AHEAD = re.compile(r"(?P<code>\d+(?:\.\d+)*)\.?(?:\s*[:–—-]\s*|\s+|$)(?P<rest>.*)", re.DOTALL)


def section_title(objective, label=None):
    """'Objectif 1 : Favoriser…', with the plan's own name for its first level; `label` and the
    current language's punctuation for a reader (Objective 1: …)."""
    if label is None:
        return f"{objective.plan.objective_label} {objective.number} : {objective.title}"
    return _("%(label)s %(number)s : %(title)s") % {
        "label": label,
        "number": objective.number,
        "title": objective.title,
    }


def split_code(text, words=()):
    """('1.2.3', 'Title') from '1.2.3 Title', ('1', 'Title') from 'OBJECTIF 1 : Title';
    (None, text) when the text starts with no code."""
    text = str(text or "").strip()
    folded = text.casefold().replace("’", "'")
    for word in sorted({*SECTION_WORDS, *(w.casefold() for w in words)}, key=len, reverse=True):
        if folded.startswith(word + " "):
            text = text[len(word) :].lstrip()
            break
    match = CODE_AHEAD.match(text)
    if not match:
        return None, text
    return match["code"], match["rest"].strip()


def partner_label(link):
    return link.label_in_source or link.organisation.short_name or link.organisation.name


@functools.cache
def partner_font(confirmation, role):
    """A rich-text run in the legend's look (partners.legend)."""
    drawn = legend.look(confirmation, role)
    return InlineFont(rFont="Calibri", sz=11, color=drawn.argb, b=drawn.bold, strike=drawn.strike)


def partners_cell(links, carrier_to_be_found, fallback_text=""):
    """Rich text: each partner on its line in its legend colour; the plan's text without links."""
    if not links and not carrier_to_be_found:
        return fallback_text
    blocks = []
    for link in links:
        if blocks:
            blocks.append("\n")
        blocks.append(TextBlock(partner_font(link.confirmation, link.role), partner_label(link)))
    if carrier_to_be_found:
        if blocks:
            blocks.append("\n")
        blocks.append(
            TextBlock(
                partner_font(ActionPartner.Confirmation.POTENTIAL, ActionPartner.Role.CARRIER),
                TO_BE_FOUND,
            )
        )
    return CellRichText(blocks)


# Colours read back as a legend entry: the workbook's own, and the standard colours that
# Word and Excel offer, for a table that followed the legend by hand. Black is left out on
# purpose: default text is black, and saying "confirmed member" of it would invent a status.
COLOUR_CONFIRMATIONS = {
    **{
        legend.spreadsheet_colour(confirmation): confirmation
        for confirmation in ActionPartner.LEGEND
        if confirmation
        not in (ActionPartner.Confirmation.DECLINED, ActionPartner.Confirmation.NOT_SPECIFIED)
    },
    "7030A0": ActionPartner.Confirmation.MEMBER_TO_VALIDATE,
    "800080": ActionPartner.Confirmation.MEMBER_TO_VALIDATE,
    "FF0000": ActionPartner.Confirmation.POTENTIAL,
    "C00000": ActionPartner.Confirmation.POTENTIAL,
    "0070C0": ActionPartner.Confirmation.CONFIRMED_COLLABORATOR,
    "0000FF": ActionPartner.Confirmation.CONFIRMED_COLLABORATOR,
    "002060": ActionPartner.Confirmation.CONFIRMED_COLLABORATOR,
}


def read_partner(font):
    """(confirmation or None, is carrier) from a run's font; None when it says nothing."""
    if font is None:
        return None, False
    if font.strike:
        return ActionPartner.Confirmation.DECLINED, bool(font.b)
    colour = font.color.rgb if font.color is not None and font.color.type == "rgb" else None
    confirmation = COLOUR_CONFIRMATIONS.get(str(colour or "")[-6:].upper())
    return confirmation, bool(font.b)
