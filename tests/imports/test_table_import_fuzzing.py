"""Fuzzing the plan-table import: whatever file the coordinator uploads, the page answers (no
server error), a refused file says why and writes nothing, and an accepted one writes all that
its preview announced.

The files are the seeded CASAL plan's own workbook (reports/workbook.py), damaged every way
`tests.fuzzing` knows. One test drives the admin page step by step as a browser would
(upload, maybe other column choices, confirm); the other calls read, guess_mapping,
build_preview and apply directly, which is cheap enough for many more examples.

The seeded plan is loaded once for the module (`fuzzing.loaded_for_module`); each test runs in
its own transaction inside, and each example in a savepoint inside that, rolled back at its
end (`fuzzing.rolled_back`): every example starts from the seeded plan.
"""

import datetime
import io
import re
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from hypothesis import event, given
from hypothesis import strategies as st
from openpyxl import Workbook
from openpyxl.cell.rich_text import CellRichText
from openpyxl.styles import Font

from actions.models import Action, Target
from imports import table_import
from partners.models import Organisation
from plans.models import Membership, Objective, Plan, SubObjective
from reports import workbook
from tests import fuzzing
from tests.imports.helpers import rezipped

pytestmark = [
    pytest.mark.django_db,
    # openpyxl warns about the oddities of the damaged workbooks, which are the point here.
    pytest.mark.filterwarnings("ignore::UserWarning:openpyxl"),
]

CASAL = "casal-2016-2020"
# Rows of the real plan kept in a mutated table: enough for objectives, sub-objectives and
# actions, few enough that an example takes a fraction of a second.
MAX_ROWS = 8
COUNTED = {
    "objective": Objective,
    "sub_objective": SubObjective,
    "action": Action,
    "organisation": Organisation,
    "target": Target,
}

# Mostly none, as the coordinator leaves the field; sometimes one the workbook may not have.
sheet_names = st.one_of(
    *[st.just("")] * 10, st.sampled_from(["Plan", "Feuil1", "Cibles"]), fuzzing.odd_text
)


@pytest.fixture(scope="module", autouse=True)
def seeded(django_db_setup, django_db_blocker):
    with fuzzing.loaded_for_module(django_db_blocker, "themes.json", "casal_2016_2020.json"):
        yield


@pytest.fixture(scope="module")
def exported(seeded, django_db_blocker):
    """The plan's workbook, and its plan sheet as rows of text (the header row first)."""
    with django_db_blocker.unblock():
        stream = io.BytesIO()
        workbook.export(Plan.objects.get(slug=CASAL), stream, since=datetime.date(2020, 1, 1))
    data = stream.getvalue()
    table_file = table_import.read(data, "plan.xlsx")
    rows = [
        [table_import.cell_text(str(v) if isinstance(v, CellRichText) else v) for v in values]
        for _number, values in table_file.rows
    ]
    return fuzzing.Source("the CASAL plan's workbook", data, [table_file.headers, *rows])


@pytest.fixture
def casal(coordinator):
    plan = Plan.objects.get(slug=CASAL)
    Membership.objects.create(coalition=plan.coalition, user=coordinator)
    return plan


def written():
    return {name: model.objects.count() for name, model in COUNTED.items()}


def assert_written(plan, preview, before):
    """Everything the preview announced is in the database, and nothing more was created."""
    counts = preview.counts()
    after = written()
    for kind in ("objective", "sub_objective", "action"):
        assert after[kind] == before[kind] + counts[kind]["new"], kind
    assert after["organisation"] == before["organisation"] + len(preview.new_organisations)
    new_targets = sum(len(entry.targets) for entry in preview.of_kind("action"))
    assert after["target"] == before["target"] + new_targets
    for entry in preview.entries:
        parts = [int(part) for part in entry.code.split(".")]
        if entry.kind == "objective":
            stored = plan.objectives.get(number=parts[0])
        elif entry.kind == "sub_objective":
            stored = SubObjective.objects.get(
                objective__plan=plan, objective__number=parts[0], number=parts[1]
            )
        else:
            stored = plan.actions.get(code=entry.code)
        assert stored.title == entry.title


# --- Driving the page as a browser does ------------------------------------------------------


def import_url(plan):
    return reverse("admin:plans_plan_import_table", args=[plan.pk])


def selected_columns(response):
    """{column_<i>: the option a browser would post}: the selected one, else the first."""
    chosen = {}
    for name, options in re.findall(
        r'<select name="(column_\d+)"[^>]*>(.*?)</select>', response.content.decode(), re.S
    ):
        selected = re.search(r'<option value="([^"]*)"[^>]*selected', options)
        chosen[name] = selected[1] if selected else ""
    return chosen


def repaired(mapping):
    """The columns as the coordinator sets them when told: unknown and doubled ones ignored,
    so that the rows get read."""
    fixed, seen = {}, set()
    for index, chosen in sorted(mapping.items()):
        if chosen is None or chosen in seen:
            chosen = table_import.IGNORE
        seen.add(chosen)
        fixed[index] = chosen
    return fixed


