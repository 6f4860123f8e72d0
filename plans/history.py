"""How history reads in the admin: the words the coordinator chose, not stored codes."""

from html import unescape

from simple_history.admin import SimpleHistoryAdmin
from simple_history.template_utils import HistoricalRecordContextHelper


class ReadableHistoryHelper(HistoricalRecordContextHelper):
    """Shows a status as « Réalisée » rather than "done", and an empty value as "—"."""

    def prepare_delta_change_value(self, change, value):
        field = self.model._meta.get_field(change.field)
        if field.choices and not field.many_to_many:
            value = dict(field.flatchoices).get(value, value)
        value = super().prepare_delta_change_value(change, value)
        return "—" if value in (None, "", []) else value

    def readable_changes(self, delta):
        """["Statut : À venir → Réalisée", …] for a ModelDelta, as plain text.

        simple-history escapes the values for its HTML page; this text goes into messages
        that the templates escape, so it is unescaped here to be escaped only once."""
        return [
            unescape(f"{change['field']} : {change['old']} → {change['new']}")
            for change in self.context_for_delta_changes(delta)
        ]


class HistoryAdmin(SimpleHistoryAdmin):
    def get_historical_record_context_helper(self, request, historical_record):
        return ReadableHistoryHelper(self.model, historical_record)
