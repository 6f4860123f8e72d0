from django import forms
from django.utils.translation import gettext_lazy as _

from plans import table_import


class TableUploadForm(forms.Form):
    file = forms.FileField(
        label=_("Fichier"),
        help_text=_(
            "Un classeur Excel (.xlsx) ou un fichier CSV, de %(limit)s Mo au plus : le tableau "
            "du plan enregistré depuis Word, un tableur, ou le classeur exporté par "
            "l'application."
        )
        % {"limit": table_import.MAX_BYTES // 1024 // 1024},
    )
    sheet = forms.CharField(
        label=_("Feuille"),
        required=False,
        help_text=_("Facultatif : sinon, la feuille « Plan », ou la première qui a un tableau."),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > table_import.MAX_BYTES:
            raise forms.ValidationError(
                _("Le fichier pèse %(size)s Mo; la limite est de %(limit)s Mo.")
                % {
                    "size": table_import.megabytes(upload.size),
                    "limit": table_import.megabytes(table_import.MAX_BYTES),
                }
            )
        return upload


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
