"""Fuzzing the admin imports of actions and organisations (django-import-export): whatever file
the coordinator uploads, the page answers (no server error); a refused file says why and
writes nothing, not even history; an accepted one writes every row its preview announced.

The files are the admin's own CSV and XLSX exports of the seeded CASAL and Lachine plans,
damaged every way `tests.fuzzing` knows, and posted in either format whatever they are.

The seeded plans are loaded and exported once for the module (`fuzzing.loaded_for_module`);
each test runs in its own transaction inside, and each example in a savepoint inside that,
rolled back at its end (`fuzzing.rolled_back`): every example starts from the seeded plans.
"""

import csv
import io

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from hypothesis import event, given
from hypothesis import strategies as st

from actions.models import Action
from partners.models import Organisation
from plans.models import Coalition, Membership
from tests import fuzzing

pytestmark = [
    pytest.mark.django_db,
    # openpyxl warns about the oddities of the damaged workbooks, which are the point here.
    pytest.mark.filterwarnings("ignore::UserWarning:openpyxl"),
]

# Rows of a real export kept in a mutated table: an example stays well under a second.
MAX_ROWS = 6
ADMINS = {
    "actions": ("actions_action", Action),
    "organisations": ("partners_organisation", Organisation),
}


def format_for(kind):
    """The format a coordinator would choose for the file, or sometimes the other one."""
    chosen = st.just(kind) if kind in ("csv", "xlsx") else st.nothing()
    return st.one_of(chosen, chosen, chosen, st.sampled_from(["csv", "xlsx"]))


@pytest.fixture(scope="module", autouse=True)
def seeded(django_db_setup, django_db_blocker):
    names = ["themes.json", "casal_2016_2020.json", "lachine_2018_2021.json"]
    with fuzzing.loaded_for_module(django_db_blocker, *names):
        yield


@pytest.fixture
def coordinator_client(coordinator_client, coordinator):
    """The coordinator, a member of both seeded coalitions."""
    for coalition in Coalition.objects.all():
        Membership.objects.create(coalition=coalition, user=coordinator)
    return coordinator_client


def url(admin, step):
    return reverse(f"admin:{ADMINS[admin][0]}_{step}")


def format_indexes(client, admin):
    """{format's name: its index}, as the import and export forms list them."""
    choices = client.get(url(admin, "import")).context["form"].fields["format"].choices
    return {label: value for value, label in choices}


def exported(client, admin):
    """The admin's CSV and XLSX exports of every row, every column ticked."""
    form = client.get(url(admin, "export")).context["form"]
    data = {"resource": "0"}
    data.update(
        {name: "on" for name, field in form.fields.items() if getattr(field, "resource_name", "")}
    )
    indexes = format_indexes(client, admin)
    files = {}
    for title in ("csv", "xlsx"):
        data["format"] = indexes[title]
        response = client.post(url(admin, "export"), data)
        assert response.status_code == 200
        files[title] = response.content
    table = list(csv.reader(io.StringIO(files["csv"].decode("utf-8-sig"))))
    source = fuzzing.Source(f"the admin's export of {admin}", files["xlsx"], table)
    source.formats = indexes
    return source


@pytest.fixture(scope="module")
def exports(seeded, django_db_blocker):
    """The admin's exports of the seeded data, once for the module."""
    with django_db_blocker.unblock():
        client = Client()
        client.force_login(get_user_model().objects.create_superuser("exports"))
        return {admin: exported(client, admin) for admin in ADMINS}


def refusal_messages(response):
    """Every reason the page gives for refusing the file: the file's errors, or else the
    rows' (the page shows the rows' only when the file has none)."""
    form = response.context["form"]
    messages = [message for errors in form.errors.values() for message in errors]
    result = response.context.get("result")
    if result is not None and result.has_errors():
        messages += [str(error.error) for error in result.base_errors]
        messages += [str(error.error) for _n, errors in result.row_errors() for error in errors]
    elif result is not None:
        messages += [message for row in result.invalid_rows for message in row.error.messages]
    return messages


