"""Hostile files on both upload paths (imports/uploads.py): the plan's table import and the
admin's list imports (actions, organisations). A zip bomb, a file over the size limit, too many
rows, columns or cells, a forged dimension, a file that is no workbook, a sheet without a header
row: each is refused with what to do, in French, writing nothing (no row, no history record, no
file kept for a confirmation) and without a server error; and a legitimate plan of a few
hundred actions still imports whole. How little memory and time the refusals take are figures
in benchmarks/hostile_files.py, not assertions.

The limits are settings; where a test is about a limit, it lowers that limit to keep its file
small. The upload-size tests use the real default (5 Mo).
"""

import csv
import datetime
import io
import random
import re
import struct
import zipfile

import pytest
from django.core.files.uploadedfile import InMemoryUploadedFile, SimpleUploadedFile
from openpyxl import Workbook

from actions.models import Action, code_sort_key
from imports import table_import, uploads
from imports.resources import ExcelFriendlyCSV, SafeXLSX
from partners.models import ActionPartner, Organisation
from plans.models import Objective, Period, Plan, SubObjective, UploadedTable
from reports import workbook
from tests import fuzzing
from tests.factories import CoalitionFactory, PeriodFactory, PlanFactory
from tests.imports.helpers import (
    GOOD_ROWS,
    HEADER,
    csv_file,
    import_url,
    page_text,
    rezipped,
    upload,
)

# These test the admin for the coalitions the coordinator works for; the lines between
# coalitions are drawn in tests/test_permissions.py.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("coordinator_of_every_coalition")]

MB = 1024 * 1024
SHEET = "xl/worksheets/sheet1.xml"
NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
DAMAGED = (
    "Ce classeur est endommagé et ne peut pas être lu. Ouvrez-le dans Excel, enregistrez-le de "
    "nouveau au format .xlsx, puis réessayez."
)


# --- Files ------------------------------------------------------------------------------------


def xlsx(rows):
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    stream = io.BytesIO()
    book.save(stream)
    return stream.getvalue()


def table(rows=None):
    """The actions' header and good rows, as the coordinator's file holds them."""
    return [HEADER, *([row[column] for column in HEADER] for row in rows or GOOD_ROWS)]


def csv_bytes(rows):
    stream = io.StringIO()
    csv.writer(stream).writerows(rows)
    return stream.getvalue().encode()


def in_format(kind, rows):
    return (f"actions.{kind}", xlsx(rows) if kind == "xlsx" else csv_bytes(rows))


def sheet_xml(data, change):
    """The workbook with its first sheet's XML changed by `change` (bytes → bytes)."""
    return rezipped(data, lambda parts: parts.update({SHEET: change(parts[SHEET])}))


def declaring(data, name, size):
    """The zip with `name` declared, in its central directory, to inflate to `size` bytes: what
    a zip bomb's directory may say, or hide."""
    data = bytearray(data)
    entry = data.index(b"PK\x01\x02")  # the directory's entries, each followed by its name
    while data[entry + 46 : entry + 46 + len(name)] != name.encode():
        entry = data.index(b"PK\x01\x02", entry + 4)
    struct.pack_into("<I", data, entry + 24, size)  # its uncompressed size
    return bytes(data)


def bomb(inflated=10 * MB):
    """A small workbook whose sheet inflates more than a thousand times: blank space between
    its XML elements, which any XML parser would read through."""
    blank = b" " * inflated
    return sheet_xml(
        xlsx(table()), lambda xml: xml.replace(b"<sheetData>", b"<sheetData>" + blank)
    )


# --- Pages ------------------------------------------------------------------------------------


def written():
    """Every plan-data row and history record, and the files kept for a confirmation."""
    return fuzzing.snapshot(), list(UploadedTable.objects.values_list("pk", flat=True))


