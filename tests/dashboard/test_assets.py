"""Every asset comes from the application itself, and the pages draw without JavaScript."""

import re

import pytest
from django.conf import settings

TEMPLATES = settings.BASE_DIR / "templates"
STATIC = settings.BASE_DIR / "static"
DASHBOARD_FILES = [
    TEMPLATES / "base.html",
    TEMPLATES / "registration" / "login.html",
    *sorted((TEMPLATES / "dashboard").rglob("*.html")),
    *sorted((TEMPLATES / "includes").glob("*.html")),
    *sorted(STATIC.rglob("*.css")),
]


@pytest.mark.parametrize("path", DASHBOARD_FILES, ids=lambda p: str(p.relative_to(p.parents[2])))
def test_no_asset_is_fetched_from_another_site(path):
    text = path.read_text()

    assert not re.search(r"""(src|href)=["']?(https?:)?//""", text)
    assert not re.search(r"@import|url\(\s*['\"]?(https?:)?//", text)


@pytest.mark.parametrize(
    "path",
    [p for p in DASHBOARD_FILES if p.suffix == ".html"],
    ids=lambda p: str(p.relative_to(p.parents[2])),
)
def test_dashboard_pages_need_no_script_and_no_inline_style(path):
    # Pictures are SVG and CSS classes: readable without JavaScript, and ready for a strict
    # Content Security Policy.
    text = path.read_text()

    assert "<script" not in text
    assert " style=" not in text
    assert not re.search(r"\son[a-z]+=", text)
