from django.contrib import admin
from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from backoffice.admin import PlanDataAdmin, PlanDataInline
from imports.admin import TableImportAdminMixin
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
class PlanAdmin(TableImportAdminMixin, PlanDataAdmin):
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