def refusal_on_table_import(client, plan, name, data):
    """The messages under the file field of the plan's table import, checking that the page
    shows them and that nothing was written."""
    before = written()

    response = client.post(
        import_url(plan), {"step": "upload", "file": SimpleUploadedFile(name, data)}
    )

    assert response.status_code == 200
    messages = response.context["upload_form"].errors["file"]
    for message in messages:
        assert message in page_text(response)
    assert written() == before
    return messages


def refusal_on_list_import(client, name, data, title):
    """The same for the admin's import of actions, the file read as `title` (csv or xlsx)."""
    before = written()

    response = upload(client, data, name=name, title=title)

    assert response.status_code == 200
    assert "confirm_form" not in response.context
    messages = response.context["form"].errors["import_file"]
    for message in messages:
        assert message in page_text(response)
    assert written() == before
    return messages


def refusals(client, plan, name, data, title):
    """The messages of both paths, which say the same."""
    return (
        refusal_on_table_import(client, plan, name, data),
        refusal_on_list_import(client, name, data, title),
    )


# --- The upload's size ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_a_file_over_the_default_size_limit_is_refused_on_both_paths(
    coordinator_client,
    plan,
    kind,
):
    """6 Mo against the default 5: the page says so, and the file never reaches the
    temporary storage of the list import nor the table import's kept uploads."""
    name, data = in_format(kind, table())
    data += b"\n" * (6 * MB - len(data))

    messages = refusals(coordinator_client, plan, name, data, kind)

    assert messages == (["Le fichier pèse 6 Mo; la limite est de 5 Mo."],) * 2


def test_an_upload_stays_in_memory_and_past_the_limit_is_counted_not_kept(settings, rf):
    """Django spools uploads over 2.5 Mo to a file on local disk; here each stays in memory,
    and past IMPORT_MAX_BYTES (the request's files together) only its size is kept."""
    settings.IMPORT_MAX_BYTES = 100
    handler = uploads.UploadHandler(rf.post("/"))
    files = []
    for name, size in [("petit.csv", 60), ("gros.csv", 3 * MB), ("suivant.csv", 60)]:
        handler.new_file("file", name, "text/csv", size)
        for start in range(0, size, handler.chunk_size):
            handler.receive_data_chunk(b"x" * min(handler.chunk_size, size - start), start)
        files.append(handler.file_complete(size))

    assert [type(file) for file in files] == [InMemoryUploadedFile] * 3
    assert [(file.name, file.size, file.too_large) for file in files] == [
        ("petit.csv", 60, False),
        ("gros.csv", 3 * MB, True),
        ("suivant.csv", 60, True),  # 120 bytes in all: past the limit
    ]
    assert [file.read() for file in files] == [b"x" * 60, b"", b""]


def test_a_request_longer_than_the_limits_keeps_nothing_of_its_files(settings, rf):
    """Past the file limit, the other fields' limit and their headers, the files are over
    the limit whatever the fields hold: not even their first bytes are kept."""
    settings.IMPORT_MAX_BYTES = 100
    handler = uploads.UploadHandler(rf.post("/"))
    length = 100 + settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 2 * MB
    handler.handle_raw_input(None, {}, length, b"boundary")
    handler.new_file("file", "gros.csv", "text/csv", None)
    handler.receive_data_chunk(b"x" * 60, 0)
    upload = handler.file_complete(length)

    assert (upload.size, upload.too_large, upload.read()) == (length, True, b"")


def test_a_file_under_the_limit_but_over_djangos_spooling_size_is_read_from_memory(
    coordinator_client,
    plan,
):
    data = csv_file(GOOD_ROWS) + b"\n" * (3 * MB)

    response = upload(coordinator_client, data)

    upload_file = response.wsgi_request.FILES["import_file"]
    assert isinstance(upload_file, InMemoryUploadedFile)
    assert upload_file.size == len(data)
    # Read whole, from memory: its three million blank lines are as many rows.
    assert page_text(response).count("Le fichier dépasse la limite de 10\xa0000 lignes.") == 1


