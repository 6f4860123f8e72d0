from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from import_export.forms import ImportForm

from imports import table_import, uploads


def checked_size(upload):
    """The upload, or ValidationError if it is over IMPORT_MAX_BYTES (it was then not kept:
    imports.uploads.UploadHandler)."""
    try:
        uploads.check_size(upload.size)
    except uploads.UploadRefused as error:
        raise forms.ValidationError(str(error)) from None
    return upload


class TableUploadForm(forms.Form):
    file = forms.FileField(label=_("Fichier"))
    sheet = forms.CharField(
        label=_("Feuille"),
        required=False,
        help_text=_("Facultatif : sinon, la feuille « Plan », ou la première qui a un tableau."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = _(
            "Un classeur Excel (.xlsx) ou un fichier CSV, de %(limit)s Mo au plus : le tableau "
            "du plan enregistré depuis Word, un tableur, ou le classeur exporté par "
            "l'application."
        ) % {"limit": uploads.megabytes(settings.IMPORT_MAX_BYTES)}

    def clean_file(self):
        return checked_size(self.cleaned_data["file"])


class SizeLimitedImportForm(ImportForm):
    """django-import-export's import form, refusing a file over IMPORT_MAX_BYTES before the
    admin keeps it for the confirmation."""

    def clean_import_file(self):
        return checked_size(self.cleaned_data["import_file"])


class ColumnMappingForm(forms.Form):
    """One choice per column of the file: which part of the plan it holds."""

    def __init__(self, data=None, *, headers, choices, guessed, samples):
        super().__init__(data)
        self.headers = headers
        for index in range(len(headers)):
            self.fields[f"column_{index}"] = forms.ChoiceField(
                label=table_import.column_name(headers, index),
                choices=[("", _("— À choisir —")), *choices],
                required=False,
                initial=guessed.get(index) or "",
            )
            self.fields[f"column_{index}"].sample = samples.get(index, "")

    def mapping(self):
        """{column index: field or None}, from the choices made (or guessed)."""
        source = self.cleaned_data if self.is_bound and self.is_valid() else self.initial_values()
        return {index: source.get(f"column_{index}") or None for index in range(len(self.headers))}

    def initial_values(self):
        return {name: field.initial for name, field in self.fields.items()}
