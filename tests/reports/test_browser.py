"""The coordinator, in a real browser, takes the plan's workbook and report to the assembly,
and the workbook goes back into the plan without changing anything."""

from openpyxl import load_workbook
from playwright.sync_api import expect
from pypdf import PdfReader

from tests.helpers import PLAN_PATH, PLAN_TITLE, STARTED, log_in, shoot


def test_coordinator_downloads_the_workbook_and_the_report_then_reimports_the_workbook(
    page, casal, tmp_path
):
    log_in(page, casal.coordinator, PLAN_PATH)

    # The workbook, in English this time, from the plan page.
    page.get_by_label("Langue du classeur").select_option("en")
    with page.expect_download() as download:
        page.get_by_role("button", name="Télécharger le classeur").click()
    workbook_path = tmp_path / download.value.suggested_filename
    # Named for the plan, the day and the language: beside the French copy, not over it.
    assert workbook_path.name.startswith("casal-2016-2020_")
    assert workbook_path.name.endswith("_en.xlsx")
    download.value.save_as(workbook_path)
    book = load_workbook(workbook_path, rich_text=True)
    assert book.sheetnames[0] == "Summary"
    plan_rows = {row[0]: row for row in book["Plan"].iter_rows(min_row=5, values_only=True)}
    assert plan_rows[STARTED][book["Plan"]["I4"].column - 1] == "In progress"

    # The assembly report, then its PDF.
    page.goto(PLAN_PATH)
    page.get_by_role("link", name="Rapport d'assemblée (à imprimer ou en PDF)").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(PLAN_TITLE)
    expect(page.get_by_text("Statut : À venir → En cours")).to_be_visible()
    shoot(page, "10-assembly-report")
    page.emulate_media(media="print")
    expect(page.get_by_role("button", name="Afficher")).to_be_hidden()
    shoot(page, "11-assembly-report-print")
    page.emulate_media(media="screen")
    with page.expect_download() as download:
        page.get_by_role("link", name="Télécharger en PDF").click()
    pdf = PdfReader(download.value.path())
    assert PLAN_TITLE in " ".join(" ".join(p.extract_text().split()) for p in pdf.pages)

    # Back in the admin, the workbook imports into the same plan and changes nothing.
    page.goto("/admin/plans/plan/")
    page.get_by_role("link", name=PLAN_TITLE).click()
    page.get_by_role("link", name="Importer un tableau").click()
    page.get_by_label("Fichier").set_input_files(workbook_path)
    page.get_by_role("button", name="Lire le fichier").click()
    expect(page.get_by_text("Le fichier ne change rien au plan")).to_be_visible()
    expect(page.get_by_role("button", name="Confirmer l'import")).to_have_count(0)
    shoot(page, "12-import-round-trip")
