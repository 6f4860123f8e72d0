"""How the application writes numbers, money, dates and yes or no, in French and in English.

The one home of these rules, at the bottom of the layers so that every layer can use it: the
pages (the dashboard's template filters), the list of changes and the funders' workbook write
a value the same way. The spreadsheet formats sit here too, beside the text they match.
"""

import datetime
from decimal import Decimal

from django.utils import formats, timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

# What an empty value reads as, on a page or in a list of changes.
MISSING = "—"

# Spreadsheet number formats: money with cents only when there are some, dates ISO.
SPREADSHEET_MONEY = '#,##0 "$"'
SPREADSHEET_MONEY_CENTS = '#,##0.00 "$"'
SPREADSHEET_DATE = "yyyy-mm-dd"
# A fraction shown as a percentage, spaced as each language writes it: 6 %, 6%.
SPREADSHEET_PERCENT = {"fr": '0"\xa0"%', "en": "0%"}


def is_whole(value):
    """True for 12 and 12.00: a stored decimal that people write without decimals."""
    return value == value.to_integral_value()


def number(value):
    """A decimal as people write it: 12, not 12,00; 2,5 in French; 1 250 grouped."""
    if value is None or value == "":
        return MISSING
    value = Decimal(value)
    places = 0 if is_whole(value) else None
    return formats.number_format(value, decimal_pos=places, force_grouping=True)


def money(amount):
    """81 626 $ in French (Quebec), $81,626 in English; cents only when there are some."""
    if amount is None or amount == "":
        return MISSING
    amount = Decimal(amount)
    places = 0 if is_whole(amount) else 2
    figure = formats.number_format(amount, decimal_pos=places, force_grouping=True)
    if is_french():
        return f"{figure}\xa0$"
    return f"${figure}"


def spreadsheet_number(value):
    """A stored decimal as a spreadsheet number: 12, not 12.00."""
    if value is None:
        return None
    if isinstance(value, Decimal) and is_whole(value):
        return int(value)
    return value


def spreadsheet_money_format(amount):
    """The number format of an amount's cell, the spreadsheet's `money`."""
    return SPREADSHEET_MONEY if is_whole(amount) else SPREADSHEET_MONEY_CENTS


def spreadsheet_percent_format():
    """The number format of a percentage's cell in the current language."""
    return SPREADSHEET_PERCENT["fr" if (get_language() or "fr").startswith("fr") else "en"]


def is_french():
    return (get_language() or "fr").startswith("fr")


def form_count(count):
    """The count that picks a word's form in ngettext: French writes 0 in the singular
    (0 changement), but French is the source language here, with no catalogue of its own, and
    gettext then picks the plural for every count but 1."""
    return 1 if count == 0 and is_french() else count


def first_of_month(text, value):
    """French writes the first of a month as an ordinal: 1er avril, 2 avril; Django's "j"
    knows no ordinals, so the "er" goes on the day number that opens the text."""
    if value.day == 1 and is_french() and text.startswith("1 "):
        return f"1er{text[1:]}"
    return text


def day(value):
    """A date spelled out: 5 avril 2018, 1er avril 2018; April 5, 2018, April 1, 2018."""
    return first_of_month(formats.date_format(value), value)


def moment(value):
    """A date and time spelled out, in local time: 1er avril 2018, 14 h 05."""
    if isinstance(value, datetime.datetime) and timezone.is_aware(value):
        value = timezone.localtime(value)
    return first_of_month(formats.date_format(value, "DATETIME_FORMAT"), value)


def short_day(value):
    """A date in figures, for lists: 2018-04-05."""
    return formats.date_format(value, "SHORT_DATE_FORMAT")


def iso_day(value):
    """A date for machines and file names, the same in every language: 2018-04-05."""
    return f"{value:%Y-%m-%d}"


def days(start, end):
    """A period between two dates: du 1er avril 2024 au 31 mars 2025."""
    return _("du %(start)s au %(end)s") % {"start": day(start), "end": day(end)}


def yes_no(value, *, capital=False):
    """oui or non (yes or no); Oui or Non at the start of a cell."""
    word = _("oui") if value else _("non")
    return word[:1].upper() + word[1:] if capital else word
