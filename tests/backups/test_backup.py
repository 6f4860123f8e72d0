"""manage.py backup and restore: an exact round trip, into an empty database only, all or nothing.

The tests that restore for real empty the database as an administrator would (flush, which
re-runs post_migrate like a fresh migrate: content types, permissions, both groups) and run in
real transactions; the refusals that come before any write run in the usual rolled-back one.
"""

import gzip
import json
import re
from io import StringIO

import pytest
from django.apps import apps
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Max
from django.urls import reverse
from simple_history.models import HistoricalChanges

import backups.backup
from actions.models import Action, TargetValue
from backups.backup import BY_NATURAL_KEY, backup_models, holding_data
from partners.models import ActionPartner, Organisation
from plans.groups import COORDINATION, MEMBERS, PLAN_DATA_APPS
from plans.models import Coalition, Membership, Period, Plan, UploadedTable
from tests.factories import build_plan

pytestmark = pytest.mark.django_db
TRANSACTIONAL = pytest.mark.django_db(transaction=True)

User = get_user_model()
CSRF_TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')


def run(command, *args):
    out = StringIO()
    call_command(command, *map(str, args), stdout=out)
    return out.getvalue()


def empty_database():
    """What a fresh `migrate` leaves: content types, permissions and both groups."""
    call_command("flush", interactive=False, verbosity=0)


def printed_password(output, username):
    return re.search(rf"\b{username} / (\S+)\s*$", output, re.MULTILINE).group(1)


# What identifies the rows that a new database numbers its own way.
NATURAL_LOOKUPS = {
    ContentType: ["app_label", "model"],
    Permission: ["codename", "content_type__app_label", "content_type__model"],
    Group: ["name"],
}


def columns(model):
    names = []
    for field in model._meta.concrete_fields:
        if field.related_model in NATURAL_LOOKUPS:
            names += [f"{field.name}__{lookup}" for lookup in NATURAL_LOOKUPS[field.related_model]]
        elif not field.primary_key or model not in NATURAL_LOOKUPS:
            names.append(field.attname)
    return names


def rows():
    """Every row of every backed-up model and of its many-to-many tables, as stored."""
    snapshot = {}
    for model in backup_models():
        names = columns(model)
        snapshot[str(model._meta)] = list(model._base_manager.order_by(*names).values(*names))
        for field in model._meta.local_many_to_many:
            through = field.remote_field.through
            names = [name for name in columns(through) if name != "id"]
            snapshot[str(through._meta)] = sorted(through.objects.values_list(*names))
    return snapshot


def logs_in(client, username, password):
    """Through the login page, as a person would (the lockout's backend wants a request)."""
    client.logout()
    client.post(reverse("login"), {"username": username, "password": password})
    return client.session.get("_auth_user_id") is not None


def page(client, name, *args):
    response = client.get(reverse(name, args=args))
    assert response.status_code == 200
    return CSRF_TOKEN.sub("", response.text)


@pytest.fixture
def demo(settings):
    """Both seeded plans with the demo's updates and users, plus what a coordinator leaves
    behind over the years: an admin log, a group of her own, a former member's account
    deleted (its history rows keep the number of a user that no longer exists)."""
    settings.DEBUG = True
    output = run("setup_demo")
    coordo = User.objects.get(username="coordo")
    action = Action.objects.get(plan__slug="casal-2016-2020", code="1.1.1")
    LogEntry.objects.log_actions(
        coordo.pk, Action.objects.filter(pk=action.pk), CHANGE, "Statut", single_object=True
    )
    readers = Group.objects.create(name="Lecteurs des bilans")
    readers.permissions.set(Permission.objects.filter(codename="view_review"))
    coordo.groups.add(readers)
    former = User.objects.create_user("ancienne", password="x")
    Membership.objects.create(coalition=Coalition.objects.get(slug="casal"), user=former)
    former.delete()
    return {username: printed_password(output, username) for username in ("coordo", "membre")}


@pytest.fixture(scope="module")
def small_backup_content(django_db_setup, django_db_blocker, tmp_path_factory):
    """A valid backup of a small plan and a user, made once for the tests that spoil it."""
    with django_db_blocker.unblock():
        build_plan(actions=12)
        User.objects.create_user("coordo", password="x").groups.add(
            Group.objects.get(name=COORDINATION)
        )
        path = tmp_path_factory.mktemp("backup") / "small.json"
        run("backup", path)
        empty_database()
    return path.read_bytes()


