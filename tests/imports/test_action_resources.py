"""Importing and exporting actions and organisations through the admin, as the coordinator
does it: upload, read the preview, confirm. A file with one mistake saves nothing at all."""

import csv
import datetime
import io
import re

import openpyxl
import pytest

from actions.models import Action, ProgressNote
from partners.models import Organisation
from tests.factories import (
    ActionFactory,
    CoalitionFactory,
    build_plan,
)
from tests.imports.helpers import (
    EXPORT_URL,
    GOOD_ROWS,
    HEADER,
    ORGANISATION_HEADER,
    ORGANISATION_IMPORT_URL,
    ORGANISATION_PROCESS_URL,
    confirm,
    csv_file,
    export_form_data,
    flash_messages,
    page_text,
    row_messages,
    upload,
)

# These test the admin for the coalitions the coordinator works for; the lines between
# coalitions are drawn in tests/test_permissions.py.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("coordinator_of_every_coalition")]

CONFIRM_BUTTON = "Confirmer l’importation"


# --- A good file -----------------------------------------------------------------------------


def test_preview_lists_both_rows_and_saves_nothing_yet(coordinator_client, plan):
    response = upload(coordinator_client, csv_file(GOOD_ROWS))

    assert response.status_code == 200
    text = page_text(response)
    assert "Aperçu" in text
    assert "Cartographier les jardins collectifs" in text
    assert "Former les bénévoles" in text
    assert len(re.findall(r'<td class="import-type">\s*Nouveau\s*</td>', text)) == 2
    assert CONFIRM_BUTTON in text
    assert not Action.objects.exists()
    assert not ProgressNote.objects.exists()


def test_confirming_creates_actions_with_periods_and_sub_objective(coordinator_client, plan):
    preview = upload(coordinator_client, csv_file(GOOD_ROWS))

    response = confirm(coordinator_client, preview)

    assert response.status_code == 302
    assert "Importation terminée: 2 nouveaux" in " ".join(flash_messages(response))
    mapping = Action.objects.get(plan=plan, code="1.1.1")
    assert mapping.title == "Cartographier les jardins collectifs"
    assert mapping.status == Action.Status.IN_PROGRESS
    assert mapping.completion == 20
    assert mapping.sub_objective.code == "1.1"
    assert {p.label for p in mapping.periods.all()} == {"2016-2018", "2018-2019"}
    assert mapping.partners_text == "Coordo. CSSDL"
    training = Action.objects.get(plan=plan, code="1.2.1")
    assert training.sub_objective.code == "1.2"
    assert [p.label for p in training.periods.all()] == ["2018-2019"]
    assert training.completion is None


# --- Bad files: refused on their row, nothing saved ------------------------------------------


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        pytest.param(
            "statut",
            "terminée",
            "« terminée » n'est pas permis. Valeurs permises : À venir, En cours, Réalisée, "
            "Reportée, Abandonnée.",
            id="unknown-status",
        ),
        pytest.param(
            "périodes",
            "2018-2019, 2030-2031",
            "pour ce plan : 2030-2031. Périodes du plan : 2016-2018, 2018-2019.",
            id="period-not-in-plan",
        ),
        pytest.param(
            "avancement (%)",
            "150",
            "inférieure ou égale à 100",
            id="completion-over-100",
        ),
        pytest.param(
            "avancement (%)",
            "beaucoup",
            "« beaucoup » n'est pas un pourcentage : écrivez un nombre de 0 à 100.",
            id="completion-not-a-number",
        ),
        pytest.param(
            "plan",
            "plan-inconnu",
            "Plan inconnu : « plan-inconnu ». Plans connus : casal-essai.",
            id="unknown-plan",
        ),
        pytest.param(
            "code", "1.x", "Code « 1.x » mal formé : écrivez par exemple 1.2.3.", id="bad-code"
        ),
        pytest.param(
            "code",
            "9.9.1",
            "Le plan n'a pas de sous-objectif 9.9 pour l'action 9.9.1.",
            id="no-such-sub-objective",
        ),
        pytest.param(
            "statut",
            "Reportée",
            "Indiquez la raison : une action « Reportée » garde sa raison dans son suivi.",
            id="postponed-without-reason",
        ),
    ],
)
def test_bad_row_is_refused_and_nothing_is_saved(coordinator_client, plan, column, value, message):
    existing = ActionFactory(
        sub_objective=plan.objectives.get(number=2).sub_objectives.get(), code="2.1.1"
    )
    bad = {**GOOD_ROWS[1], column: value}

    response = upload(coordinator_client, csv_file([GOOD_ROWS[0], bad]))

    assert response.status_code == 200
    assert message in page_text(response)
    refused = row_messages(response)
    assert list(refused) == [2]  # the message sits on the bad row, the good row has none
    assert any(message in text for text in refused[2])
    assert CONFIRM_BUTTON not in page_text(response)
    assert "confirm_form" not in response.context
    assert list(Action.objects.all()) == [existing]  # the good row 1.1.1 is not saved either
    assert not ProgressNote.objects.exists()


