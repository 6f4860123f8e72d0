"""The admin's history pages: readable changes and long texts shortened around what changed."""

from simple_history.admin import SimpleHistoryAdmin

from plans.history import ReadableHistoryHelper


class HistoryAdmin(SimpleHistoryAdmin):
    def get_historical_record_context_helper(self, request, historical_record):
        return ReadableHistoryHelper(self.model, historical_record)