# --- Zip bombs -----------------------------------------------------------------------------------


def test_a_zip_bomb_is_refused_by_its_ratio_before_it_is_inflated(
    coordinator_client,
    plan,
):
    data = bomb()
    part = zipfile.ZipFile(io.BytesIO(data)).getinfo(SHEET)
    assert len(data) < 50_000 and part.file_size > 10 * MB

    for messages in refusals(coordinator_client, plan, "plan.xlsx", data, "xlsx"):
        [message] = messages
        assert message.startswith("Une partie de ce classeur se décompresse ")
        assert "fois plus grande qu'elle n'est compressée (la limite est de 100 fois)" in message


def test_a_zip_that_declares_gigabytes_is_refused_before_anything_is_inflated(
    coordinator_client,
    plan,
):
    data = declaring(xlsx(table()), SHEET, 2 * 1024 * MB)

    messages = refusals(coordinator_client, plan, "plan.xlsx", data, "xlsx")

    refusal = (
        "Ce classeur pèse plus de 48 Mo une fois décompressé : trop pour être lu. Copiez le "
        "tableau seul dans un nouveau classeur, enregistrez-le, puis réessayez."
    )
    assert messages == ([refusal],) * 2


def test_a_part_read_whole_past_its_limit_reads_as_damaged(
    coordinator_client,
    plan,
    monkeypatch,
):
    """openpyxl reads the style sheet, the workbook's parts list… whole: none may inflate
    past MAX_PART_BYTES, whatever its name."""
    monkeypatch.setattr(uploads, "MAX_PART_BYTES", 1000)  # the style sheet weighs 1.4 Ko

    messages = refusals(coordinator_client, plan, "plan.xlsx", xlsx(table()), "xlsx")

    assert messages == ([DAMAGED],) * 2


def test_a_zip_that_hides_how_much_it_inflates_reads_as_damaged(
    coordinator_client,
    plan,
):
    """Its directory declares 2 Ko for a sheet that inflates to 10 Mo: zipfile inflates no
    more than what is declared, and the sheet then fails its checksum."""
    data = declaring(bomb(), SHEET, 2048)

    messages = refusals(coordinator_client, plan, "plan.xlsx", data, "xlsx")

    assert messages == ([DAMAGED],) * 2


# --- Rows, columns, cells -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_too_many_rows_are_refused(coordinator_client, plan, settings, kind):
    settings.IMPORT_MAX_ROWS = 20
    name, data = in_format(kind, table(GOOD_ROWS * 10))  # 21 rows with the header

    messages = refusals(coordinator_client, plan, name, data, kind)

    refusal = (
        "Le fichier dépasse la limite de 20 lignes. Supprimez les lignes en trop, même vides, ou "
        "importez le tableau en plusieurs fichiers, puis réessayez."
    )
    assert messages == ([refusal],) * 2


def test_rows_far_down_a_sheet_are_refused_without_reading_the_rows_above(
    coordinator_client,
    plan,
):
    """One cell in the sheet's last row, 1 048 576: nothing is padded up to it."""
    data = sheet_xml(
        xlsx(table()),
        lambda xml: xml.replace(
            b"</sheetData>",
            b'<row r="1048576"><c r="A1048576" t="inlineStr"><is><t>x</t></is></c></row>'
            b"</sheetData>",
        ),
    )

    messages = refusals(coordinator_client, plan, "plan.xlsx", data, "xlsx")

    assert messages[0] == messages[1]
    assert messages[0][0].startswith("Le fichier dépasse la limite de 10\xa0000 lignes.")


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_too_many_columns_are_refused(coordinator_client, plan, settings, kind):
    settings.IMPORT_MAX_COLUMNS = 10
    rows = [[*row, "", "note"] for row in table()]  # 11 columns
    name, data = in_format(kind, rows)

    messages = refusals(coordinator_client, plan, name, data, kind)

    refusal = (
        "La ligne 1 dépasse la limite de 10 colonnes. Supprimez les colonnes en trop, même "
        "vides, puis réessayez."
    )
    assert messages == ([refusal],) * 2