@pytest.fixture
def small_backup(small_backup_content, tmp_path):
    """That backup in a file of its own; the database is empty."""
    path = tmp_path / "small.json"
    path.write_bytes(small_backup_content)
    return path


# ----------------------------------------------------------------------------- round trip


@TRANSACTIONAL
def test_round_trip_is_exact_on_both_seeded_plans(demo, tmp_path, client):
    assert logs_in(client, "coordo", demo["coordo"])
    pages_before = [
        page(client, "dashboard:plan", "casal-2016-2020"),
        page(client, "dashboard:changes", "casal-2016-2020"),
        page(client, "dashboard:action", "casal-2016-2020", "1.1.1"),
    ]
    before = rows()  # after logging in, which records the time of the login
    first = tmp_path / "first.json"
    output = run("backup", first)
    objects = json.loads(first.read_text())["objects"]
    count = f"{len(objects):,}".replace(",", " ")
    assert f"{count} objets sauvegardés dans {first}" in output
    assert "objects written to" in output

    empty_database()
    assert not holding_data()
    output = run("restore", first)
    assert "objets restaurés" in output
    assert "objects restored" in output

    second = tmp_path / "second.json"
    run("backup", second)
    assert first.read_bytes() == second.read_bytes()
    # Beyond the file: every stored value came back, to the microsecond, with no extra
    # historical record from the loading itself.
    assert rows() == before

    action = Action.objects.get(plan__slug="casal-2016-2020", code="1.1.1")
    assert action.status == Action.Status.DONE
    assert action.history.first().history_user.username == "coordo"
    assert not logs_in(client, "coordo", "wrong")
    assert logs_in(client, "membre", demo["membre"])
    membership = Membership.objects.get(user__username="membre")
    assert membership.organisation.short_name == "CSDL"
    assert ActionPartner.objects.filter(
        organisation__short_name="CSDL", confirmation=ActionPartner.Confirmation.CONFIRMED_MEMBER
    ).exists()
    assert TargetValue.objects.get(note="Démonstration").value == 3
    (entry,) = LogEntry.objects.all()
    assert (entry.user.username, entry.get_edited_object()) == ("coordo", action)
    assert set(User.objects.get(username="coordo").groups.values_list("name", flat=True)) == {
        COORDINATION,
        "Lecteurs des bilans",
    }
    # The former member's departure is still on record, though her account is gone.
    assert Membership.history.filter(history_type="-").exclude(user_id__in=User.objects.all())

    assert logs_in(client, "coordo", demo["coordo"])
    assert [
        page(client, "dashboard:plan", "casal-2016-2020"),
        page(client, "dashboard:changes", "casal-2016-2020"),
        page(client, "dashboard:action", "casal-2016-2020", "1.1.1"),
    ] == pages_before


@TRANSACTIONAL
def test_a_gzipped_backup_is_the_same_backup_and_the_same_bytes_each_time(demo, tmp_path):
    plain, zipped, again = tmp_path / "b.json", tmp_path / "b.json.gz", tmp_path / "c.json.gz"
    run("backup", plain)
    run("backup", zipped)
    run("backup", again)

    assert zipped.read_bytes() == again.read_bytes()  # no name nor date in the gzip header
    assert gzip.decompress(zipped.read_bytes()) == plain.read_bytes()
    assert zipped.stat().st_mode & 0o777 == 0o600  # password hashes: for its owner only

    empty_database()
    run("restore", zipped)
    run("backup", again)
    assert gzip.decompress(again.read_bytes()) == plain.read_bytes()


@TRANSACTIONAL
def test_new_rows_get_fresh_keys_after_a_restore(small_backup):
    run("restore", small_backup)
    models = [Coalition, Action, User, LogEntry, Coalition.history.model, Action.history.model]
    last = {model: model._base_manager.aggregate(last=Max("pk"))["last"] or 0 for model in models}

    coalition = Coalition.objects.create(name="Nouvelle table", slug="nouvelle-table")
    action = Action.objects.first()
    new_action = Action.objects.create(
        sub_objective=action.sub_objective, code="1.9.1", title="Nouvelle action"
    )
    new_action.periods.add(Period.objects.first())  # and its many-to-many history row
    user = User.objects.create_user("nouvelle")
    LogEntry.objects.log_actions(user.pk, Action.objects.filter(pk=new_action.pk), CHANGE)

    assert coalition.pk > last[Coalition]
    assert new_action.pk > last[Action]
    assert user.pk > last[User]
    assert LogEntry.objects.latest("pk").pk > last[LogEntry]
    assert coalition.history.get().pk > last[Coalition.history.model]
    assert new_action.history.latest().pk > last[Action.history.model]


