from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from dashboard.forms import SinceForm


class WorkbookForm(SinceForm):
    """The workbook's choices: changes since which date, and in which language."""

    language = forms.ChoiceField(
        label=_("Langue du classeur"), required=False, choices=settings.LANGUAGES
    )

    def language_or(self, default):
        # A mistyped date does not cost the language chosen beside it.
        self.is_valid()
        return getattr(self, "cleaned_data", {}).get("language") or default
