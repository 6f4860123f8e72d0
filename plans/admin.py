from django.contrib import admin, messages
from django.db.models import Count
from django.utils.translation import gettext_lazy as _
from import_export.admin import ImportExportModelAdmin

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
