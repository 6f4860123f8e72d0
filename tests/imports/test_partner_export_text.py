"""The admin's CSV and XLSX exports of organisations keep text as text: a name typed
`=HYPERLINK(…)` starts with an apostrophe in the CSV and is a string in the XLSX, and either
file imported back changes nothing."""

import csv
import io

import openpyxl
import pytest
from django.core.management import call_command
from django.urls import reverse

from imports.spreadsheets import neutralise
from partners.models import Organisation
from tests.factories import CoalitionFactory, OrganisationFactory
from tests.imports.helpers import (
    ORGANISATION_HEADER,
    ORGANISATION_IMPORT_URL,
    ORGANISATION_PROCESS_URL,
    TYPED,
    confirm,
    format_index,
    row_messages,
    upload,
)
from tests.plans.sources import ROOT

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("coordinator_of_every_coalition")]

EXPORT_URL = reverse("admin:partners_organisation_export")
FIXTURES = ROOT / "fixtures"
TEXT_COLUMNS = {"nom": "name", "nom court": "short_name", "notes": "notes"}


def export(client, title):
    form = client.get(EXPORT_URL).context["form"]
    data = {"resource": "0", "format": format_index(client, EXPORT_URL, title)}
    data.update(
        {name: "on" for name, field in form.fields.items() if getattr(field, "resource_name", "")}
    )
    response = client.post(EXPORT_URL, data)
    assert response.status_code == 200
    return response.content


@pytest.fixture
def typed_organisations(db):
    """One organisation per TYPED text, in its name (made unique), short name and notes."""
    coalition = CoalitionFactory(slug="casal")
    typed = {}
    for index, (text, _cell) in enumerate(TYPED):
        name = f"{text} {index}"
        OrganisationFactory(name=name, short_name=text, notes=text, coalition=coalition)
        typed[name] = text
    return typed


def test_csv_export_writes_each_formula_like_cell_with_an_apostrophe(
    coordinator_client, typed_organisations
):
    text = export(coordinator_client, "csv").decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))

    assert rows[0] == ORGANISATION_HEADER
    cells = dict(TYPED)
    written = {row[0]: dict(zip(ORGANISATION_HEADER, row, strict=True)) for row in rows[1:]}
    assert set(written) == {neutralise(name) for name in typed_organisations}
    assert '\'=HYPERLINK("http://x","x") 0' in written
    for name, typed in typed_organisations.items():
        row = written[neutralise(name)]
        assert (row["nom court"], row["notes"]) == (cells[typed], cells[typed])


def test_xlsx_export_holds_the_typed_text_as_strings(coordinator_client, typed_organisations):
    sheet = openpyxl.load_workbook(io.BytesIO(export(coordinator_client, "xlsx"))).active
    rows = list(sheet.iter_rows())

    assert [cell.value for cell in rows[0]] == ORGANISATION_HEADER
    assert all(cell.data_type != "f" for row in rows for cell in row)
    by_name = {row[0].value: dict(zip(ORGANISATION_HEADER, row, strict=True)) for row in rows[1:]}
    assert set(by_name) == set(typed_organisations)
    for name, typed in typed_organisations.items():
        for column in TEXT_COLUMNS:
            cell = by_name[name][column]
            assert cell.data_type == "s"
            assert cell.value == (name if column == "nom" else typed)


@pytest.fixture
def seeded_organisations(db):
    """The organisations of both seeded plans, formula-like text typed in their names, short
    names and notes."""
    call_command(
        "loaddata",
        FIXTURES / "themes.json",
        FIXTURES / "casal_2016_2020.json",
        FIXTURES / "lachine_2018_2021.json",
        verbosity=0,
    )
    texts = [text for text, _cell in TYPED]
    for index, organisation in enumerate(Organisation.objects.order_by("pk")[: len(texts)]):
        Organisation.objects.filter(pk=organisation.pk).update(
            name=f"{texts[index]} {organisation.name}",
            short_name=texts[(index + 1) % len(texts)],
            notes=texts[(index + 2) % len(texts)],
        )


def snapshot():
    return {
        "organisations": list(Organisation.objects.order_by("pk").values()),
        "history": Organisation.history.count(),
    }


@pytest.mark.parametrize("title", ["csv", "xlsx"])
def test_export_imported_back_changes_nothing(coordinator_client, seeded_organisations, title):
    content = export(coordinator_client, title)
    before = snapshot()

    preview = upload(
        coordinator_client,
        content,
        name=f"organismes.{title}",
        title=title,
        url=ORGANISATION_IMPORT_URL,
    )

    assert "confirm_form" in preview.context, row_messages(preview)
    kinds = [row.import_type for row in preview.context["result"].rows]
    assert kinds == ["skip"] * Organisation.objects.count()
    confirm(coordinator_client, preview, url=ORGANISATION_PROCESS_URL)
    assert snapshot() == before
