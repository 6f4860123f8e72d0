"""Backups of all plan data: one JSON file that restores into an empty database.

A backup holds every row of every model of the plan-data apps (plans, actions, partners) and
their django-simple-history records (the many-to-many ones included); the users, with their
password hashes, groups and own permissions; the groups, with their permissions; and the admin
log: who changed what survives a restore. Relations to content types, permissions and groups
go by natural key, since a freshly migrated database numbers those its own way; every other
row keeps its primary key (the database restored into has none of them yet), so the file reads
the same into SQLite or PostgreSQL.

A backup does not hold: sessions (everyone logs in again), login-attempt records (django-axes),
content types and permissions (``migrate`` recreates them), nor any uploaded file (the
application keeps none on disk).

The file is a JSON object: a header (format, format version, the applied migrations of the
backed-up apps), then ``objects``, a list in Django's serialization format ("model", "pk",
"fields"), one object per line, referenced models first and each model by primary key, so
that two backups of the same data are byte-identical. It holds no date for that reason: the
file's own modification time says when it was made. A name ending in ``.gz`` is gzipped.
Writing streams row by row; restoring reads the whole file into memory, as loaddata does.
"""

import contextlib
import gzip
import json
import os
import tempfile
import zlib
from collections import Counter
from datetime import datetime, time
from pathlib import Path

from django.apps import apps
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.core.management.color import no_style
from django.core.serializers import python
from django.core.serializers.base import DeserializationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, transaction
from django.db.migrations.recorder import MigrationRecorder
from django.test.utils import override_settings
from simple_history.models import HistoricalChanges

from access.coalitions import dependency_order
from plans.groups import PLAN_DATA_APPS

FORMAT = "casal_tracker-backup"
VERSION = 1
CHUNK_SIZE = 2000
GZIP_MAGIC = b"\x1f\x8b"


# Models whose rows a fresh database numbers by itself: referred to by natural key.
BY_NATURAL_KEY = frozenset({ContentType, Permission, Group})


# Not plan data: an uploaded table waits a few minutes for its import to be confirmed.
TRANSIENT = frozenset({"plans.UploadedTable"})


class BackupError(Exception):
    """A refusal, its message in French then English; nothing was written."""


def backup_models():
    """Every model a backup holds, each after the models it refers to.

    Read from the app registry, so that a model added to a plan-data app is backed up
    without anyone remembering to list it.
    """
    live, history = [], []
    for label in PLAN_DATA_APPS:
        for model in apps.get_app_config(label).get_models():
            if model._meta.proxy or not model._meta.managed or model._meta.label in TRANSIENT:
                continue  # their rows belong to another model, to no table, or to no one
            (history if issubclass(model, HistoricalChanges) else live).append(model)
    # Among models ready at the same time, this order, so that the file's never changes (a
    # cycle would do no harm: restoring checks references only once everything is in).
    return dependency_order([Group, get_user_model(), *live, *history, LogEntry])


def applied_migrations(using=DEFAULT_DB_ALIAS):
    """{app label: sorted applied migration names} for every app a backup holds."""
    labels = {model._meta.app_label for model in backup_models()}
    applied = MigrationRecorder(connections[using]).applied_migrations()
    return {
        label: sorted(name for app, name in applied if app == label) for label in sorted(labels)
    }


# --------------------------------------------------------------------------------- writing


class _Encoder(DjangoJSONEncoder):
    def default(self, o):
        # DjangoJSONEncoder (dumpdata) cuts times to milliseconds; history dates keep all.
        if isinstance(o, datetime | time):
            return o.isoformat()
        return super().default(o)


class _Serializer(python.Serializer):
    """Django's Python serializer, handing each object on as soon as it is built.

    Relations go by natural key to the models of BY_NATURAL_KEY only: users keep their
    primary keys, which also keeps readable the historical records of a deleted user (their
    reference dangles, and dumpdata --natural-foreign fails on it). Many-to-many values are
    sorted, so that their order never depends on the database.
    """

    def __init__(self, emit):
        self.emit = emit

    def end_object(self, obj):
        self.emit(self.get_dump_object(obj))
        self._current = None

    def get_dump_object(self, obj):
        data = {"model": str(obj._meta)}
        if type(obj) not in BY_NATURAL_KEY:
            data["pk"] = self._value_from_field(obj, obj._meta.pk)
        data["fields"] = self._current
        return data

    def handle_fk_field(self, obj, field):
        if field.related_model in BY_NATURAL_KEY:
            related = getattr(obj, field.name)
            self._current[field.name] = list(related.natural_key()) if related else None
        else:
            super().handle_fk_field(obj, field)

    def handle_m2m_field(self, obj, field):
        if not field.remote_field.through._meta.auto_created:
            return  # an explicit through model is backed up as a model of its own
        related = getattr(obj, field.name).all()
        if field.related_model in BY_NATURAL_KEY:
            values = [list(item.natural_key()) for item in related.select_related()]
        else:
            values = list(related.values_list("pk", flat=True))
        self._current[field.name] = sorted(values)