def test_a_first_line_of_quotes_and_commas_is_refused_without_being_sniffed_whole(
    coordinator_client,
    plan,
    monkeypatch,
):
    """Found in review: csv.Sniffer takes a time that grows with the square of the line it
    reads (an 80 KB line of `,"` held a worker 29 s); only the line's start is guessed from."""
    sniffed = []
    sniff = csv.Sniffer.sniff

    def recorded(self, sample, delimiters=None):
        sniffed.append(len(sample))
        return sniff(self, sample, delimiters)

    monkeypatch.setattr(csv.Sniffer, "sniff", recorded)
    data = (',"' * 32_768 + "\n").encode()

    messages = refusals(coordinator_client, plan, "plan.csv", data, "csv")

    assert messages[0] == messages[1]
    assert sniffed and max(sniffed) <= 4096


def test_a_row_of_16384_columns_is_refused(coordinator_client, plan):
    name, data = in_format("xlsx", [HEADER + ["x"] * (16_384 - len(HEADER))])

    messages = refusals(coordinator_client, plan, name, data, "xlsx")

    assert messages[0] == messages[1]
    assert messages[0][0].startswith("La ligne 1 dépasse la limite de 200 colonnes.")


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_too_many_cells_are_refused(coordinator_client, plan, settings, kind):
    settings.IMPORT_MAX_CELLS = 20
    name, data = in_format(kind, table(GOOD_ROWS * 2))  # 5 rows of 9 cells

    messages = refusals(coordinator_client, plan, name, data, kind)

    refusal = (
        "Le fichier dépasse la limite de 20 cellules. Supprimez les lignes et les colonnes en "
        "trop, même vides, ou importez le tableau en plusieurs fichiers, puis réessayez."
    )
    assert messages == ([refusal],) * 2


def test_a_forged_dimension_is_not_read_as_the_size_of_the_sheet(
    coordinator_client,
    plan,
):
    """The sheet declares A1:XFD1048576, 17 billion cells; openpyxl's read-only rows would
    pad every row to it. The file's two actions are read, and nothing more."""
    data = sheet_xml(
        xlsx(table()),
        lambda xml: re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:XFD1048576"', xml),
    )

    dataset = SafeXLSX().create_dataset(data)
    preview = upload(coordinator_client, data, name="actions.xlsx", title="xlsx")
    table_file = table_import.read(data, "plan.xlsx")

    assert (dataset.height, dataset.width) == (2, len(HEADER))
    assert preview.context["result"].totals["new"] == 2
    assert "confirm_form" in preview.context
    assert [len(values) for _row, values in table_file.rows] == [len(HEADER)] * 2


# --- Files that are no workbook -----------------------------------------------------------------


def test_a_csv_named_xlsx_read_as_a_workbook_is_refused_with_the_way_out(
    coordinator_client,
    plan,
):
    data = csv_file(GOOD_ROWS)

    [message] = refusal_on_list_import(coordinator_client, "actions.xlsx", data, "xlsx")
    [table_message] = refusal_on_table_import(coordinator_client, plan, "plan.xlsx", data)

    assert message == (
        "Ce fichier n'est pas un classeur Excel (.xlsx). Choisissez le format qui correspond au "
        "fichier, ou enregistrez-le au format .xlsx dans Excel."
    )
    assert table_message.startswith("« plan.xlsx » n'est pas un tableur.")


def test_a_zip_that_is_no_workbook_reads_as_damaged(coordinator_client, plan):
    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w") as archive:
        archive.writestr("notes.txt", "Des notes, pas un classeur.")

    messages = refusals(coordinator_client, plan, "plan.xlsx", stream.getvalue(), "xlsx")

    assert messages == ([DAMAGED],) * 2


