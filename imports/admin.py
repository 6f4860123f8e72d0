"""The admin's imports: list imports (CSV and XLSX, with a preview and a confirmation) and
the plan-table import (upload, map the columns, preview, confirm)."""

import datetime
import secrets

from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db import router, transaction
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from import_export.admin import ImportExportModelAdmin

from backoffice.admin import PlanDataAdmin
from imports import table_import, uploads
from imports.forms import ColumnMappingForm, SizeLimitedImportForm, TableUploadForm
from imports.pending import PendingImportAdminMixin
from imports.resources import IMPORT_FORMATS
from plans.models import (
    Plan,
    UploadedTable,
)


class PlanDataImportExportAdmin(PendingImportAdminMixin, ImportExportModelAdmin, PlanDataAdmin):
    """Import and export in CSV (as Excel writes it) and XLSX, with history; the file waits
    for its confirmation in the database, for its owner (imports/pending.py)."""

    formats = IMPORT_FORMATS
    import_template_name = "admin/import_export/plan_data_import.html"
    # A file over the size limit is refused before it is kept for the confirmation.
    import_form_class = SizeLimitedImportForm

    def add_data_read_fail_error_to_form(self, form, e):
        # import-export would show the exception's name: she reads why, and the refused file
        # is not kept for a confirmation that will not come.
        kept = getattr(form.cleaned_data.get("import_file"), "tmp_storage_name", None)
        form.add_error("import_file", uploads.read_failure(e))
        if kept:
            self.get_tmp_storage_class()(name=kept, **self.get_tmp_storage_class_kwargs()).remove()

    def add_success_message(self, result, request):
        if result.has_errors() or result.has_validation_errors():
            # Only possible if the data changed between the preview and the confirmation.
            messages.error(
                request,
                _(
                    "Rien n'a été importé : le fichier ne passe plus la vérification, les "
                    "données ont changé depuis l'aperçu. Recommencez l'import."
                ),
            )
            return
        super().add_success_message(result, request)


class TableImportUpload:
    """The uploaded table, kept in the database between the preview and the confirmation.

    The session remembers which upload belongs to whom, and the row its owner and plan, so a
    token cannot open another person's upload."""

    SESSION_KEY = "table_import"
    KEPT_FOR = datetime.timedelta(days=1)

    def __init__(self, request, plan):
        self.request = request
        self.plan = plan
        stored = request.session.get(self.SESSION_KEY) or {}
        posted = request.POST.get("token", "")
        matches = stored.get("token") == posted and stored.get("plan") == plan.pk
        self.token = stored.get("token", "") if matches else ""

    def uploads(self):
        return UploadedTable.objects.filter(
            user=self.request.user, kind=UploadedTable.Kind.PLAN_TABLE
        )

    def keep(self, data, name, sheet):
        # A new upload replaces the person's previous ones, and forgotten ones go.
        self.uploads().delete()
        UploadedTable.objects.filter(created_at__lt=timezone.now() - self.KEPT_FOR).delete()
        self.token = secrets.token_hex(16)
        UploadedTable.objects.create(
            token=self.token,
            user=self.request.user,
            plan=self.plan,
            name=name[:255],
            sheet=sheet or "",
            data=data,
        )
        self.request.session[self.SESSION_KEY] = {"token": self.token, "plan": self.plan.pk}

    def table_file(self):
        if not self.token:
            return None
        upload = self.uploads().filter(token=self.token, plan=self.plan).first()
        if upload is None:
            return None
        try:
            return table_import.read(bytes(upload.data), upload.name, sheet=upload.sheet)
        except table_import.TableError:
            return None

    def discard(self):
        if self.token:
            self.uploads().filter(token=self.token).delete()
        self.request.session.pop(self.SESSION_KEY, None)
        self.token = ""


class TableImportAdminMixin:
    """The plan's \"import a table\" page: upload, map the columns, preview, confirm."""

    def get_urls(self):
        return [
            path(
                "<path:object_id>/importer-tableau/",
                self.admin_site.admin_view(self.import_table_view),
                name="plans_plan_import_table",
            ),
            *super().get_urls(),
        ]

    def import_table_view(self, request, object_id):
        """Upload the plan's table, map its columns, preview what it creates, confirm."""
        plan = self.get_object(request, unquote(object_id))
        if plan is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_change_permission(request, plan):
            raise PermissionDenied
        upload = TableImportUpload(request, plan)
        step = request.POST.get("step") if request.method == "POST" else None
        if step == "upload":
            form = TableUploadForm(request.POST, request.FILES)
            if form.is_valid():
                file = form.cleaned_data["file"]
                data = file.read()
                try:
                    table_file = table_import.read(
                        data, file.name, sheet=form.cleaned_data["sheet"]
                    )
                except table_import.TableError as error:
                    for message in error.messages:
                        form.add_error("file", message)
                else:
                    upload.keep(data, file.name, table_file.sheet)
                    return self.render_import_table(request, plan, upload, table_file)
            return self.render_import_table(request, plan, upload, upload_form=form)
        if step in ("preview", "confirm"):
            table_file = upload.table_file()
            if table_file is None:
                messages.error(
                    request,
                    gettext(
                        "L'aperçu a expiré ou le fichier n'est plus là : importez-le de nouveau."
                    ),
                )
                return redirect(request.path)
            if step == "preview":
                return self.render_import_table(request, plan, upload, table_file)
            # The preview compared at confirmation is built with the plan's rows locked:
            # a save made before shows in its fingerprint, one made after waits for it.
            with transaction.atomic(using=router.db_for_write(Plan)):
                table_import.lock(plan)
                return self.render_import_table(request, plan, upload, table_file, confirm=True)
        return self.render_import_table(request, plan, upload, upload_form=TableUploadForm())

    def render_import_table(
        self, request, plan, upload, table_file=None, *, upload_form=None, confirm=False
    ):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "plan": plan,
            "title": gettext("Importer un tableau dans « %(plan)s »") % {"plan": plan},
            "upload_form": upload_form,
        }
        if table_file is not None:
            periods = list(plan.periods.all())
            mapping_form = ColumnMappingForm(
                request.POST if request.POST.get("step") != "upload" else None,
                headers=table_file.headers,
                choices=table_import.field_choices(plan, periods),
                guessed=table_import.guess_mapping(table_file.headers, periods),
                samples=table_import.samples(table_file),
            )
            preview, errors = None, []
            try:
                preview = table_import.build_preview(plan, table_file, mapping_form.mapping())
            except table_import.TableError as error:
                errors = error.messages
            if confirm and preview is not None:
                if request.POST.get("fingerprint") != preview.fingerprint():
                    messages.warning(
                        request,
                        gettext(
                            "Le plan ou les choix de colonnes ont changé depuis l'aperçu : "
                            "vérifiez l'aperçu ci-dessous, puis confirmez de nouveau."
                        ),
                    )
                else:
                    try:
                        counts = table_import.apply(preview, user=request.user)
                    except table_import.TableError as error:
                        errors = error.messages
                    else:
                        upload.discard()
                        messages.success(request, table_import.summary(counts))
                        return redirect(reverse("admin:plans_plan_change", args=[plan.pk]))
            context.update(
                {
                    "table_file": table_file,
                    "mapping_form": mapping_form,
                    "preview": preview,
                    "errors": errors,
                    "token": upload.token,
                }
            )
        return TemplateResponse(request, "admin/plans/plan/import_table.html", context)
