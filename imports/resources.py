"""What every plan-data import shares: all or nothing, messages in the coordinator's words
(French, with the column names of her file), and CSV files as Excel really writes them."""

import csv
import hashlib
import io
import re

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils import translation
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from import_export import resources, widgets
from import_export.formats import base_formats

from access.coalitions import scoped
from imports import uploads
from imports.spreadsheets import neutralise, restore, write_table
from plans.versions import lock


def decode_text(data):
    """Text from the bytes of a CSV file, in UTF-8 or else Windows-1252."""
    if b"\x00" in data:
        # Windows-1252 decodes almost any bytes; a NUL byte says this is not text at all.
        raise uploads.UploadRefused(_("Ce fichier n'est pas un fichier CSV."))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        # Five bytes mean nothing in Windows-1252: another encoding, such as the Mac's.
        raise uploads.UploadRefused(
            _(
                "Ce fichier CSV n'est ni en UTF-8 ni en Windows-1252. Dans Excel, "
                "enregistrez-le au format « CSV UTF-8 », puis réessayez."
            )
        ) from None


class ExcelFriendlyCSV(base_formats.CSV):
    """CSV in UTF-8 or Windows-1252, separated by commas or semicolons.

    French Excel on Windows saves "CSV" as Windows-1252 with semicolons; a coordinator
    should not have to know that.
    """

    def is_binary(self):
        # Hand us the raw bytes so we can choose the encoding ourselves.
        return True

    def get_read_mode(self):
        return "rb"

    def create_dataset(self, in_stream, **kwargs):
        """The rows within the upload limits (imports/uploads.py), each cell as the export
        neutralised it restored (imports/spreadsheets.py)."""
        if isinstance(in_stream, bytes):
            in_stream = decode_text(in_stream)
        delimiter = uploads.csv_delimiter(in_stream)
        rows = (
            (number, [restore(cell) for cell in cells])
            for number, cells in uploads.csv_rows(in_stream, delimiter)
        )
        return uploads.dataset(rows, fill="")

    def export_data(self, dataset, **kwargs):
        """The rows as CSV that a spreadsheet opens as text (OWASP, "CSV Injection"): every
        cell quoted, and every cell it would run as a formula neutralised
        (imports/spreadsheets.py), which the imports undo; with a byte-order mark, so that
        Excel reads the accents."""
        out = io.StringIO()
        writer = csv.writer(out, quoting=csv.QUOTE_ALL)
        if dataset.headers:
            writer.writerow([neutralise(cell) for cell in dataset.headers])
        for row in data_rows(dataset):
            writer.writerow([neutralise(cell) for cell in row])
        return out.getvalue().encode("utf-8-sig")


def data_rows(dataset):
    """The dataset's rows, under its headers."""
    return (dataset[index] for index in range(dataset.height))


class SafeXLSX(base_formats.XLSX):
    """XLSX read within the upload limits (imports/uploads.py): the zip checked before it is
    inflated, the rows streamed in read-only mode and capped, never padded to the dimension
    the sheet declares."""

    def create_dataset(self, in_stream):
        if not isinstance(in_stream, bytes) or not in_stream.startswith(b"PK\x03\x04"):
            refusal = isinstance(in_stream, bytes) and uploads.old_format_refusal(in_stream)
            raise refusal or uploads.UploadRefused(
                _(
                    "Ce fichier n'est pas un classeur Excel (.xlsx). Choisissez le format qui "
                    "correspond au fichier, ou enregistrez-le au format .xlsx dans Excel."
                )
            )
        with uploads.workbook(in_stream) as book:
            return uploads.dataset(uploads.sheet_rows(uploads.active_sheet(book)))

    def export_data(self, dataset, **kwargs):
        """The rows as a workbook whose text stays text (imports/spreadsheets.py), laid out as
        tablib lays it out. tablib writes a title typed "=HYPERLINK(…)" as a live formula,
        and its `escape` option deletes the "=" instead."""
        stream = io.BytesIO()
        write_table(stream, dataset.headers, data_rows(dataset), title=sheet_title(dataset.title))
        return stream.getvalue()


def sheet_title(title):
    """tablib's name for the sheet: the dataset's title without the characters Excel refuses
    in a sheet's name, at most 31 characters."""
    return re.sub(r"[\\*?:/\[\]]", "-", title)[:31] if title else "Tablib Dataset"


IMPORT_FORMATS = [ExcelFriendlyCSV, SafeXLSX]


def scoped_to_importer(queryset, kwargs):
    """`queryset` narrowed to the coalitions of the person importing (`user`, which the
    admin passes to every import): a coordinator imports into her own coalitions only."""
    user = kwargs.get("user")
    return queryset if user is None else scoped(user, queryset)


