"""What the import and export tests share: the admin's import pages driven as the
coordinator drives them (upload, preview, confirm), the files they read, and the plan's table
read back. The `plan` these files are written for is in tests/imports/conftest.py."""

import csv
import datetime
import html
import io
import zipfile

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from actions.models import Action, ProgressNote, Target
from imports import table_import
from partners.models import ActionPartner, Organisation
from plans.models import Objective, SubObjective
from reports import workbook

IMPORT_URL = reverse("admin:actions_action_import")
PROCESS_URL = reverse("admin:actions_action_process_import")
EXPORT_URL = reverse("admin:actions_action_export")
ORGANISATION_IMPORT_URL = reverse("admin:partners_organisation_import")
ORGANISATION_PROCESS_URL = reverse("admin:partners_organisation_process_import")

HEADER = [
    "plan",
    "code",
    "titre",
    "moyens",
    "statut",
    "avancement (%)",
    "périodes",
    "porteurs et partenaires",
    "raison du statut",
]
GOOD_ROWS = [
    {
        "plan": "casal-essai",
        "code": "1.1.1",
        "titre": "Cartographier les jardins collectifs",
        "moyens": "Inventaire avec les organismes.",
        "statut": "En cours",
        "avancement (%)": "20",
        "périodes": "2016-2018, 2018-2019",
        "porteurs et partenaires": "Coordo. CSSDL",
        "raison du statut": "",
    },
    {
        "plan": "casal-essai",
        "code": "1.2.1",
        "titre": "Former les bénévoles",
        "moyens": "",
        "statut": "À venir",
        "avancement (%)": "",
        "périodes": "2018-2019",
        "porteurs et partenaires": "Tous",
        "raison du statut": "",
    },
]
ORGANISATION_HEADER = ["nom", "nom court", "type", "coalition", "notes"]

HYPERLINK = '=HYPERLINK("http://x","x")'
# (text typed, the CSV cell written for it).
TYPED = [
    (HYPERLINK, "'" + HYPERLINK),
    ("+33 1 23", "'+33 1 23"),
    ("-moins", "'-moins"),
    ("@mention", "'@mention"),
    ("'=déjà cité", "''=déjà cité"),
    ("\t=tabulation", "'\t=tabulation"),
    ("\r=retour", "'\r=retour"),
    ("=1+1\r\nLigne 2", "'=1+1\r\nLigne 2"),
    ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
    ("#N/A", "#N/A"),
    ("-5", "-5"),  # a number, which no spreadsheet runs
    ("Titre ordinaire", "Titre ordinaire"),
]


# --- Driving the two-step import of the admin ------------------------------------------------


def csv_file(rows, header=HEADER):
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def format_index(client, url, title):
    """The import/export form lists its formats as indexes: find the one named `title`."""
    choices = client.get(url).context["form"].fields["format"].choices
    return next(value for value, label in choices if label == title)


def upload(client, content, *, name="actions.csv", title="csv", url=IMPORT_URL):
    """First step: the dry run, which shows a preview or the errors."""
    return client.post(
        url,
        {
            "resource": "0",
            "format": format_index(client, url, title),
            "import_file": SimpleUploadedFile(name, content),
        },
    )


def confirm(client, preview, url=PROCESS_URL):
    """Second step: post the confirm form of the preview page back."""
    form = preview.context["confirm_form"]
    return client.post(url, {name: form[name].value() for name in form.fields})


def page_text(response):
    return html.unescape(response.content.decode())


def row_messages(response):
    """{row number: [messages]} for every refused row of the preview."""
    result = response.context["result"]
    messages = {row.number: list(row.error.messages) for row in result.invalid_rows}
    for number, errors in result.row_errors():
        messages.setdefault(number, []).extend(str(error.error) for error in errors)
    return messages


def flash_messages(response):
    return [str(message) for message in response.wsgi_request._messages]


def export_form_data(client, title):
    """The export form with every column ticked, in the format named `title`."""
    form = client.get(EXPORT_URL).context["form"]
    data = {"resource": "0", "format": format_index(client, EXPORT_URL, title)}
    data.update(
        {name: "on" for name, field in form.fields.items() if getattr(field, "resource_name", "")}
    )
    return data


def import_url(plan):
    return reverse("admin:plans_plan_import_table", args=[plan.pk])


def rezipped(data, change):
    """The workbook's zip written anew after `change` to its {name: bytes} parts."""
    archive = zipfile.ZipFile(io.BytesIO(data))
    parts = {name: archive.read(name) for name in archive.namelist()}
    change(parts)
    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w", zipfile.ZIP_DEFLATED) as out:
        for name, content in parts.items():
            out.writestr(name, content)
    return stream.getvalue()


# --- A plan's own table ----------------------------------------------------------------------

SINCE = datetime.date(2020, 1, 1)
HISTORY_MODELS = (Objective, SubObjective, Action, Target, ActionPartner, Organisation)


def preview_of(plan, data, filename="plan.xlsx", mapping=None):
    table_file = table_import.read(data, filename)
    if mapping is None:
        mapping = table_import.guess_mapping(table_file.headers, list(plan.periods.all()))
    return table_import.build_preview(plan, table_file, mapping)


def exported(plan, language="fr"):
    stream = io.BytesIO()
    workbook.export(plan, stream, since=SINCE, language=language)
    return stream.getvalue()


def snapshot(plan):
    """Everything an import could change in the plan, with the history that records it."""
    in_plan = {"action__plan": plan}
    return {
        "objectives": list(plan.objectives.order_by("pk").values()),
        "sub_objectives": list(
            SubObjective.objects.filter(objective__plan=plan).order_by("pk").values()
        ),
        "actions": list(plan.actions.order_by("pk").values()),
        "periods": sorted(
            Action.periods.through.objects.filter(**in_plan).values_list(
                "action__code", "period__label"
            )
        ),
        "targets": list(Target.objects.filter(**in_plan).order_by("pk").values()),
        "partners": list(ActionPartner.objects.filter(**in_plan).order_by("pk").values()),
        "notes": list(ProgressNote.objects.filter(**in_plan).order_by("pk").values()),
        "organisations": list(Organisation.objects.order_by("pk").values()),
        "history": {model.__name__: model.history.count() for model in HISTORY_MODELS},
    }