def import_whole_or_nothing(client, admin, source, file, name, title):
    """Upload `file` and confirm it if the preview allows: the properties of every import."""
    model = ADMINS[admin][1]
    client.cookies.pop("messages", None)  # what an earlier example left to show
    before = fuzzing.snapshot()

    preview = client.post(
        url(admin, "import"),
        {
            "resource": "0",
            "format": source.formats[title],
            "import_file": SimpleUploadedFile(name, file),
        },
    )

    assert preview.status_code == 200
    result = preview.context.get("result")
    if result is not None:
        # A row that raised instead of failing validation is a bug of the resource: the
        # coordinator would read an exception's name, not what to fix.
        assert not result.row_errors(), [
            (number, repr(error.error))
            for number, errors in result.row_errors()
            for error in errors
        ]
    if "confirm_form" not in preview.context:
        event("refused: " + ("unreadable" if preview.context["form"].errors else "rows"))
        fuzzing.assert_shown(preview, refusal_messages(preview))
        assert fuzzing.snapshot() == before
        return
    form = preview.context["confirm_form"]

    response = client.post(
        url(admin, "process_import"), {name: form[name].value() for name in form.fields}
    )

    assert response.status_code == 302
    if any("Rien n'a été importé" in message for message in fuzzing.flash_messages(response)):
        event("refused at the confirmation")
        assert fuzzing.snapshot() == before
        return
    event("imported" if result.totals["new"] or result.totals["update"] else "nothing to import")
    created = model.objects.count() - fuzzing.counts(before)[model._meta.db_table]
    assert created == result.totals["new"]
    written = {str(instance) for instance in model.objects.all()}
    for row in result.rows:
        if row.import_type in ("new", "update"):
            assert row.object_repr in written


@fuzzing.fuzz_settings(max_examples=40)
@given(data=st.data())
def test_a_bad_actions_file_is_refused_with_its_reasons_or_imported_whole(
    coordinator_client, exports, data
):
    source = exports["actions"]
    kind, name, file = data.draw(source.bad_files(max_rows=MAX_ROWS), label="file")
    title = data.draw(format_for(kind), label="format")
    with fuzzing.rolled_back():
        import_whole_or_nothing(coordinator_client, "actions", source, file, name, title)


@fuzzing.fuzz_settings(max_examples=30)
@given(data=st.data())
def test_a_bad_organisations_file_is_refused_with_its_reasons_or_imported_whole(
    coordinator_client, exports, data
):
    source = exports["organisations"]
    kind, name, file = data.draw(source.bad_files(max_rows=MAX_ROWS), label="file")
    title = data.draw(format_for(kind), label="format")
    with fuzzing.rolled_back():
        import_whole_or_nothing(coordinator_client, "organisations", source, file, name, title)


# --- What the fuzzing found, kept as plain tests ---------------------------------------------


def test_a_code_of_more_digits_than_int_reads_fails_validation_on_its_row(
    coordinator_client, exports
):
    """Hypothesis: the actions' CSV export, a row's code replaced by 4 301 nines and ".1.1".
    The sub-objective's query raised ValueError, shown as an error row in Django's English
    ("Field 'number' expected a number…")."""
    data = ("plan,code,titre\ncasal-2016-2020," + "9" * 4301 + ".1.1,Nourrir\n").encode()

    response = coordinator_client.post(
        url("actions", "import"),
        {
            "resource": "0",
            "format": exports["actions"].formats["csv"],
            "import_file": SimpleUploadedFile("actions.csv", data),
        },
    )

    result = response.context["result"]
    assert not result.row_errors()
    too_long = "Assurez-vous que cette valeur comporte au plus 20 caractères (actuellement 4305)."
    assert [row.error.message_dict for row in result.invalid_rows] == [{"code": [too_long]}]
    assert "confirm_form" not in response.context
