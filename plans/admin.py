import secrets
import tempfile
from pathlib import Path

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from import_export.admin import ImportExportModelAdmin

from plans import table_import
from plans.forms import ColumnMappingForm, TableUploadForm
from plans.history import HistoryAdmin
from plans.models import (
    Assembly,
    Coalition,
    Membership,
    Objective,
    Period,
    Plan,
    Review,
    ReviewFunding,
    ReviewItem,
    ReviewMeeting,
    ReviewStaff,
    SubObjective,
    Theme,
)
from plans.resources import IMPORT_FORMATS

admin.site.site_header = _("Suivi des plans d'action en sécurité alimentaire")
admin.site.site_title = _("Suivi des plans")
admin.site.index_title = _("Tableau de bord de la coordination")
# The breadcrumbs already say where one is; the action list needs the width.
admin.site.enable_nav_sidebar = False


class PlanDataImportExportAdmin(ImportExportModelAdmin, HistoryAdmin):
    """Import and export in CSV (as Excel writes it) and XLSX, with history."""

    formats = IMPORT_FORMATS
    import_template_name = "admin/import_export/plan_data_import.html"

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


class AssemblyInline(admin.TabularInline):
    model = Assembly
    extra = 0
    fields = ["date", "title", "notes"]


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    fields = ["user", "organisation"]
    autocomplete_fields = ["user", "organisation"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user", "organisation")


@admin.register(Coalition)
class CoalitionAdmin(HistoryAdmin):
    list_display = ["name", "short_name", "territory", "publishes_progress"]
    search_fields = ["name", "short_name", "territory"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [AssemblyInline, MembershipInline]


class PeriodInline(admin.TabularInline):
    model = Period
    extra = 0
    fields = ["label", "start", "end", "dates_note"]


class ObjectiveInline(admin.TabularInline):
    model = Objective
    extra = 0
    fields = ["number", "title", "sub_objective_count"]
    readonly_fields = ["sub_objective_count"]
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(sub_count=Count("sub_objectives"))

    @admin.display(description=_("sous-objectifs"))
    def sub_objective_count(self, objective):
        return getattr(objective, "sub_count", "—")


@admin.register(Plan)
class PlanAdmin(HistoryAdmin):
    list_display = ["title", "coalition", "kind", "start", "end", "adopted_on", "action_count"]
    list_filter = ["coalition", "kind"]
    list_select_related = ["coalition"]
    search_fields = ["title", "coalition__name"]
    prepopulated_fields = {"slug": ["title"]}
    inlines = [PeriodInline, ObjectiveInline]
    fieldsets = [
        (None, {"fields": ["coalition", "title", "slug", "kind", "objective_label"]}),
        (_("Dates"), {"fields": ["start", "end", "dates_note", "adopted_on"]}),
        (
            _("Texte d'orientation"),
            {"fields": ["principles", "problem", "desired_change", "notes"]},
        ),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(action_count=Count("actions"))

    @admin.display(description=_("actions"), ordering="action_count")
    def action_count(self, plan):
        return plan.action_count

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
            return self.render_import_table(
                request, plan, upload, table_file, confirm=step == "confirm"
            )
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


class SubObjectiveInline(admin.TabularInline):
    model = SubObjective
    extra = 0
    fields = ["number", "title"]
    show_change_link = True


@admin.register(Objective)
class ObjectiveAdmin(HistoryAdmin):
    list_display = ["code", "title", "plan"]
    list_display_links = ["code", "title"]
    list_filter = ["plan"]
    list_select_related = ["plan"]
    search_fields = ["title", "cross_cutting_objectives", "target_populations"]
    inlines = [SubObjectiveInline]

    @admin.display(description=_("numéro"), ordering="number")
    def code(self, objective):
        return objective.code


@admin.register(SubObjective)
class SubObjectiveAdmin(HistoryAdmin):
    list_display = ["code", "title", "plan", "action_count"]
    list_display_links = ["code", "title"]
    list_filter = ["objective__plan"]
    list_select_related = ["objective__plan"]
    search_fields = ["title"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(action_count=Count("actions"))

    @admin.display(description=_("code"), ordering="number")
    def code(self, sub_objective):
        return sub_objective.code

    @admin.display(description=_("plan"), ordering="objective__plan")
    def plan(self, sub_objective):
        return sub_objective.objective.plan

    @admin.display(description=_("actions"), ordering="action_count")
    def action_count(self, sub_objective):
        return sub_objective.action_count


@admin.register(Theme)
class ThemeAdmin(HistoryAdmin):
    list_display = ["name", "code", "order"]
    prepopulated_fields = {"code": ["name"]}


@admin.register(Assembly)
class AssemblyAdmin(HistoryAdmin):
    list_display = ["date", "coalition", "title"]
    list_filter = ["coalition"]
    list_select_related = ["coalition"]
    date_hierarchy = "date"


class ReviewMeetingInline(admin.TabularInline):
    model = ReviewMeeting
    extra = 0


class ReviewFundingInline(admin.TabularInline):
    model = ReviewFunding
    extra = 0


class ReviewStaffInline(admin.TabularInline):
    model = ReviewStaff
    extra = 0


class ReviewItemInline(admin.TabularInline):
    model = ReviewItem
    extra = 0


@admin.register(Review)
class ReviewAdmin(HistoryAdmin):
    list_display = ["title", "plan", "start", "end", "presented_at"]
    list_filter = ["plan"]
    list_select_related = ["plan", "presented_at"]
    inlines = [ReviewMeetingInline, ReviewFundingInline, ReviewStaffInline, ReviewItemInline]


class TableImportUpload:
    """The uploaded table, kept on disk between the preview and the confirmation.

    The session remembers which file belongs to whom, so a token cannot open another
    person's upload."""

    SESSION_KEY = "table_import"

    def __init__(self, request, plan):
        self.request = request
        self.plan = plan
        stored = request.session.get(self.SESSION_KEY) or {}
        posted = request.POST.get("token", "")
        self.stored = (
            stored if stored.get("token") == posted and stored.get("plan") == plan.pk else {}
        )
        self.token = self.stored.get("token", "")

    @staticmethod
    def folder():
        folder = Path(getattr(settings, "TABLE_IMPORT_DIR", "") or tempfile.gettempdir())
        folder = folder / "casal_tracker_imports"
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def keep(self, data, name, sheet):
        # A new upload replaces the session's previous one, whatever the form posted.
        previous = (self.request.session.get(self.SESSION_KEY) or {}).get("token")
        if previous:
            (self.folder() / previous).unlink(missing_ok=True)
        self.discard()
        self.token = secrets.token_hex(16)
        (self.folder() / self.token).write_bytes(data)
        self.stored = {"token": self.token, "plan": self.plan.pk, "name": name, "sheet": sheet}
        self.request.session[self.SESSION_KEY] = self.stored

    def table_file(self):
        if not self.token:
            return None
        try:
            data = (self.folder() / self.token).read_bytes()
            return table_import.read(data, self.stored["name"], sheet=self.stored["sheet"])
        except (OSError, table_import.TableError):
            return None

    def discard(self):
        if self.token:
            (self.folder() / self.token).unlink(missing_ok=True)
        self.request.session.pop(self.SESSION_KEY, None)
        self.token = ""
