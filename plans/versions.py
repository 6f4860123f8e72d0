"""No silent overwrite: every admin form remembers which version of its object it showed.

The version is the object's latest historical record (every plan-data model keeps its
history). When someone else saved the object after the form was opened, the save is refused
with who, when and what changed; the refused form comes back with the person's own values
in it, so nothing typed is lost. Inline rows and list rows carry their own version: Django
would otherwise write a stale page's untouched rows over the newer ones.

The comparison holds for two saves at the same instant because it is made inside the saving
transaction, after the rows are locked (`lock`): of two saves from the same version, one
commits first and the other then reads its version and is refused. A page reads each version
before the data it shows: read after, a save committed in between would pair the newer
version with the older data, and that page's save would then undo it unseen. The lists'
rows carry the values they showed instead (`SeenValuesForm`), read in the same query.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, QuerySet
from django.utils.translation import gettext_lazy as _

from plans import formats as written
from plans.history import ReadableHistoryHelper

VERSION_FIELD = "loaded_version"


def latest_records(model, pks):
    """{pk: latest historical record} for these objects of `model` (a list of primary keys,
    or a queryset of them read as a subquery), in one query."""
    if isinstance(pks, QuerySet):
        pks = pks.order_by().values("pk")
    else:
        pks = [pk for pk in pks if pk is not None]
        if not pks:
            return {}
    history = model.history.model
    latest = (
        history.objects.filter(id__in=pks)
        .values("id")
        .annotate(latest=Max("history_id"))
        .values("latest")
    )
    records = history.objects.filter(history_id__in=latest).select_related("history_user")
    return {record.id: record for record in records}


def version_of(record):
    return str(record.history_id) if record is not None else ""


def lock(queryset):
    """Locks the rows of `queryset` until the saving transaction ends, in primary-key order
    (two saves locking the same rows never wait for each other crosswise).

    PostgreSQL takes FOR NO KEY UPDATE: a save that only adds a row pointing at a locked one
    (a partner link to a locked action) goes on. SQLite has no row locks; its transactions
    begin IMMEDIATE (settings), so one saving transaction at a time runs, and it reads what
    the previous one committed."""
    manager = queryset.model._base_manager
    pks = queryset.order_by().values("pk")
    return list(
        manager.select_for_update(no_key=True)
        .filter(pk__in=pks)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


READ_FIRST = "_version_read_first"


def read_version_first(model, pk, read):
    """`read()` (the object of `model` with primary key `pk`, or None), carrying its latest
    version read before it, for its form."""
    latest = latest_records(model, [pk]).get(pk)
    obj = read()
    if obj is not None:
        setattr(obj, READ_FIRST, latest)
    return obj


def in_transaction():
    return transaction.get_connection().in_atomic_block


# PostgreSQL's deadlock_detected and serialization_failure: two transactions met, neither
# wrote anything, and running one again is the answer.
CONFLICTS = {"40P01", "40001"}


def is_conflict(error):
    """Whether a database error is two saves meeting rather than a database in trouble."""
    return getattr(error.__cause__, "pgcode", None) in CONFLICTS


class StaleVersion(ValidationError):
    """Someone saved (or deleted) the object after the version the person saw: who and when
    are in `latest` (its latest record), what in `changes` (as text)."""

    def __init__(self, message, *, instance=None, latest=None, changes=(), **kwargs):
        super().__init__(message, **kwargs)
        self.instance, self.latest, self.changes = instance, latest, list(changes)


def who_and_when(latest):
    """Who made the `latest` record and when, as the messages write them."""
    who = latest.history_user or _("quelqu'un")
    return who, written.moment(latest.history_date)


def stale_message(instance, latest, changes):
    """Who changed `instance` (its `latest` record), when, and what (`changes`, as text)."""
    who, when = who_and_when(latest)
    if latest.history_type == "-":
        return _(
            "%(who)s a supprimé « %(object)s » le %(when)s, après que vous avez ouvert "
            "la page. Vos changements ne sont pas enregistrés ; ils restent dans le "
            "formulaire. Rechargez la page dans un autre onglet, puis reportez-y vos "
            "changements (la Corbeille de la liste peut restaurer ce qui a été supprimé)."
        ) % {"who": who, "object": instance, "when": when}
    return _(
        "%(who)s a enregistré « %(object)s » le %(when)s, après que vous l'avez ouvert. "
        "Vos changements ne sont pas enregistrés ; ils restent dans le formulaire. Ce qui "
        "a changé : %(changes)s. Rechargez la page dans un autre onglet, puis reportez-y "
        "vos changements."
    ) % {
        "who": who,
        "object": instance,
        "when": when,
        "changes": "; ".join(changes) or _("d'autres champs"),
    }


def changes_since(instance, latest, loaded, fields=None):
    """The fields (of `fields`, or all) that changed after version `loaded`, as text."""
    model = type(instance)
    seen = model.history.filter(history_id=loaded, id=instance.pk).first()
    if seen is None:
        return []
    # Only what history keeps: some many-to-many fields are not kept.
    kept = {field.name for field in seen._meta.fields} | {
        field.name for field in seen._history_m2m_fields
    }
    if fields is None:
        fields = [
            field.name for field in model._meta.get_fields() if getattr(field, "editable", False)
        ]
    shown = [name for name in fields if name in kept and name != VERSION_FIELD]
    delta = latest.diff_against(seen, included_fields=shown)
    return ReadableHistoryHelper(model, latest).readable_changes(delta)


def check_version(instance, loaded, latest=None, fields=None):
    """Raises StaleVersion when `instance` changed after version `loaded` (call it with the
    row locked), saying what changed among `fields`. None: the page showed no version, so
    there is nothing to compare; "": it showed an object that had no history yet."""
    if not instance.pk or loaded is None:
        return
    if latest is None:
        latest = latest_records(type(instance), [instance.pk]).get(instance.pk)
    if latest is not None and str(loaded) != version_of(latest):
        changes = changes_since(instance, latest, loaded, fields)
        raise StaleVersion(
            stale_message(instance, latest, changes),
            code="stale",
            instance=instance,
            latest=latest,
            changes=changes,
        )