def test_a_workbook_of_the_wrong_format_is_refused_in_plain_words(
    coordinator_client,
    plan,
):
    """A workbook read as CSV: import-export showed "'ValueError' encountered while trying to
    read file"."""
    [message] = refusal_on_list_import(coordinator_client, "actions.xlsx", xlsx(table()), "csv")

    assert message == "Ce fichier n'est pas un fichier CSV."


# --- No header row (import-export's dataset without headers) -------------------------------------


def without_dimension(xml):
    return re.sub(rb"<dimension [^>]*/>", b"", xml)


def test_a_sheet_whose_first_row_is_missing_reads_its_header_from_the_next(
    coordinator_client,
    plan,
):
    """Hypothesis (tests/imports/test_action_resources_fuzzing.py): a sheet without a
    dimension whose first row is missing. import-export read its header as [], tablib kept no
    headers, and the import raised TypeError: a server error."""
    data = sheet_xml(xlsx([[], *table()]), without_dimension)

    preview = upload(coordinator_client, data, name="actions.xlsx", title="xlsx")

    assert preview.status_code == 200
    assert preview.context["result"].totals["new"] == 2


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_a_file_without_any_row_is_refused(coordinator_client, kind):
    name, data = in_format(kind, [[], [""], []])

    [message] = refusal_on_list_import(coordinator_client, name, data, kind)

    assert message == (
        "Le fichier ne contient aucune ligne : la première doit nommer les colonnes, les "
        "suivantes en donner les valeurs."
    )


# --- What the plan's table import reads from a workbook -----------------------------------------


def test_the_partner_legend_is_read_from_shared_rich_text():
    """Excel and LibreOffice keep a cell's text, its runs' fonts too, in the workbook's shared
    strings (openpyxl writes it inline): red reads as a potential collaborator, bold as the
    carrier, blue as a confirmed collaborator."""
    shared = (
        f"<sst {NS} count='1' uniqueCount='1'><si>"
        "<r><rPr><b/><color rgb='FFFF0000'/><sz val='11'/></rPr><t>CSDL</t></r>"
        "<r><t xml:space='preserve'>\n</t></r>"
        "<r><rPr><color rgb='FF0070C0'/></rPr><t>Ville de Laval</t></r></si></sst>"
    )

    def with_shared_strings(parts):
        parts[SHEET] = parts[SHEET].replace(
            b'<c r="C2" t="inlineStr"><is><t>x</t></is></c>', b'<c r="C2" t="s"><v>0</v></c>'
        )
        parts["xl/sharedStrings.xml"] = shared.encode()
        parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
            b"</Types>",
            b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
            b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
        )
        parts["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(
            b"</Relationships>",
            b'<Relationship Id="rIdS" Type="http://schemas.openxmlformats.org/officeDocument/'
            b'2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>',
        )

    rows = [["Code", "Action", "Porteurs et partenaires"], ["1.1.1", "Nourrir", "x"]]
    data = rezipped(xlsx(rows), with_shared_strings)

    table_file = table_import.read(data, "plan.xlsx")

    [(_row, [_code, _title, cell])] = table_file.rows
    assert [
        (line.name, line.confirmation, line.carrier) for line in table_import.partner_lines(cell)
    ] == [
        ("CSDL", ActionPartner.Confirmation.POTENTIAL, True),
        ("Ville de Laval", ActionPartner.Confirmation.CONFIRMED_COLLABORATOR, False),
    ]


# --- What every CSV cell goes through ------------------------------------------------------------


def test_csv_cells_are_read_back_without_the_exports_apostrophe():
    """The CSV exports put an apostrophe before text a spreadsheet would run as a formula
    (imports/spreadsheets.py); both imports take it off."""
    title = '=HYPERLINK("http://exemple.org";"x")'
    rows = [["Code", "Action"], ["1", "'" + title], ["1.1", "''=2+2"]]

    table_file = table_import.read(csv_bytes(rows), "plan.csv")
    dataset = ExcelFriendlyCSV().create_dataset(csv_bytes(rows))

    assert [values[1] for _row, values in table_file.rows] == [title, "'=2+2"]
    assert dataset["Action"] == [title, "'=2+2"]