def test_a_date_where_a_percentage_goes_is_refused_in_words(coordinator_client, plan):
    """Found by the fuzzer: Excel stores a cell formatted as a date as a date, which the
    percentage column could not convert (a TypeError, shown as its bare name)."""
    book = openpyxl.Workbook()
    book.active.append(HEADER)
    book.active.append([GOOD_ROWS[0][column] for column in HEADER])
    book.active.cell(row=2, column=HEADER.index("avancement (%)") + 1).value = datetime.datetime(
        2020, 1, 1
    )
    stream = io.BytesIO()
    book.save(stream)

    response = upload(coordinator_client, stream.getvalue(), name="actions.xlsx", title="xlsx")

    assert "n'est pas un pourcentage : écrivez un nombre de 0 à 100." in page_text(response)
    assert not Action.objects.exists()


def test_file_that_is_not_a_csv_is_refused(coordinator_client, plan):
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\xff\xfe"

    response = upload(coordinator_client, png, name="logo.png")

    assert response.status_code == 200
    text = page_text(response)
    refusal = "Ce fichier n'est pas un fichier CSV."
    assert response.context["form"].errors["import_file"] == [refusal]
    assert refusal in text
    assert "ValueError" not in text  # import-export's own message names the exception
    assert CONFIRM_BUTTON not in text
    assert not Action.objects.exists()


def test_csv_without_code_column_is_refused(coordinator_client, plan):
    header = [column for column in HEADER if column != "code"]

    response = upload(coordinator_client, csv_file(GOOD_ROWS, header=header))

    assert response.status_code == 200
    text = page_text(response)
    assert "Erreurs" in text
    base_errors = [str(error.error) for error in response.context["result"].base_errors]
    assert any("code" in error and error in text for error in base_errors)
    assert "Colonnes manquantes : code." in text
    assert "Traceback" not in text
    assert CONFIRM_BUTTON not in text
    assert not Action.objects.exists()


