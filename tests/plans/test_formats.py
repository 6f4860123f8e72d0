"""plans.formats: how every layer writes a number, money, a date and yes or no."""

import datetime
from decimal import Decimal

import pytest
from django.utils import translation
from django.utils.translation import ngettext

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


def test_the_first_of_a_month_is_an_ordinal_in_french_only():
    first, second = datetime.date(2017, 2, 1), datetime.date(2017, 2, 2)
    with translation.override("fr"):
        assert formats.day(first) == "1er février 2017"
        assert formats.day(second) == "2 février 2017"
        assert formats.day(datetime.date(2017, 2, 11)) == "11 février 2017"
        assert formats.days(datetime.date(2016, 4, 1), datetime.date(2020, 3, 31)) == (
            "du 1er avril 2016 au 31 mars 2020"
        )
        assert formats.moment(datetime.datetime(2017, 2, 1, 14, 5)) == "1er février 2017, 14 h 05"
    with translation.override("en"):
        assert formats.day(first) == "February 1, 2017"
        assert formats.day(second) == "February 2, 2017"
        assert formats.days(datetime.date(2016, 4, 1), datetime.date(2020, 3, 31)) == (
            "from April 1, 2016 to March 31, 2020"
        )


def test_french_counts_zero_in_the_singular_and_english_in_the_plural():
    def changes(count):
        return ngettext("%(n)s changement", "%(n)s changements", formats.form_count(count)) % {
            "n": count
        }

    with translation.override("fr"):
        assert [changes(n) for n in (0, 1, 2)] == ["0 changement", "1 changement", "2 changements"]
    with translation.override("en"):
        assert formats.form_count(0) == 0