def result_fingerprint(result):
    """What an import writes (each row's kind and before/after), to compare the preview
    with the confirmation."""
    rows = [(row.import_type, row.diff) for row in result.rows]
    return hashlib.sha256(repr(rows).encode()).hexdigest()


class PlanDataResource(resources.ModelResource):
    """A resource whose imports are all or nothing and speak in column names; rows are
    matched and linked within the importer's coalitions only.

    The confirmed import first locks every row its file names, in one statement (so in
    primary-key order, as every other save locks), then reads them; given the preview's
    `expected_fingerprint`, it writes nothing unless it writes what the preview showed: a row
    saved meanwhile by someone else is never overwritten."""

    user = None
    saving = False

    def get_queryset(self):
        return scoped_to_importer(super().get_queryset(), {"user": self.user})

    def named_rows(self, dataset):
        """The existing rows the file may change (more is harmless): all of the importer's."""
        return self.get_queryset()

    def import_data(self, dataset, **kwargs):
        # One invalid row and nothing is written: at the preview and at the confirmation,
        # even if the data changed between the two.
        kwargs["rollback_on_validation_errors"] = True
        self.saving = not kwargs.get("dry_run", False)
        return super().import_data(dataset, **kwargs)

    def after_import(self, dataset, result, **kwargs):
        super().after_import(dataset, result, **kwargs)
        expected = kwargs.get("expected_fingerprint")
        # A confirmation that carries no fingerprint ("") writes nothing either.
        if (
            expected is not None
            and not self._is_dry_run(kwargs)
            and result_fingerprint(result) != expected
        ):
            # Rolled back; the admin says "nothing was imported, the data changed".
            raise ValueError("The rows changed after the preview.")

    def before_import(self, dataset, **kwargs):
        self.user = kwargs.get("user")
        required = [self.fields[name].column_name for name in self._meta.import_id_fields]
        missing = [column for column in required if column not in (dataset.headers or [])]
        if missing:
            raise ValueError(
                _(
                    "Colonnes manquantes : %(missing)s. La première ligne du fichier doit "
                    "nommer les colonnes, dont : %(required)s."
                )
                % {"missing": ", ".join(missing), "required": ", ".join(required)}
            )
        super().before_import(dataset, **kwargs)
        if self.saving:
            lock(self.named_rows(dataset))

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        try:
            super().validate_instance(instance, import_validation_errors, validate_unique)
        except ValidationError as error:
            raise self.in_column_names(error) from None

    def in_column_names(self, error):
        """Key each message by the column the coordinator sees in her file."""
        columns = {field.attribute: field.column_name for field in self.fields.values()}
        columns[NON_FIELD_ERRORS] = NON_FIELD_ERRORS
        return ValidationError(
            {columns.get(key, key): messages for key, messages in error.message_dict.items()}
        )


class ChoiceWidget(widgets.Widget):
    """A vocabulary column: accepts the stored value or its French or English label."""

    def __init__(self, choices, default=None, **kwargs):
        self.choices = choices
        self.default = default
        super().__init__(**kwargs)

    @cached_property
    def accepted(self):
        """{value or French/English label, casefolded: value}, built once, not per cell."""
        accepted = {}
        for language in ("fr", "en"):
            with translation.override(language):
                for member in self.choices:
                    accepted[str(member.label).casefold()] = member.value
        for member in self.choices:
            accepted[member.value.casefold()] = member.value
        return accepted

    def clean(self, value, row=None, **kwargs):
        text = str(value or "").strip()
        if not text:
            if self.default is None:
                raise ValueError(_("Valeur obligatoire."))
            return self.default
        try:
            return self.accepted[text.casefold()]
        except KeyError:
            raise ValueError(
                _("« %(value)s » n'est pas permis. Valeurs permises : %(allowed)s.")
                % {
                    "value": text,
                    "allowed": ", ".join(str(member.label) for member in self.choices),
                }
            ) from None

    def render(self, value, obj=None, **kwargs):
        return str(self.choices(value).label) if value else ""


class SlugWidget(widgets.ForeignKeyWidget):
    """A foreign key written as the related object's identifier (its slug).

    `unknown` is the message for an identifier that matches nothing; it receives
    %(value)s and %(known)s.
    """

    def __init__(self, model, unknown, **kwargs):
        self.unknown = unknown
        super().__init__(model, field="slug", **kwargs)

    def get_queryset(self, value, row, *args, **kwargs):
        return scoped_to_importer(super().get_queryset(value, row, *args, **kwargs), kwargs)

    def clean(self, value, row=None, **kwargs):
        if not str(value or "").strip():
            return None
        try:
            return super().clean(str(value).strip(), row, **kwargs)
        except self.model.DoesNotExist:
            known = self.get_queryset(value, row, **kwargs).values_list("slug", flat=True)
            known = ", ".join(known)
            raise ValueError(self.unknown % {"value": value, "known": known or "—"}) from None