@TRANSACTIONAL
def test_loading_records_no_history_of_its_own(tmp_path):
    """Setting an action's schedule sends the signals simple-history records; with the
    backup's own records loaded over them by number, stray ones would only show when the
    history was pruned, as here."""
    build_plan(actions=3)
    for model in backup_models():
        if issubclass(model, HistoricalChanges):
            model.objects.all().delete()
    path = tmp_path / "pruned.json"
    run("backup", path)
    empty_database()

    run("restore", path)

    assert Action.objects.filter(periods__isnull=False).exists()
    assert not Action.history.exists()
    assert not apps.get_model("actions", "HistoricalAction_periods").objects.exists()


# --------------------------------------------------------------------------------- refusals


def assert_refused(path, *words):
    with pytest.raises(CommandError) as refusal:
        run("restore", path)
    message = str(refusal.value)
    french, english = message.split(" / ", 1)
    for word in words:
        assert word in message
    assert "Rien n'a été restauré" in french
    assert "Nothing was restored" in english
    return message


def assert_still_empty():
    assert not holding_data()
    assert set(Group.objects.values_list("name", flat=True)) == {COORDINATION, MEMBERS}
    assert not Group.objects.get(name=COORDINATION).user_set.exists()


def test_restore_refuses_a_database_that_holds_data(demo, tmp_path):
    path = tmp_path / "backup.json"
    run("backup", path)
    Plan.objects.filter(slug="lachine-2018-2021").update(title="Changé depuis")
    before = rows()

    message = assert_refused(path, "contient déjà des données", "already holds data")

    assert "auth.user" in message
    assert rows() == before


def test_restore_refuses_users_alone(small_backup):
    User.objects.create_superuser("admin", password="x")

    assert_refused(small_backup, "auth.user")
    assert list(User.objects.values_list("username", flat=True)) == ["admin"]


def edit_objects(change):
    def edit(document):
        change(document["objects"])
        return json.dumps(document).encode()

    return edit


def first_object(objects, model):
    return next(item for item in objects if item["model"] == model)


def last_object(objects, model):
    return [item for item in objects if item["model"] == model][-1]


# Refused on reading, before the database is touched.
NOT_BACKUPS = {
    "truncated": lambda document: json.dumps(document).encode()[:5000],
    "not json": lambda document: b"Sauvegarde du 3 mars\n",
    "empty": lambda document: b"",
    "a plain list": lambda document: json.dumps(document["objects"]).encode(),
    "another format": lambda document: json.dumps({**document, "format": "autre"}).encode(),
    "a future version": lambda document: json.dumps({**document, "version": 99}).encode(),
    "no objects": lambda document: json.dumps({**document, "objects": None}).encode(),
    "a session": edit_objects(
        lambda objects: objects.append(
            {"model": "sessions.session", "pk": "x", "fields": {"session_data": ""}}
        )
    ),
    "a duplicated row": edit_objects(
        lambda objects: objects.append(dict(first_object(objects, "actions.action")))
    ),
    "a missing field": edit_objects(
        lambda objects: first_object(objects, "plans.plan")["fields"].pop("title")
    ),
    "an unknown field": edit_objects(
        lambda objects: first_object(objects, "plans.plan")["fields"].update(budget=1)
    ),
}

# Refused while loading, after much has been written: all of it must go.
DAMAGED = {
    "a missing reference": edit_objects(
        lambda objects: last_object(objects, "partners.actionpartner")["fields"].update(
            organisation=999999
        )
    ),
    "a missing many-to-many reference": edit_objects(
        lambda objects: last_object(objects, "actions.action")["fields"].update(periods=[999999])
    ),
    "a missing user": edit_objects(
        lambda objects: last_object(objects, "actions.progressnote")["fields"].update(
            author=999999
        )
    ),
    "a missing group": edit_objects(
        lambda objects: last_object(objects, "auth.user")["fields"].update(groups=[["Inconnu"]])
    ),
    "a bad date": edit_objects(
        lambda objects: last_object(objects, "plans.plan")["fields"].update(start="2016-13-45")
    ),
    "a broken constraint": edit_objects(
        lambda objects: last_object(objects, "actions.target")["fields"].update(target_value="-1")
    ),
}


