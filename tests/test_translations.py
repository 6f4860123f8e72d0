"""French is the source language; English must be a complete, compiled translation."""

import ast
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

CATALOGUE = Path(settings.BASE_DIR) / "locale" / "en" / "LC_MESSAGES" / "django.po"


def read_catalogue(path):
    """Entries of a .po file as dicts of msgctxt/msgid/msgid_plural/msgstr/flags."""
    entries, entry, key = [], {}, None
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if not line.strip():
            if "msgid" in entry:
                entries.append(entry)
            entry, key = {}, None
        elif line.startswith("#,"):
            entry["flags"] = line[2:]
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            entry[key] += ast.literal_eval(line)
        else:
            key, _space, value = line.partition(" ")
            entry[key] = ast.literal_eval(value)
    return [e for e in entries if e["msgid"]]  # the first entry is the header


ENTRIES = read_catalogue(CATALOGUE)


def test_every_string_is_translated_and_none_is_fuzzy():
    untranslated = [e["msgid"] for e in ENTRIES if not (e.get("msgstr") or e.get("msgstr[0]"))]
    fuzzy = [e["msgid"] for e in ENTRIES if "fuzzy" in e.get("flags", "")]

    assert untranslated == []
    assert fuzzy == []


@pytest.mark.parametrize("entry", [e for e in ENTRIES if "msgid_plural" not in e], ids=str)
def test_compiled_catalogue_matches_the_source(entry):
    with translation.override("en"):
        if "msgctxt" in entry:
            shown = translation.pgettext(entry["msgctxt"], entry["msgid"])
        else:
            shown = translation.gettext(entry["msgid"])

    assert shown == entry["msgstr"], "run compilemessages"


def test_status_labels_read_in_both_languages():
    from actions.models import Action

    with translation.override("fr"):
        french = [str(label) for label in Action.Status.labels]
    with translation.override("en"):
        english = [str(label) for label in Action.Status.labels]

    assert french == ["À venir", "En cours", "Réalisée", "Reportée", "Abandonnée"]
    assert english == ["Not started", "In progress", "Done", "Postponed", "Abandoned"]


def test_interface_is_french_unless_english_is_chosen(client, coordinator):
    client.force_login(coordinator)

    default = client.get("/admin/", headers={"accept-language": "en-US,en"})
    client.post("/i18n/setlang/", {"language": "en", "next": "/admin/"})
    chosen = client.get("/admin/")

    assert re.search(r'<html lang="fr"', default.content.decode())
    assert "Tableau de bord de la coordination" in default.content.decode()
    assert re.search(r'<html lang="en"', chosen.content.decode())
    assert "Coordination dashboard" in chosen.content.decode()