# --- A legitimate large plan still imports ------------------------------------------------------


def large_plan(actions, *, seed=18):
    """A plan of `actions` actions over 4 objectives × 5 sub-objectives, each with two
    partners in every legend colour, carriers or not, written with bulk_create (in a second)."""
    rng = random.Random(seed)
    built = PlanFactory(coalition=CoalitionFactory())
    periods = [
        PeriodFactory(
            plan=built,
            label=f"{year}-{year + 1}",
            start=datetime.date(year, 4, 1),
            end=datetime.date(year + 1, 3, 31),
        )
        for year in (2024, 2025, 2026)
    ]
    objectives = Objective.objects.bulk_create(
        Objective(plan=built, number=number, title=f"Objectif {number}") for number in range(1, 5)
    )
    subs = SubObjective.objects.bulk_create(
        SubObjective(objective=objective, number=number, title=f"Sous-objectif {number}")
        for objective in objectives
        for number in range(1, 6)
    )
    organisations = Organisation.objects.bulk_create(
        Organisation(name=f"Organisme {number:02d} du quartier") for number in range(40)
    )
    created = []
    for index in range(actions):
        sub = subs[index % len(subs)]
        code = f"{sub.objective.number}.{sub.number}.{index // len(subs) + 1}"
        created.append(
            Action(
                plan=built,
                sub_objective=sub,
                code=code,
                sort_key=code_sort_key(code),  # Action.save() sets it, bulk_create does not
                title=f"Action {code} : cuisiner, récolter et partager",
                means="Des ateliers dans les quartiers; un bilan écrit.",
                status=rng.choice([Action.Status.PLANNED, Action.Status.IN_PROGRESS]),
            )
        )
    created = Action.objects.bulk_create(created)
    Action.periods.through.objects.bulk_create(
        Action.periods.through(action=action, period=rng.choice(periods)) for action in created
    )
    ActionPartner.objects.bulk_create(
        ActionPartner(
            action=action,
            organisation=organisation,
            # What a partner's font says: bold for a carrier, else nothing said.
            role=rng.choice([ActionPartner.Role.CARRIER, ActionPartner.Role.NOT_SPECIFIED]),
            confirmation=rng.choice(ActionPartner.Confirmation.values),
            order=order,
        )
        for action in created
        for order, organisation in enumerate(rng.sample(organisations, 2))
    )
    return built


def partners_of(of_plan):
    return sorted(
        ActionPartner.objects.filter(action__plan=of_plan).values_list(
            "action__code", "organisation__name", "role", "confirmation"
        )
    )


def test_a_large_plan_workbook_imports_whole_with_its_partner_legend(coordinator):
    """300 actions (the benchmark imports 5,000): the funders' workbook of one plan, imported
    into an empty plan, creates every objective, action and partner link, with the role and
    legend colour each partner's font says."""
    source = large_plan(300)
    stream = io.BytesIO()
    workbook.export(source, stream, since=datetime.date(2025, 1, 1))
    target = PlanFactory(coalition=source.coalition)
    for period in source.periods.all():
        Period.objects.create(plan=target, label=period.label, start=period.start, end=period.end)

    table_file = table_import.read(stream.getvalue(), "plan.xlsx")
    mapping = table_import.guess_mapping(table_file.headers, list(target.periods.all()))
    preview = table_import.build_preview(target, table_file, mapping)
    counts = table_import.apply(preview, user=coordinator)

    assert {kind: count["new"] for kind, count in counts.items()} == {
        "objective": 4,
        "sub_objective": 20,
        "action": 300,
    }
    assert partners_of(target) == partners_of(source)
    assert Plan.objects.count() == 2