@pytest.mark.parametrize("corruption", NOT_BACKUPS)
def test_restore_refuses_a_file_that_is_not_a_backup(small_backup, corruption):
    document = json.loads(small_backup.read_text())
    small_backup.write_bytes(NOT_BACKUPS[corruption](document))

    assert_refused(small_backup, "n'est pas une sauvegarde", "is not a casal_tracker backup")

    assert_still_empty()


@TRANSACTIONAL
@pytest.mark.parametrize("corruption", DAMAGED)
def test_restore_refuses_a_damaged_backup_and_writes_nothing(small_backup, corruption):
    document = json.loads(small_backup.read_text())
    small_backup.write_bytes(DAMAGED[corruption](document))

    assert_refused(small_backup, "Sauvegarde corrompue", "Corrupted backup")

    assert_still_empty()


def test_restore_refuses_a_truncated_gzip(small_backup, tmp_path):
    zipped = tmp_path / "small.json.gz"
    zipped.write_bytes(gzip.compress(small_backup.read_bytes())[:-20])

    assert_refused(zipped, "tronqué ou endommagé", "truncated or damaged")
    assert_still_empty()


def test_restore_refuses_a_backup_of_another_schema(small_backup):
    document = json.loads(small_backup.read_text())
    document["migrations"]["plans"].append("9999_a_later_change")
    small_backup.write_text(json.dumps(document))

    message = assert_refused(small_backup, "autre version", "another version")

    assert "plans 9999_a_later_change (+)" in message
    assert_still_empty()


def test_restore_refuses_a_missing_or_unreadable_file(tmp_path):
    assert_refused(tmp_path / "absent.json", "Fichier introuvable", "File not found")
    assert_refused(tmp_path, "Impossible de lire", "Cannot read")
    assert_still_empty()


# ----------------------------------------------------------------------------------- backup


def test_a_failed_backup_leaves_the_previous_file_alone(demo, tmp_path, monkeypatch):
    path = tmp_path / "backup.json"
    run("backup", path)
    previous = path.read_bytes()
    rows_of = backups.backup._rows

    def failing(model, using):
        if model is LogEntry:
            raise RuntimeError("disque plein")
        return rows_of(model, using)

    monkeypatch.setattr(backups.backup, "_rows", failing)
    with pytest.raises(RuntimeError):
        run("backup", path)

    assert path.read_bytes() == previous
    assert [p.name for p in tmp_path.iterdir()] == ["backup.json"]


def test_backup_refuses_a_missing_folder(tmp_path):
    with pytest.raises(CommandError, match=r"Impossible d'écrire .* / Cannot write"):
        run("backup", tmp_path / "absent" / "backup.json")


def test_every_model_of_the_plan_data_apps_is_backed_up():
    """A model added later to plans, actions or partners is in the backup without a word."""
    expected = {
        model
        for label in PLAN_DATA_APPS
        for model in apps.get_app_config(label).get_models()
        if not model._meta.proxy and model._meta.managed
    }
    models = backup_models()
    # Only uploads waiting for their confirmation are left out.
    expected -= {UploadedTable}

    assert set(models) == expected | {Group, User, LogEntry}
    assert len(models) == len(set(models))
    # Both kinds of simple-history records: each model's, and its many-to-many ones.
    assert Organisation.history.model in models
    assert apps.get_model("actions", "HistoricalAction_periods") in models
    assert apps.get_model("actions", "HistoricalAction_related_actions") in models
    # Sessions, content types, permissions and login attempts are not plan data.
    assert {model._meta.app_label for model in models} == {*PLAN_DATA_APPS, "auth", "admin"}
    assert Permission not in models


def test_each_model_comes_after_the_models_it_refers_to():
    models = backup_models()
    position = {model: index for index, model in enumerate(models)}
    for model in models:
        for field in model._meta.get_fields():
            related = field.related_model
            if field.is_relation and not field.auto_created and related in position:
                assert related is model or position[related] < position[model], (model, field)
    # What a new database numbers its own way is referred to by natural key.
    assert {ContentType, Permission, Group} == BY_NATURAL_KEY