@st.composite
def column_choices(draw, mapping_form):
    """Other choices for the columns: the repaired ones, or for some columns any field or a
    value no menu offers."""
    if draw(st.booleans()):
        return {f"column_{i}": chosen for i, chosen in repaired(mapping_form.mapping()).items()}
    changed = {}
    for name, field in mapping_form.fields.items():
        if draw(st.integers(0, 3)) == 0:
            offered = [value for value, _label in field.choices]
            odd = ["period:0", "period:x", "nope"]
            changed[name] = draw(st.one_of(st.sampled_from(offered), st.sampled_from(odd)))
    return changed


def next_step(client, plan, page, step, columns=None):
    data = {"step": step, "token": page.context["token"], **selected_columns(page)}
    if page.context["preview"] is not None:
        data["fingerprint"] = page.context["preview"].fingerprint()
    return client.post(import_url(plan), {**data, **(columns or {})})


# --- The properties --------------------------------------------------------------------------


@fuzzing.fuzz_settings(max_examples=30)
@given(data=st.data())
def test_a_bad_file_is_refused_with_its_reasons_or_imported_whole(
    coordinator_client, casal, exported, data
):
    _kind, name, file = data.draw(exported.bad_files(max_rows=MAX_ROWS), label="file")
    sheet = data.draw(sheet_names, label="sheet")
    with fuzzing.rolled_back():
        before, before_counts = fuzzing.snapshot(), written()

        page = coordinator_client.post(
            import_url(casal),
            {"step": "upload", "file": SimpleUploadedFile(name, file), "sheet": sheet},
        )

        assert page.status_code == 200
        if page.context["upload_form"] is not None:
            event("refused: unreadable")
            errors = page.context["upload_form"].errors
            fuzzing.assert_shown(
                page, [message for messages in errors.values() for message in messages]
            )
            assert fuzzing.snapshot() == before
            return
        if data.draw(st.booleans(), label="other column choices"):
            columns = data.draw(column_choices(page.context["mapping_form"]), label="columns")
            page = next_step(coordinator_client, casal, page, "preview", columns)
            assert page.status_code == 200
        preview = page.context["preview"]
        if preview is None:
            event("refused: columns or rows")
            fuzzing.assert_shown(page, page.context["errors"])
            assert fuzzing.snapshot() == before
            return
        if not preview.has_changes:
            event("nothing to import")
            assert "Le fichier ne change rien au plan" in fuzzing.page_text(page)
            assert fuzzing.snapshot() == before
            return

        response = next_step(coordinator_client, casal, page, "confirm")

        if response.status_code == 302:
            event("imported")
            assert_written(casal, preview, before_counts)
        else:
            event("refused at the confirmation")
            # Refused at the confirmation, or previewed again: a column choice no menu offers
            # is previewed as guessed, then posted back as chosen.
            assert response.status_code == 200
            reasons = response.context["errors"] or fuzzing.flash_messages(response)
            fuzzing.assert_shown(response, reasons)
            assert fuzzing.snapshot() == before


@fuzzing.fuzz_settings(max_examples=100)
@given(data=st.data())
def test_the_import_steps_raise_nothing_but_table_errors(coordinator, casal, exported, data):
    _kind, name, file = data.draw(exported.bad_files(max_rows=MAX_ROWS), label="file")
    sheet = data.draw(sheet_names, label="sheet")
    with fuzzing.rolled_back():
        before, before_counts = fuzzing.snapshot(), written()
        try:
            table_file = table_import.read(file, name, sheet=sheet)
            periods = list(casal.periods.all())
            mapping = table_import.guess_mapping(table_file.headers, periods)
            choice = data.draw(st.sampled_from(["guessed", "repaired", "other"]), label="columns")
            if choice == "repaired":
                mapping = repaired(mapping)
            elif choice == "other":
                fields = [value for value, _label in table_import.field_choices(casal, periods)]
                for index in mapping:
                    if data.draw(st.integers(0, 3)) == 0:
                        mapping[index] = data.draw(st.sampled_from([None, *fields]))
            table_import.samples(table_file)
            preview = table_import.build_preview(casal, table_file, mapping)
            counts = table_import.apply(preview, user=coordinator)
        except table_import.TableError as error:
            event("refused")
            assert error.messages
            assert all(message.strip() for message in error.messages)
            assert fuzzing.snapshot() == before
        else:
            event("imported")
            assert counts == preview.counts()
            assert_written(casal, preview, before_counts)


# --- What the fuzzing found, kept as plain tests ---------------------------------------------


def upload(client, plan, name, data):
    return client.post(
        import_url(plan), {"step": "upload", "file": SimpleUploadedFile(name, data)}
    )


def small_workbook():
    book = Workbook()
    sheet = book.active
    sheet.append(["Code", "Action"])
    sheet.append(["1", "Nourrir le quartier"])
    sheet["B2"].font = Font(bold=True)  # a style that the sheet's cell points to
    stream = io.BytesIO()
    book.save(stream)
    return stream.getvalue()


