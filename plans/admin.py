import datetime
import secrets

from django.contrib import admin, messages
from django.contrib.admin.templatetags.admin_urls import admin_urlname
from django.contrib.admin.utils import flatten_fieldsets, unquote
from django.contrib.contenttypes import views as contenttype_views
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, OperationalError, router, transaction
from django.db.models import Count
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from import_export.admin import ImportExportModelAdmin

from plans import recovery, table_import, uploads
from plans.forms import ColumnMappingForm, SizeLimitedImportForm, TableUploadForm
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
    UploadedTable,
)
from plans.pending_imports import PendingImportAdminMixin
from plans.resources import IMPORT_FORMATS
from plans.scoping import CoalitionScopedAdmin
from plans.versions import (
    VERSION_FIELD,
    SeenValuesForm,
    VersionedInlineFormSet,
    VersionedModelForm,
    VersionedModelFormSet,
    in_transaction,
    is_conflict,
    lock,
    read_version_first,
)

admin.site.site_header = _("Suivi des plans d'action en sécurité alimentaire")
admin.site.site_title = _("Suivi des plans")
admin.site.index_title = _("Tableau de bord de la coordination")
# The breadcrumbs already say where one is; the action list needs the width.
admin.site.enable_nav_sidebar = False


@admin.site.admin_view
def view_on_site(request, content_type_id, object_id):
    """The admin's "view on site" link, for objects the person may see in the admin only:
    Django's own shortcut would redirect anyone to any object's address, a private plan's
    name included."""
    try:
        model = ContentType.objects.get_for_id(content_type_id).model_class()
    except ContentType.DoesNotExist:
        raise Http404 from None
    model_admin = admin.site._registry.get(model)
    obj = model_admin.get_object(request, unquote(object_id)) if model_admin else None
    if obj is None or not model_admin.has_view_permission(request, obj):
        raise Http404
    return contenttype_views.shortcut(request, content_type_id, object_id)


class VersionedAdminMixin:
    """Forms, inline rows and list rows that refuse to overwrite a newer save
    (plans/versions.py)."""

    form = VersionedModelForm

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        names = flatten_fieldsets(fieldsets)
        if not self.has_change_permission(request, obj):
            # Those who only read have no form to protect.
            return [
                (
                    title,
                    {**options, "fields": [f for f in options["fields"] if f != VERSION_FIELD]},
                )
                for title, options in fieldsets
            ]
        if VERSION_FIELD in names:
            return fieldsets
        (title, options), *rest = fieldsets
        return [(title, {**options, "fields": [*options["fields"], VERSION_FIELD]}), *rest]


def retried_once(save):
    """`save()` (a page's saving transaction), run again once if it met another save at the
    same instant: a unique value (a code, a partner of the action) taken that validation could
    not see yet, or a deadlock PostgreSQL broke. The second time, the validation sees the
    other save and the page says so, with what was typed."""
    try:
        return save()
    except (IntegrityError, OperationalError) as error:
        if isinstance(error, OperationalError) and not is_conflict(error):
            raise
        return save()


