"""WCAG AA contrast (4.5:1 for text) of the colours the stylesheets give words and badges."""

import re

import pytest
from django.conf import settings

from actions.models import Action
from partners.models import ActionPartner

CSS = settings.BASE_DIR / "static" / "css"
WHITE = "#ffffff"


def css_variables():
    text = (CSS / "common.css").read_text() + (CSS / "dashboard.css").read_text()
    return dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})\s*;", text))


def luminance(colour):
    def channel(hex_pair):
        value = int(hex_pair, 16) / 255
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(colour[i : i + 2]) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(first, second):
    lighter, darker = sorted((luminance(first), luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


VARIABLES = css_variables()

PAIRS = [
    # White words on each status badge.
    *[(f"status-{status}", WHITE) for status in Action.Status],
    # Partner names in their legend colour, on the page and on a shaded row.
    *[(confirmation.value, WHITE) for confirmation in ActionPartner.Confirmation],
    *[(confirmation.value, "wash") for confirmation in ActionPartner.Confirmation],
    ("late", WHITE),
    ("muted", WHITE),
    ("muted", "wash"),
    ("accent", WHITE),
    ("ink", "current"),
    # The brand: white words on the header and table heads, ink on an objective's row.
    ("brand", WHITE),
    ("brand-current", WHITE),
    ("ink", "brand-wash"),
    ("accent", "brand-wash"),
]


@pytest.mark.parametrize(("foreground", "background"), PAIRS)
def test_text_colour_passes_wcag_aa(foreground, background):
    def resolve(name):
        return name if name.startswith("#") else VARIABLES[name]

    ratio = contrast(resolve(foreground), resolve(background))

    assert ratio >= 4.5, f"{foreground} on {background}: {ratio:.2f}:1"
