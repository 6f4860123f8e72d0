"""Change history that knows both ends of a link between two actions.

django-simple-history records a many-to-many change on the object whose manager made it
only. A link between two actions is symmetrical: linking A to B (from A's form, B's form, a
restore) changes B's related actions too. Each action's history therefore lists its related
actions as they stood after every change, whichever side made it, so that a link removed
before a deletion stays removed and a link a deletion took comes back with either action.
"""

from django.conf import settings
from simple_history.models import HistoricalRecords

from plans.services import set_author
from plans.versions import in_transaction, lock


class HistoricalRecordsBothEnds(HistoricalRecords):
    """HistoricalRecords that also records the other end of a symmetrical link to self."""

    def m2m_changed(self, instance, action, attr, pk_set, reverse, **kwargs):
        super().m2m_changed(instance, action, attr, pk_set, reverse, **kwargs)
        model = type(instance)
        field = model._meta.get_field(attr)
        if field.related_model is not model or not field.remote_field.symmetrical:
            return
        if not getattr(settings, "SIMPLE_HISTORY_ENABLED", True) or hasattr(
            instance, "skip_history_when_saving"
        ):
            return
        through = field.remote_field.through
        source, target = f"{field.m2m_field_name()}_id", f"{field.m2m_reverse_field_name()}_id"
        # Which links a removal takes is known only before it: Django passes the ids asked
        # for (linked or not), or none at all for a clear.
        removing = instance.__dict__.setdefault("_other_ends_removed", {})
        if action == "pre_add":
            self.lock_other_ends(model, pk_set)
            return
        if action in ("pre_remove", "pre_clear"):
            links = through.objects.filter(**{source: instance.pk})
            if action == "pre_remove":
                links = links.filter(**{f"{target}__in": pk_set})
            removing[attr] = set(links.values_list(target, flat=True))
            self.lock_other_ends(model, removing[attr])
            return
        if action == "post_add":
            others = set(pk_set)
            # Django writes the mirror rows (B → A) only after this signal: write them now,
            # so that B's record lists A; Django then finds them there and adds nothing.
            through.objects.bulk_create(
                [through(**{source: other, target: instance.pk}) for other in others],
                ignore_conflicts=True,
            )
        elif action in ("post_remove", "post_clear"):
            others = removing.pop(attr, set())
        else:
            return
        others.discard(instance.pk)  # an action linked to itself is recorded already
        for other in model._base_manager.filter(pk__in=others).order_by("pk"):
            if hasattr(instance, "_history_user"):
                set_author(other, user=instance._history_user)
            self.create_historical_record(other, "~")

    @staticmethod
    def lock_other_ends(model, pks):
        """The other actions are changed too: locked like the one saved, so that a colleague
        saving one of them meanwhile waits, then is told it changed, instead of undoing the
        link unseen (a save outside any transaction locks nothing, as in the shell)."""
        if pks and in_transaction():
            lock(model._base_manager.filter(pk__in=pks))
