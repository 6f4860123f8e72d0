"""The admin's list imports between their preview and their confirmation (imports/pending):
the file waits in the database for its owner only, a forged or borrowed name reads and deletes
nothing, and a confirmation writes exactly what its preview showed, or nothing."""

import tempfile
from pathlib import Path

import pytest
from django.test import Client

from actions.models import Action
from actions.services import change_status
from plans.groups import COORDINATION
from plans.models import Membership, UploadedTable
from tests.helpers import make_user
from tests.imports.helpers import GOOD_ROWS, PROCESS_URL, confirm, csv_file, flash_messages, upload

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("coordinator_of_every_coalition")]

EXPIRED = "L'aperçu a expiré ou le fichier n'est plus là : importez-le de nouveau."
NOTHING_IMPORTED = "Rien n'a été importé"


@pytest.fixture
def colleague_client(django_user_model, plan):
    colleague = make_user(django_user_model, "coordo2", COORDINATION)
    Membership.objects.create(coalition=plan.coalition, user=colleague)
    client = Client()
    client.force_login(colleague)
    return client


def confirm_fields(preview):
    form = preview.context["confirm_form"]
    return {name: form[name].value() for name in form.fields}


def test_the_file_waits_in_the_database_for_its_owner(coordinator_client, coordinator, plan):
    temporary = set(Path(tempfile.gettempdir()).iterdir())

    preview = upload(coordinator_client, csv_file(GOOD_ROWS))

    pending = UploadedTable.objects.get(kind=UploadedTable.Kind.LIST_ROWS)
    assert pending.user == coordinator
    assert pending.token == confirm_fields(preview)["import_file_name"]
    assert set(Path(tempfile.gettempdir()).iterdir()) <= temporary  # nothing on disk

    confirm(coordinator_client, preview)

    assert Action.objects.filter(plan=plan).count() == 2
    assert not UploadedTable.objects.exists()


def test_someone_elses_confirmation_reads_and_deletes_nothing(
    coordinator_client,
    colleague_client,
    plan,
):
    preview = upload(coordinator_client, csv_file(GOOD_ROWS))

    response = colleague_client.post(PROCESS_URL, confirm_fields(preview))

    assert EXPIRED in flash_messages(response)
    assert not Action.objects.exists()
    assert UploadedTable.objects.count() == 1
    confirm(coordinator_client, preview)  # hers still works
    assert Action.objects.filter(plan=plan).count() == 2


@pytest.mark.parametrize("forged", ["{name}", "../{name}", "/tmp/{name}", ""])
def test_a_forged_name_reads_and_deletes_nothing(coordinator_client, plan, forged):
    preview = upload(coordinator_client, csv_file(GOOD_ROWS))
    with tempfile.NamedTemporaryFile(delete=False) as victim:
        victim.write(csv_file(GOOD_ROWS))
    name = Path(victim.name).name
    fields = {**confirm_fields(preview), "import_file_name": forged.format(name=name)}

    response = coordinator_client.post(PROCESS_URL, fields)

    assert EXPIRED in flash_messages(response)
    assert Path(victim.name).exists()
    Path(victim.name).unlink()
    assert not Action.objects.exists()
    assert UploadedTable.objects.count() == 1


def test_a_row_saved_after_the_preview_refuses_the_import(coordinator_client, coordinator, plan):
    confirm(coordinator_client, upload(coordinator_client, csv_file(GOOD_ROWS)))
    action = Action.objects.get(plan=plan, code="1.1.1")
    retitled = [{**GOOD_ROWS[0], "titre": "Cartographier et relier les jardins"}]
    preview = upload(coordinator_client, csv_file(retitled))
    # Meanwhile, a colleague changes what the file changes too.
    action.title = "Cartographier les jardins, version du comité"
    change_status(action=action, status=action.status, user=coordinator)

    response = confirm(coordinator_client, preview)

    assert any(NOTHING_IMPORTED in message for message in flash_messages(response))
    action.refresh_from_db()
    assert action.title == "Cartographier les jardins, version du comité"


def test_a_change_the_file_does_not_touch_is_kept(coordinator_client, coordinator, plan):
    """Someone ticks "porteur à trouver" after the preview: the import does not show it, goes
    through, and leaves her tick (the row is read again, locked, at the confirmation)."""
    confirm(coordinator_client, upload(coordinator_client, csv_file(GOOD_ROWS)))
    retitled = [{**GOOD_ROWS[0], "titre": "Cartographier et relier les jardins"}]
    preview = upload(coordinator_client, csv_file(retitled))
    action = Action.objects.get(plan=plan, code="1.1.1")
    action.carrier_to_be_found = True
    change_status(action=action, status=action.status, user=coordinator)

    confirm(coordinator_client, preview)

    action.refresh_from_db()
    assert action.title == "Cartographier et relier les jardins"
    assert action.carrier_to_be_found is True


@pytest.mark.parametrize("fingerprint", ["", None])
def test_a_confirmation_without_its_fingerprint_writes_nothing(
    coordinator_client,
    plan,
    fingerprint,
):
    preview = upload(coordinator_client, csv_file(GOOD_ROWS))
    fields = confirm_fields(preview)
    if fingerprint is None:
        del fields["fingerprint"]
    else:
        fields["fingerprint"] = fingerprint

    response = coordinator_client.post(PROCESS_URL, fields, follow=True)

    assert any(NOTHING_IMPORTED in message for message in flash_messages(response))
    assert not Action.objects.exists()
