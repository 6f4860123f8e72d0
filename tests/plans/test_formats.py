"""plans.formats: how every layer writes a number, money, a date and yes or no."""

import datetime
from decimal import Decimal

import pytest
from django.utils import translation

from plans import formats


@pytest.mark.parametrize(
    ("language", "expected"),
    [("fr", ("Oui", "Non", "oui", "non")), ("en", ("Yes", "No", "yes", "no"))],
)
def test_yes_no_reads_the_same_in_a_cell_and_in_a_sentence(language, expected):
    with translation.override(language):
        written = (
            formats.yes_no(True, capital=True),
            formats.yes_no(False, capital=True),
            formats.yes_no(True),
            formats.yes_no(False),
        )

    assert written == expected


@pytest.mark.parametrize(
    ("language", "amount", "expected"),
    [
        ("fr", Decimal("81626.00"), "81\xa0626\xa0$"),
        ("fr", Decimal("1234.5"), "1\xa0234,50\xa0$"),
        ("en", Decimal("81626"), "$81,626"),
        ("fr", None, "—"),
    ],
)
def test_money_shows_cents_only_when_there_are_some(language, amount, expected):
    with translation.override(language):
        assert formats.money(amount) == expected


def test_a_whole_decimal_is_the_same_whole_number_on_a_page_and_in_a_spreadsheet():
    with translation.override("fr"):
        assert formats.number(Decimal("12.00")) == "12"
        assert formats.number(Decimal("2.5")) == "2,5"
    assert formats.spreadsheet_number(Decimal("12.00")) == 12
    assert isinstance(formats.spreadsheet_number(Decimal("12.00")), int)
    assert formats.spreadsheet_money_format(Decimal("12.00")) == formats.SPREADSHEET_MONEY
    assert formats.spreadsheet_money_format(Decimal("12.5")) == formats.SPREADSHEET_MONEY_CENTS


def test_dates_are_spelled_out_in_each_language():
    day = datetime.date(2018, 4, 5)
    with translation.override("fr"):
        assert formats.days(day, datetime.date(2019, 3, 31)) == "du 5 avril 2018 au 31 mars 2019"
    with translation.override("en"):
        assert formats.day(day) == "April 5, 2018"
    assert formats.iso_day(day) == "2018-04-05"
