"""How history reads in the admin: the words the coordinator chose, not stored codes."""

from html import unescape

from django.db.models import Model
from django.utils.translation import gettext_noop
from simple_history.template_utils import HistoricalRecordContextHelper, ObjDiffDisplay

# The change reason of the history records the seed load writes (devdata's setup_demo), by
# which a timeline tells the plan as adopted from the changes made since. Stored in French,
# like every change reason; the timeline shows it translated.
SEED_REASON = gettext_noop("Chargé depuis le plan adopté")


class ShortenedDiff(ObjDiffDisplay):
    """Long texts shortened around what changed with "[…]", in any language (simple-history
    writes "[108 chars]" in English)."""

    def shortened_str(self, prefix, num_skipped_chars, suffix):
        return f"{prefix}[…]{suffix}"


class ReadableHistoryHelper(HistoricalRecordContextHelper):
    """Shows a status as « Réalisée » rather than "done", and an empty value as "—"."""

    def prepare_delta_change_value(self, change, value):
        field = self.model._meta.get_field(change.field)
        if field.many_to_many:
            # The linked objects by name ("2016-2017", "1.2.3 Titre"), not by number.
            items = [row[field.m2m_reverse_field_name()] for row in value]
            ids = [item for item in items if not isinstance(item, Model)]
            names = field.related_model._base_manager.in_bulk(ids)
            shown = sorted(str(names.get(item, item)) for item in items)
            return ", ".join(shown) or "—"
        if field.choices and not field.many_to_many:
            value = dict(field.flatchoices).get(value, value)
        value = super().prepare_delta_change_value(change, value)
        return "—" if value in (None, "", []) else value

    def get_obj_diff_display(self):
        return ShortenedDiff(max_length=self.max_displayed_delta_change_chars, placeholder_len=3)

    def readable_changes(self, delta):
        """["Statut : À venir → Réalisée", …] for a ModelDelta, as plain text.

        simple-history escapes the values for its HTML page; this text goes into messages
        that the templates escape, so it is unescaped here to be escaped only once."""
        return [
            unescape(f"{change['field']} : {change['old']} → {change['new']}")
            for change in self.context_for_delta_changes(delta)
        ]
