"""Widgets the back-office's forms share."""

from django import forms


class DateInput(forms.DateInput):
    """The browser's own date picker: one compact, keyboard-friendly field, where Django's
    widget adds a "Today" link, a calendar icon and, on a computer set to another time zone,
    a warning under every date of every row."""

    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")