def test_csv_saved_by_french_excel_is_read(coordinator_client, plan):
    """French Excel on Windows writes Windows-1252 with semicolons."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=HEADER, delimiter=";", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(GOOD_ROWS)

    preview = upload(coordinator_client, out.getvalue().encode("cp1252"))
    confirm(coordinator_client, preview)

    assert Action.objects.get(plan=plan, code="1.2.1").title == "Former les bénévoles"
    assert set(
        Action.objects.get(plan=plan, code="1.1.1").periods.values_list("label", flat=True)
    ) == {"2016-2018", "2018-2019"}


def test_row_errors_are_named_by_column_and_reported_together(coordinator_client, plan):
    row = {**GOOD_ROWS[0], "plan": "plan-inconnu", "statut": "terminée"}

    response = upload(coordinator_client, csv_file([row]))

    errors = response.context["result"].invalid_rows[0].error.message_dict
    assert errors["plan"] == ["Plan inconnu : « plan-inconnu ». Plans connus : casal-essai."]
    assert "« terminée » n'est pas permis" in errors["statut"][0]
    assert "sub_objective" not in errors  # follows from the plan; saying so twice confuses
    assert not Action.objects.exists()


def test_export_then_csv_reimport_keeps_accents(coordinator_client, plan):
    ActionFactory(
        sub_objective=plan.objectives.get(number=1).sub_objectives.get(number=1),
        code="1.1.1",
        title="Échanger sur les pratiques gagnantes",
    )

    exported = coordinator_client.post(EXPORT_URL, export_form_data(coordinator_client, "csv"))

    assert exported.content.startswith("\ufeff".encode())  # Excel needs the mark for accents
    assert "Échanger sur les pratiques gagnantes" in exported.content.decode("utf-8-sig")


def test_status_only_file_updates_statuses(coordinator_client, coordinator, plan):
    action = ActionFactory(
        sub_objective=plan.objectives.get(number=1).sub_objectives.get(number=1), code="1.1.1"
    )
    header = ["plan", "code", "statut", "raison du statut"]
    row = {
        "plan": "casal-essai",
        "code": "1.1.1",
        "statut": "Reportée",
        "raison du statut": "Attente du financement.",
    }

    preview = upload(coordinator_client, csv_file([row], header=header))

    assert "confirm_form" in preview.context, row_messages(preview)
    confirm(coordinator_client, preview)
    action.refresh_from_db()
    assert action.status == Action.Status.POSTPONED


# --- Status changes keep their trail ---------------------------------------------------------


def test_imported_status_change_writes_the_trail_with_reason_and_author(
    coordinator_client, coordinator, plan
):
    sub_objective = plan.objectives.get(number=1).sub_objectives.get(number=1)
    action = ActionFactory(
        sub_objective=sub_objective,
        code="1.1.1",
        title="Cartographier les jardins collectifs",
        means="Inventaire avec les organismes.",
        status=Action.Status.IN_PROGRESS,
    )
    action.periods.set(plan.periods.all())
    row = {
        **GOOD_ROWS[0],
        "statut": "Reportée",
        "avancement (%)": "",
        "porteurs et partenaires": "",
        "raison du statut": "Attente du financement de la Ville.",
    }

    preview = upload(coordinator_client, csv_file([row]))
    assert "Mettre à jour" in page_text(preview)
    assert not ProgressNote.objects.exists()
    confirm(coordinator_client, preview)

    action.refresh_from_db()
    assert action.status == Action.Status.POSTPONED
    entry = ProgressNote.objects.get(action=action)
    assert entry.kind == ProgressNote.Kind.STATUS_CHANGE
    assert (entry.status_from, entry.status_to) == ("in_progress", "postponed")
    assert entry.reason == "Attente du financement de la Ville."
    assert entry.author == coordinator


# --- XLSX round trip -------------------------------------------------------------------------


def export_xlsx(client):
    response = client.post(EXPORT_URL, export_form_data(client, "xlsx"))
    assert response.status_code == 200
    return response.content


def sheet_rows(content):
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    return [list(row) for row in sheet.iter_rows(values_only=True)]


@pytest.fixture
def exported_plan(db):
    plan, actions = build_plan(actions=3, slug="casal-export")
    for index, action in enumerate(actions):
        action.partners_text = f"Coordo. ORG{index}"
        action.completion = 10 * index
        action.save()
    return plan, actions


def test_xlsx_export_has_french_headers_codes_and_periods(coordinator_client, exported_plan):
    rows = sheet_rows(export_xlsx(coordinator_client))

    assert rows[0] == HEADER
    by_code = {row[1]: dict(zip(HEADER, row, strict=True)) for row in rows[1:]}
    assert set(by_code) == {"1.1.1", "1.1.2", "1.1.3"}
    assert by_code["1.1.1"]["plan"] == "casal-export"
    assert by_code["1.1.1"]["périodes"] == "2016-2017"
    assert by_code["1.1.3"]["périodes"] == "2018-2019"
    assert by_code["1.1.2"]["statut"] == "À venir"


def test_reimporting_the_xlsx_export_unchanged_changes_nothing(coordinator_client, exported_plan):
    content = export_xlsx(coordinator_client)
    history_before = Action.history.count()

    preview = upload(coordinator_client, content, name="actions.xlsx", title="xlsx")

    assert "confirm_form" in preview.context, row_messages(preview)
    result = preview.context["result"]
    assert [row.import_type for row in result.rows] == ["skip"] * 3
    confirm(coordinator_client, preview)
    assert Action.objects.count() == 3
    assert Action.history.count() == history_before
    assert ProgressNote.objects.exclude(kind=ProgressNote.Kind.NOTE).count() == 0


def test_reimporting_an_xlsx_export_with_empty_text_cells_changes_nothing(coordinator_client):
    build_plan(actions=2, slug="casal-vide")  # partners_text is empty, as in many real rows

    preview = upload(
        coordinator_client, export_xlsx(coordinator_client), name="actions.xlsx", title="xlsx"
    )

    assert "confirm_form" in preview.context, row_messages(preview)
    assert [row.import_type for row in preview.context["result"].rows] == ["skip"] * 2


# --- Organisations ---------------------------------------------------------------------------


def test_organisation_with_unknown_type_is_refused_with_allowed_values(coordinator_client):
    CoalitionFactory(slug="casal")
    rows = [
        {"nom": "Moisson Laval", "type": "Organisme communautaire", "coalition": "casal"},
        {"nom": "Épicerie du coin", "type": "Association"},
    ]

    response = upload(
        coordinator_client,
        csv_file(rows, header=ORGANISATION_HEADER),
        url=ORGANISATION_IMPORT_URL,
    )

    text = page_text(response)
    assert "« Association » n'est pas permis. Valeurs permises : Organisme communautaire" in text
    assert "Tous les membres" in text
    assert list(row_messages(response)) == [2]
    assert CONFIRM_BUTTON not in text
    assert not Organisation.objects.exists()


def test_good_organisation_file_creates_them(coordinator_client):
    casal = CoalitionFactory(slug="casal")
    rows = [
        {
            "nom": "Moisson Laval",
            "nom court": "ML",
            "type": "Organisme communautaire",
            "coalition": "",
            "notes": "Banque alimentaire régionale.",
        },
        {"nom": "Coordination du CASAL", "nom court": "Coordo.", "type": "coordination"},
    ]
    rows[1]["coalition"] = "casal"

    preview = upload(
        coordinator_client,
        csv_file(rows, header=ORGANISATION_HEADER),
        url=ORGANISATION_IMPORT_URL,
    )
    assert not Organisation.objects.exists()
    response = confirm(coordinator_client, preview, url=ORGANISATION_PROCESS_URL)

    assert response.status_code == 302
    moisson = Organisation.objects.get(name="Moisson Laval")
    assert moisson.kind == Organisation.Kind.COMMUNITY
    assert moisson.short_name == "ML"
    assert moisson.coalition is None
    coordination = Organisation.objects.get(name="Coordination du CASAL")
    assert coordination.kind == Organisation.Kind.COORDINATION
    assert coordination.coalition == casal


def test_same_code_twice_in_a_file_is_refused(coordinator_client, plan):
    rows = [GOOD_ROWS[0], {**GOOD_ROWS[0], "titre": "Un autre titre"}]

    response = upload(coordinator_client, csv_file(rows))

    text = page_text(response)
    assert "apparaissent plus d'une fois dans le fichier : casal-essai 1.1.1." in text
    assert CONFIRM_BUTTON not in text
    assert not Action.objects.exists()