class PlanDataAdmin(CoalitionScopedAdmin, VersionedAdminMixin, HistoryAdmin):
    """Every plan-data admin: its coalitions only (plans/scoping.py), with history, and no
    silent overwrite, even for two saves at the same instant: every page that saves does so
    in one transaction that locks what it compares before reading it (plans/versions.py)."""

    def get_object(self, request, object_id, from_field=None):
        field = self.model._meta.get_field(from_field) if from_field else self.opts.pk
        try:
            value = field.to_python(object_id)
            field.run_validators(value)  # e.g. an id past the column's range
        except ValidationError:
            return None
        if not field.primary_key:
            if request.method == "POST" and in_transaction():
                lock(self.model._base_manager.filter(**{field.name: value}))
            return super().get_object(request, object_id, from_field)
        if request.method == "POST" and in_transaction():
            # In one statement, so in primary-key order: two saves locking the same rows
            # never wait for each other crosswise.
            lock(self.model._base_manager.filter(pk__in=self.saved_with(request, value)))
        # Its version read before it, for its form (plans/versions.py).
        return read_version_first(
            self.model,
            value,
            lambda: super(PlanDataAdmin, self).get_object(request, object_id, from_field),
        )

    def saved_with(self, request, pk):
        """The objects of this model that saving object `pk` changes: itself."""
        return {pk}

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return retried_once(
            lambda: super(PlanDataAdmin, self).changeform_view(
                request, object_id, form_url, extra_context
            )
        )

    def changelist_view(self, request, extra_context=None):
        if request.method != "POST":
            return self._changelist_view(request, extra_context)

        def save():
            # The list's editable rows and the bulk actions save in one transaction, which
            # locks the rows before comparing what the person saw with them.
            with transaction.atomic(using=router.db_for_write(self.model)):
                return self._changelist_view(request, extra_context)

        return retried_once(save)

    def nothing_to_save(self, request, form, change):
        """A page saved for its inline rows only leaves its object, and its version, alone:
        otherwise a colleague's stale page would be refused for a change that is not there.
        A revert saves the old version even when its form is posted untouched."""
        return change and not form.has_changed() and not getattr(request, "reverting", False)

    def save_model(self, request, obj, form, change):
        if not self.nothing_to_save(request, form, change):
            super().save_model(request, obj, form, change)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        # simple-history lets whoever reads the object post its revert form: saving an old
        # version is a change, for those who may change this object, which still exists (a
        # deleted one comes back through the trash, with its links).
        if request.method != "POST":
            return super().history_form_view(request, object_id, version_id, extra_context)
        with transaction.atomic(using=router.db_for_write(self.model)):
            obj = self.get_object(request, unquote(object_id))  # locked: see get_object
            if obj is None or not self.has_change_permission(request, obj):
                raise PermissionDenied
            request.reverting = True
            return super().history_form_view(request, object_id, version_id, extra_context)

    def get_changelist_form(self, request, **kwargs):
        kwargs.setdefault("form", SeenValuesForm)
        return super().get_changelist_form(request, **kwargs)

    def get_changelist_formset(self, request, **kwargs):
        kwargs.setdefault("formset", VersionedModelFormSet)
        return super().get_changelist_formset(request, **kwargs)

    # --- Deleted objects, restored with what their deletion took (plans/recovery.py) -------

    def restorable(self, request):
        """Restoring adds the object back: those who may add it may restore it."""
        return self.model._meta.label in recovery.RESTORE_ORDER and self.has_add_permission(
            request
        )

    def get_urls(self):
        return [
            path(
                "supprimes/",
                self.admin_site.admin_view(self.recover_list_view),
                name=admin_urlname(self.opts, "recover_list").removeprefix("admin:"),
            ),
            path(
                "supprimes/<int:history_id>/",
                self.admin_site.admin_view(self.recover_view),
                name=admin_urlname(self.opts, "recover").removeprefix("admin:"),
            ),
            *super().get_urls(),
        ]

    def _changelist_view(self, request, extra_context):
        if self.restorable(request):
            extra_context = {
                "recover_url": reverse(admin_urlname(self.opts, "recover_list")),
                **(extra_context or {}),
            }
        return super().changelist_view(request, extra_context)

    def recover_list_view(self, request):
        if not self.restorable(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Corbeille : %(objects)s")
            % {"objects": self.opts.verbose_name_plural},
            "records": [
                (record, recovery.describe(record.instance))
                for record in recovery.deleted_objects(self.model, request.user)
            ],
            "listed": recovery.LISTED,
        }
        return TemplateResponse(request, "admin/recover_list.html", context)

    def recover_view(self, request, history_id):
        if not self.restorable(request):
            raise PermissionDenied
        records = recovery.deleted_objects(self.model, request.user)
        record = next((r for r in records if r.history_id == history_id), None)
        if record is None:
            messages.warning(
                request, gettext("Cet élément n'est plus dans les éléments supprimés.")
            )
            return redirect(admin_urlname(self.opts, "recover_list"))
        cascade = recovery.cascade(record)
        if request.method == "POST":
            try:
                obj, others = recovery.restore(record=record, user=request.user)
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
            else:
                self.log_addition(request, obj, [{"added": {}}])
                messages.success(
                    request,
                    ngettext(
                        "Restauré : « %(object)s », avec %(count)d élément supprimé en même "
                        "temps.",
                        "Restauré : « %(object)s », avec %(count)d éléments supprimés en même "
                        "temps.",
                        others,
                    )
                    % {"object": obj, "count": others},
                )
                return redirect(admin_urlname(self.opts, "change"), obj.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Restaurer « %(object)s »")
            % {"object": recovery.describe(record.instance)},
            "record": record,
            "object": recovery.describe(record.instance),
            "cascade": [
                (r.instance._meta.verbose_name, recovery.describe(r.instance))
                for r in cascade
                if r is not record
            ],
        }
        return TemplateResponse(request, "admin/recover_confirm.html", context)