def _rows(model, using):
    queryset = model._base_manager.using(using)
    # Rows without a primary key in the file are ordered by what identifies them instead.
    queryset = queryset.order_by("name" if model is Group else "pk")
    related = [
        field.name
        for field in model._meta.concrete_fields
        if field.is_relation and field.related_model in BY_NATURAL_KEY
    ]
    if related:
        queryset = queryset.select_related(*related)
    return queryset.iterator(chunk_size=CHUNK_SIZE)


def _write(out, using):
    """Write the whole backup to the binary stream `out`; return the count per model."""
    counts = Counter()
    header = {"format": FORMAT, "version": VERSION, "migrations": applied_migrations(using)}
    out.write(json.dumps(header, ensure_ascii=False)[:-1].encode() + b', "objects": [')
    separator = b"\n"

    def emit(data):
        nonlocal separator
        out.write(separator + json.dumps(data, cls=_Encoder, ensure_ascii=False).encode())
        separator = b",\n"
        counts[data["model"]] += 1

    for model in backup_models():
        counts[str(model._meta)] = 0
        _Serializer(emit).serialize(_rows(model, using))
    out.write(b"\n]}\n")
    return counts


@contextlib.contextmanager
def _snapshot(using):
    """One transaction seeing one state of the data, whatever is saved meanwhile."""
    connection = connections[using]
    outermost = not connection.in_atomic_block
    with transaction.atomic(using=using):
        if outermost and connection.vendor == "postgresql":
            # PostgreSQL's default lets each query see newer commits: a value saved between
            # two models' queries could refer to a row the backup already went past.
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


def write_backup(path, using=DEFAULT_DB_ALIAS):
    """Back up everything to `path` (gzipped if it ends in .gz); return the count per model.

    Written to a temporary file beside it, then renamed: `path` is either the previous file
    or the complete new one, never half a backup. The file is readable by its owner only:
    it holds password hashes.
    """
    path = Path(path)
    try:
        # mkstemp: created for its owner only, under a name no one else uses.
        descriptor, temporary = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
        )
    except OSError as error:
        raise BackupError(
            f"Impossible d'écrire dans {path.parent} : {error.strerror}. / "
            f"Cannot write to {path.parent}: {error.strerror}."
        ) from error
    try:
        with os.fdopen(descriptor, "wb") as stream, _snapshot(using):
            if path.name.endswith(".gz"):
                # No name and no date in the gzip header: same data, same bytes.
                with gzip.GzipFile(filename="", mode="wb", fileobj=stream, mtime=0) as out:
                    counts = _write(out, using)
            else:
                counts = _write(stream, using)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        if isinstance(error, OSError):
            raise BackupError(
                f"Impossible d'écrire {path} : {error.strerror}. / "
                f"Cannot write {path}: {error.strerror}."
            ) from error
        raise
    return counts


# --------------------------------------------------------------------------------- reading


def _not_a_backup(path, detail):
    return BackupError(
        f"{path} n'est pas une sauvegarde de casal_tracker (faite par « manage.py backup ») : "
        f"{detail[0]}. Rien n'a été restauré. / "
        f"{path} is not a casal_tracker backup (made by 'manage.py backup'): {detail[1]}. "
        "Nothing was restored."
    )


def _serialized_fields(model):
    """The names under "fields" of each of the model's objects, as _Serializer writes them."""
    return {field.name for field in model._meta.local_fields if field.serialize} | {
        field.name
        for field in model._meta.local_many_to_many
        if field.serialize and field.remote_field.through._meta.auto_created
    }


def read_backup(path):
    """The backup's header and objects, checked for shape; BackupError otherwise."""
    try:
        with open(path, "rb") as raw:
            gzipped = raw.read(2) == GZIP_MAGIC
            raw.seek(0)
            stream = gzip.GzipFile(fileobj=raw, mode="rb") if gzipped else raw
            content = stream.read()
        document = json.loads(content)
    except FileNotFoundError as error:
        raise BackupError(
            f"Fichier introuvable : {path}. Rien n'a été restauré. / "
            f"File not found: {path}. Nothing was restored."
        ) from error
    except (EOFError, zlib.error, gzip.BadGzipFile, UnicodeDecodeError, ValueError) as error:
        # Cut short, or damaged: the JSON or the gzip stream does not end as it should.
        raise _not_a_backup(
            path, ("fichier tronqué ou endommagé", "the file is truncated or damaged")
        ) from error
    except OSError as error:
        raise BackupError(
            f"Impossible de lire {path} : {error.strerror}. Rien n'a été restauré. / "
            f"Cannot read {path}: {error.strerror}. Nothing was restored."
        ) from error
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise _not_a_backup(path, ("en-tête absent", "no backup header"))
    if document.get("version") != VERSION:
        raise _not_a_backup(
            path,
            (
                f"version de format {document.get('version')!r} inconnue (attendue : {VERSION})",
                f"unknown format version {document.get('version')!r} (expected {VERSION})",
            ),
        )
    objects, migrations = document.get("objects"), document.get("migrations")
    if not isinstance(objects, list) or not isinstance(migrations, dict):
        raise _not_a_backup(path, ("contenu incomplet", "incomplete content"))
    expected = {str(model._meta): _serialized_fields(model) for model in backup_models()}
    seen = set()
    for number, item in enumerate(objects, start=1):
        # Every field, no other: a missing one would load as its default without a word.
        if not (
            isinstance(item, dict)
            and item.get("model") in expected
            and isinstance(item.get("fields"), dict)
            and item["fields"].keys() == expected[item["model"]]
        ):
            model = item.get("model") if isinstance(item, dict) else None
            raise _not_a_backup(
                path, (f"objet n° {number} inattendu ({model})", f"unexpected object #{number}")
            )
        # Loading a row twice would silently keep the second one. Groups go by name.
        key = (item["model"], json.dumps(item.get("pk", item["fields"].get("name"))))
        if key in seen:
            raise _not_a_backup(
                path,
                (
                    f"objet n° {number} en double ({item['model']} {item.get('pk')})",
                    f"object #{number} is duplicated",
                ),
            )
        seen.add(key)
    return migrations, objects


