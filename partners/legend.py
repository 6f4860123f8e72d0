"""The partner legend of the adopted plans, as the spreadsheets draw it.

The colours are ActionPartner.LEGEND's (static/css/common.css repeats them for the pages, and
a test holds the two together); the rest of the legend is here: carriers in bold, those who
declined struck through. The workbook's fonts and the table layout's rich text both read it,
so a workbook reads back as it was written.
"""

import functools
from dataclasses import dataclass

from partners.models import ActionPartner


@dataclass(frozen=True)
class Look:
    colour: str  # RRGGBB, as spreadsheets write it
    bold: bool
    strike: bool

    @property
    def argb(self):
        """The colour with its alpha, as openpyxl's fonts take it."""
        return "FF" + self.colour


def spreadsheet_colour(confirmation):
    """A confirmation's legend colour as RRGGBB: '7A2A8C'."""
    return ActionPartner.LEGEND[confirmation][0].lstrip("#").upper()


@functools.cache
def look(confirmation, role):
    """How an organisation's name is drawn for its confirmation and its role."""
    return Look(
        colour=spreadsheet_colour(confirmation),
        bold=role == ActionPartner.Role.CARRIER,
        strike=confirmation == ActionPartner.Confirmation.DECLINED,
    )