def truncated_sheet():
    sheet = "xl/worksheets/sheet1.xml"
    return rezipped(small_workbook(), lambda parts: parts.update({sheet: parts[sheet][:100]}))


def without_styles():
    return rezipped(small_workbook(), lambda parts: parts.pop("xl/styles.xml"))


def garbled_deflate():
    """The sheet's compressed bytes flipped, with the zip's directory left as it was."""
    data = bytearray(small_workbook())
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo("xl/worksheets/sheet1.xml")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    for index in range(start + 5, start + 15):
        data[index] ^= 0xFF
    return bytes(data)


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(truncated_sheet, id="xml-cut-short"),  # ParseError (a SyntaxError)
        pytest.param(without_styles, id="styles-missing"),  # IndexError
        pytest.param(garbled_deflate, id="garbled-deflate"),  # zlib.error
    ],
)
def test_a_workbook_damaged_inside_its_zip_is_refused_as_damaged(
    coordinator_client, casal, damage
):
    """Hypothesis: the plan's workbook with a part emptied or cut short, or its deflated bytes
    flipped. openpyxl raised ParseError, IndexError or zlib.error: a server error."""
    before = fuzzing.snapshot()

    response = upload(coordinator_client, casal, "plan.xlsx", damage())

    assert response.status_code == 200
    assert "Ce classeur est endommagé et ne peut pas être lu." in fuzzing.page_text(response)
    assert response.context["upload_form"].errors["file"]
    assert fuzzing.snapshot() == before


def test_a_csv_with_mac_line_ends_is_read():
    """Hypothesis: the plan's table as CSV with \\r alone ending its lines, as Excel for Mac
    writes it. The csv module raised "new-line character seen in unquoted field": a server
    error."""
    data = b'Code;Action\r1;Nourrir\r1.1;"Cuisiner\r\nensemble"\r'

    table_file = table_import.read(data, "plan.csv")

    assert table_file.headers == ["Code", "Action"]
    assert table_file.rows == [(2, ["1", "Nourrir"]), (3, ["1.1", "Cuisiner\r\nensemble"])]


def test_a_csv_cell_past_the_csv_modules_limit_is_refused_with_its_line():
    """The other error of the csv module, which the same fix turns into a message."""
    data = b'Code,Action\n1,Nourrir\n1.1,"' + b"x" * 200_000 + b"\n"

    with pytest.raises(table_import.TableError) as error:
        table_import.read(data, "plan.csv")

    assert error.value.messages == [
        "La ligne 3 du fichier CSV ne peut pas être lue (une cellule trop longue, ou des "
        "guillemets jamais fermés). Ouvrez le fichier dans Excel, enregistrez-le de nouveau "
        "au format CSV ou .xlsx, puis réessayez."
    ]


def test_a_header_row_wider_than_column_letters_go_is_refused(coordinator_client, casal):
    """Hypothesis: the plan's table as CSV, its header row padded to 18 279 columns. The column
    menus' letters stop at ZZZ (18 278): ValueError, a server error. 16 384 columns took two
    minutes to show, past any server's timeout."""
    data = ("Code,Action" + "," * 18_277 + "\n1,Nourrir\n").encode()  # 18 279 columns
    before = fuzzing.snapshot()

    response = upload(coordinator_client, casal, "plan.csv", data)

    assert response.status_code == 200
    assert (
        "La ligne 1 dépasse la limite de 200 colonnes. Supprimez les colonnes en trop, même "
        "vides, puis réessayez."
    ) in fuzzing.page_text(response)
    assert fuzzing.snapshot() == before


def test_a_code_of_more_digits_than_int_reads_is_malformed(casal):
    """Hypothesis: the plan's table as CSV, a row's code replaced by 4 301 nines. int() reads
    4 300 digits at most: ValueError, a server error."""
    code = "9" * 4301
    table_file = table_import.read(f"Code,Action\n{code},Nourrir\n".encode(), "plan.csv")

    with pytest.raises(table_import.TableError) as error:
        table_import.build_preview(casal, table_file, {0: "code", 1: "title"})

    assert error.value.messages == [
        f"Ligne 2 : le code « {code} » est mal formé : écrivez par exemple 1, 1.2 ou 1.2.3."
    ]


def test_a_csv_in_neither_utf8_nor_windows_1252_is_refused_in_french():
    """Mac Roman writes « è » as 0x8F, a byte Windows-1252 leaves undefined: Python's own
    English words about a codec were shown."""
    data = "Code,Action\n1,Dernière mise à jour\n".encode("mac_roman")

    with pytest.raises(table_import.TableError) as error:
        table_import.read(data, "plan.csv")

    assert error.value.messages == [
        "Ce fichier CSV n'est ni en UTF-8 ni en Windows-1252. Dans Excel, enregistrez-le au "
        "format « CSV UTF-8 », puis réessayez."
    ]