class PlanDataInline(CoalitionScopedAdmin, VersionedAdminMixin, admin.TabularInline):
    formset = VersionedInlineFormSet


class PlanDataImportExportAdmin(PendingImportAdminMixin, ImportExportModelAdmin, PlanDataAdmin):
    """Import and export in CSV (as Excel writes it) and XLSX, with history; the file waits
    for its confirmation in the database, for its owner (plans/pending_imports.py)."""

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


class AssemblyInline(PlanDataInline):
    model = Assembly
    extra = 0
    fields = ["date", "title", "notes"]


class MembershipInline(PlanDataInline):
    model = Membership
    extra = 0
    fields = ["user", "organisation"]
    autocomplete_fields = ["user", "organisation"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user", "organisation")


@admin.register(Coalition)
class CoalitionAdmin(PlanDataAdmin):
    list_display = ["name", "short_name", "territory", "publishes_progress"]
    search_fields = ["name", "short_name", "territory"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [AssemblyInline, MembershipInline]

    # A coordinator keeps her own coalition's details; creating or deleting a coalition is
    # the superusers' (a deletion takes every plan with it).
    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


class PeriodInline(PlanDataInline):
    model = Period
    extra = 0
    fields = ["label", "start", "end", "dates_note"]


class ObjectiveInline(PlanDataInline):
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
class PlanAdmin(PlanDataAdmin):
    list_display = ["title", "coalition", "kind", "start", "end", "adopted_on", "action_count"]
    list_filter = [("coalition", admin.RelatedOnlyFieldListFilter), "kind"]
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


class SubObjectiveInline(PlanDataInline):
    model = SubObjective
    extra = 0
    fields = ["number", "title"]
    show_change_link = True


@admin.register(Objective)
class ObjectiveAdmin(PlanDataAdmin):
    list_display = ["code", "title", "plan"]
    list_display_links = ["code", "title"]
    list_filter = [("plan", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["plan"]
    search_fields = ["title", "cross_cutting_objectives", "target_populations"]
    inlines = [SubObjectiveInline]

    @admin.display(description=_("numéro"), ordering="number")
    def code(self, objective):
        return objective.code


@admin.register(SubObjective)
class SubObjectiveAdmin(PlanDataAdmin):
    list_display = ["code", "title", "plan", "action_count"]
    list_display_links = ["code", "title"]
    list_filter = [("objective__plan", admin.RelatedOnlyFieldListFilter)]
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
class ThemeAdmin(PlanDataAdmin):
    list_display = ["name", "code", "order"]
    prepopulated_fields = {"code": ["name"]}


@admin.register(Assembly)
class AssemblyAdmin(PlanDataAdmin):
    list_display = ["date", "coalition", "title"]
    list_filter = [("coalition", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["coalition"]
    date_hierarchy = "date"


class ReviewMeetingInline(PlanDataInline):
    model = ReviewMeeting
    extra = 0


class ReviewFundingInline(PlanDataInline):
    model = ReviewFunding
    extra = 0


class ReviewStaffInline(PlanDataInline):
    model = ReviewStaff
    extra = 0


class ReviewItemInline(PlanDataInline):
    model = ReviewItem
    extra = 0


@admin.register(Review)
class ReviewAdmin(PlanDataAdmin):
    list_display = ["title", "plan", "start", "end", "presented_at"]
    list_filter = [("plan", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["plan", "presented_at"]
    inlines = [ReviewMeetingInline, ReviewFundingInline, ReviewStaffInline, ReviewItemInline]


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