# ------------------------------------------------------------------------------- restoring


def _check_migrations(migrations, using):
    here = applied_migrations(using)
    differences = []
    for label in sorted(set(here) | set(migrations)):
        theirs, ours = set(migrations.get(label) or ()), set(here.get(label) or ())
        differences += [f"{label} {name} (+)" for name in sorted(theirs - ours)]
        differences += [f"{label} {name} (-)" for name in sorted(ours - theirs)]
    if differences:
        listed = ", ".join(differences[:6]) + (" …" if len(differences) > 6 else "")
        raise BackupError(
            "La sauvegarde vient d'une autre version de l'application (migrations : "
            f"{listed}; + : dans la sauvegarde seulement, - : dans cette base seulement). "
            "Restaurez-la avec la version qui l'a faite, puis mettez à jour. Rien n'a été "
            "restauré. / The backup comes from another version of the application "
            f"(migrations: {listed}; +: only in the backup, -: only in this database). "
            "Restore it with the version that made it, then upgrade. Nothing was restored."
        )


def holding_data(using=DEFAULT_DB_ALIAS):
    """The models that already hold rows; groups don't count, migrate creates them."""
    return [
        str(model._meta)
        for model in backup_models()
        if model is not Group and model._base_manager.using(using).exists()
    ]


def _load(objects, using):
    connection = connections[using]
    counts = Counter()
    deferred = []
    # Inserted, never updated: a row already there (a stray historical record, say) fails
    # loudly instead of being silently overwritten. Groups alone update those of migrate.
    # As loaddata: references are checked once everything is in, so the order within the
    # file does not matter for correctness.
    with connection.constraint_checks_disabled():
        for item in python.Deserializer(objects, using=using, handle_forward_references=True):
            item.save(using=using, force_insert=type(item.object) not in BY_NATURAL_KEY)
            if item.deferred_fields:
                deferred.append(item)
            counts[str(item.object._meta)] += 1
        for item in deferred:
            item.save_deferred_fields(using=using)
    connection.check_constraints()
    return counts


def restore_backup(path, using=DEFAULT_DB_ALIAS):
    """Load the backup at `path` into an empty database, all or nothing; the count per model.

    Empty means just migrated: content types, permissions and the groups that migrate
    creates, nothing else. The groups of the backup replace theirs by name.
    """
    migrations, objects = read_backup(path)
    connection = connections[using]
    # Natural keys resolve through this cache, which a flush or another database made stale.
    ContentType.objects.clear_cache()
    # Loading saves with raw=True, which simple-history skips, but setting many-to-many
    # values sends signals that it would record as new changes (see setup_demo).
    with transaction.atomic(using=using), override_settings(SIMPLE_HISTORY_ENABLED=False):
        _check_migrations(migrations, using)
        if found := holding_data(using):
            listed = ", ".join(found[:5]) + (" …" if len(found) > 5 else "")
            raise BackupError(
                f"La base contient déjà des données ({listed}). Rien n'a été restauré : "
                "restaurez dans une base vide, juste migrée. / "
                f"The database already holds data ({listed}). Nothing was restored: "
                "restore into an empty, freshly migrated database."
            )
        try:
            counts = _load(objects, using)
        except (
            DeserializationError,
            DatabaseError,
            ObjectDoesNotExist,
            ValidationError,
            ValueError,
            TypeError,
            LookupError,
        ) as error:
            raise BackupError(
                f"Sauvegarde corrompue : {error}. Rien n'a été restauré. / "
                f"Corrupted backup: {error}. Nothing was restored."
            ) from error
        # Rows came with their primary keys: PostgreSQL's sequences must move past them.
        statements = connection.ops.sequence_reset_sql(no_style(), backup_models())
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
    return counts
