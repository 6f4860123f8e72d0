from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import ValidationError
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from access.coalitions import coalition_ids, scoped
from actions.forms import ActionAdminForm, ChangeStatusForm, TargetInlineForm
from actions.models import Action, ProgressNote, Target, TargetValue
from actions.services import (
    change_status,
    change_statuses,
    record_target_value,
    save_note,
    save_target_value,
)
from backoffice.admin import PlanDataAdmin, PlanDataInline
from imports.action_resources import ActionResource
from imports.admin import PlanDataImportExportAdmin
from plans import formats
from plans.models import Objective, Period, SubObjective
from plans.versions import StaleVersion, who_and_when


def in_plan(plan, text):
    """A choice label that says whose it is: codes and period labels repeat across plans."""
    return f"{plan.coalition} · {text}"


def status_badge(status):
    # The dashboard's badge, so a status looks the same on both sides.
    return render_to_string(
        "dashboard/includes/status_badge.html",
        {"status": status, "label": Action.Status(status).label},
    )


class LateFilter(admin.SimpleListFilter):
    title = _("retard")
    parameter_name = "late"

    def lookups(self, request, model_admin):
        return [("yes", _("En retard")), ("no", _("Pas en retard"))]

    def queryset(self, request, queryset):
        # Relies on the `is_late` annotation that ActionAdmin.get_queryset adds.
        if self.value() == "yes":
            return queryset.filter(is_late=True)
        if self.value() == "no":
            return queryset.filter(is_late=False)
        return queryset


class PlanScopedFilter(admin.SimpleListFilter):
    """Lists the choices of the plan picked in the plan filter, or of every plan."""

    model = None
    lookup = None

    @staticmethod
    def chosen_plan(request):
        plan_id = request.GET.get("plan__id__exact")
        return int(plan_id) if plan_id and plan_id.isdigit() else None

    def choices_queryset(self, request):
        queryset = scoped(request.user, self.model.objects.select_related("plan__coalition"))
        if plan_id := self.chosen_plan(request):
            queryset = queryset.filter(plan_id=plan_id)
        return queryset

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(**{self.lookup: self.value()}).distinct()
        return queryset


class ObjectiveFilter(PlanScopedFilter):
    title = _("objectif")
    parameter_name = "objective"
    model = Objective
    lookup = "sub_objective__objective_id"

    def lookups(self, request, model_admin):
        return [
            (o.pk, in_plan(o.plan, f"{o.code}. {Truncator(o.title).chars(50)}"))
            for o in self.choices_queryset(request)
        ]


class PeriodFilter(PlanScopedFilter):
    title = _("période prévue")
    parameter_name = "period"
    model = Period
    lookup = "periods"

    def lookups(self, request, model_admin):
        return [(p.pk, in_plan(p.plan, p.label)) for p in self.choices_queryset(request)]


class ActionChangeList(ChangeList):
    """Only the list shows periods: the action page and the related-actions autocomplete (a
    request per keystroke) should not pay for loading them."""

    def apply_select_related(self, qs):
        return super().apply_select_related(qs).prefetch_related("periods")


class TargetInline(PlanDataInline):
    model = Target
    form = TargetInlineForm
    extra = 1
    show_change_link = True
    fields = [
        "description",
        "kind",
        "unit",
        "target_value",
        "is_done",
        "latest_value",
        "new_value",
        "new_value_date",
        "order",
    ]
    readonly_fields = ["latest_value"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("values")

    @admin.display(description=_("dernière valeur"))
    def latest_value(self, target):
        values = list(target.values.all()) if target.pk else []
        if not values:
            return "—"
        latest = values[0]  # TargetValue.Meta.ordering puts the newest first
        return f"{latest.value.normalize():f} ({formats.iso_day(latest.date)})"


class ProgressNoteInline(PlanDataInline):
    model = ProgressNote
    extra = 1
    fields = ["date", "kind", "status_change", "reason", "text", "author"]
    readonly_fields = ["kind", "status_change", "reason", "author"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("author")

    @admin.display(description=_("changement de statut"))
    def status_change(self, note):
        if note.kind != ProgressNote.Kind.STATUS_CHANGE:
            return ""
        if not note.status_from:
            return status_badge(note.status_to)
        return format_html("{} → {}", status_badge(note.status_from), status_badge(note.status_to))


class ActionAdmin(PlanDataImportExportAdmin):
    """The action's page and list; partners/admin.py registers it with the action's carriers
    and partners, which sit above actions."""

    resource_classes = [ActionResource]
    form = ActionAdminForm
    list_display = [
        "plan_short",
        "code",
        "title_short",
        "status_badge",
        "progress_display",
        "scheduled",
        "is_late",
    ]
    list_display_links = ["code", "title_short"]
    # No editable status in the list: a status changed there looked saved until a button far
    # below was clicked, and postponing asks for a reason the list has no room for. Statuses
    # change on the update page, or for several actions with the bulk action.
    list_filter = [
        ("plan", admin.RelatedOnlyFieldListFilter),
        ObjectiveFilter,
        "status",
        PeriodFilter,
        LateFilter,
        "themes",
    ]
    list_select_related = ["plan__coalition"]
    list_per_page = 100
    search_fields = ["code", "title", "means"]
    search_help_text = _("Cherche dans le code, le titre et les moyens.")
    autocomplete_fields = ["related_actions"]
    actions = ["change_status_action"]
    inlines = [TargetInline, ProgressNoteInline]
    readonly_fields = ["current_status"]
    fieldsets = [
        (None, {"fields": ["sub_objective", "code", "title", "means", "loaded_version"]}),
        # Changed on the update page (partners/admin.py), with its reason, notes and values.
        (_("Statut et avancement"), {"fields": ["current_status"]}),
        (
            _("Échéancier et liens"),
            {"fields": ["periods", "related_actions", "themes"]},
        ),
        (
            _("Porteurs et partenaires tels qu'écrits"),
            {"fields": ["partners_text", "carrier_to_be_found"]},
        ),
    ]

    def saved_with(self, request, pk):
        # Linking two actions changes both (actions/history.py): the other ends, linked now
        # or posted, are locked with this one, so that two coordinators linking the same
        # pair wait for each other instead of deadlocking.
        posted = {
            int(value)
            for value in request.POST.getlist("related_actions")
            if value.isdigit() and len(value) < 19  # a bigint; the form refuses the rest
        }
        linked = Action.related_actions.through.objects.filter(from_action_id=pk)
        return {pk, *posted, *linked.values_list("to_action_id", flat=True)}

    def get_queryset(self, request):
        # Annotations, not extra queries: the late filter and the column sorting need them.
        return super().get_queryset(request).with_late().with_progress()

    def get_changelist(self, request, **kwargs):
        return ActionChangeList

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None:
            return fieldsets
        # A new action starts "À venir": no status to show yet.
        return [
            (title, options)
            for title, options in fieldsets
            if "current_status" not in options["fields"]
        ]

    def get_list_display(self, request):
        ids = coalition_ids(request.user)
        if (ids is not None and len(ids) == 1) or PlanScopedFilter.chosen_plan(request):
            # The coalition column says nothing when there is only one: its room goes to
            # the columns that fit at 1366 px wide.
            return [name for name in self.list_display if name != "plan_short"]
        return self.list_display

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "sub_objective":
            kwargs["queryset"] = SubObjective.objects.select_related("objective__plan__coalition")
            field = super().formfield_for_foreignkey(db_field, request, **kwargs)
            field.label_from_instance = lambda s: in_plan(s.objective.plan, s)
            return field
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        periods = form.base_fields.get("periods")
        if periods is None:  # view-only users get read-only fields
            return form
        if obj is not None:
            # An action's sub-objectives and periods are its plan's, not every plan's in the
            # database: a province holds thousands.
            periods.queryset = obj.plan.periods.all()
            sub_objective = form.base_fields["sub_objective"]
            sub_objective.queryset = sub_objective.queryset.filter(objective__plan=obj.plan_id)
        else:
            periods.queryset = scoped(
                request.user, Period.objects.select_related("plan__coalition")
            )
            periods.label_from_instance = lambda p: in_plan(p.plan, p.label)
        return form

    def save_model(self, request, obj, form, change):
        if self.nothing_to_save(request, form, change):
            return
        # The status as stored (this form has none): a new action's first, validated save.
        change_status(action=obj, status=obj.status, user=request.user)

    def save_row(self, request, instance):
        if isinstance(instance, ProgressNote):
            save_note(instance, user=request.user)
        else:
            super().save_row(request, instance)

    def save_formset(self, request, form, formset, change):
        super().save_formset(request, form, formset, change)
        if formset.model is Target:
            self._record_new_values(request, formset)

    def _record_new_values(self, request, formset):
        for target_form in formset.forms:
            data = getattr(target_form, "cleaned_data", None) or {}
            if data.get("new_value") is None or data.get("DELETE"):
                continue
            record_target_value(
                target=target_form.instance,
                value=data["new_value"],
                date=data.get("new_value_date"),
                user=request.user,
            )

    @admin.display(description=_("titre"), ordering="title")
    def title_short(self, action):
        return Truncator(action.title).chars(90)

    @admin.display(description=_("statut"), ordering="status")
    def status_badge(self, action):
        return status_badge(action.status)

    @admin.display(description=_("statut actuel"))
    def current_status(self, action):
        return format_html(
            "{} {}",
            status_badge(action.status),
            render_to_string("dashboard/includes/progress_bar.html", {"value": action.progress}),
        )

    @admin.display(description=_("avancement"))
    def progress_display(self, action):
        # The dashboard's own bar, so both sides draw progress the same way.
        return render_to_string("dashboard/includes/progress_bar.html", {"value": action.progress})

    @admin.display(description=_("périodes"))
    def scheduled(self, action):
        return ", ".join(period.label for period in action.periods.all()) or "—"

    @admin.display(description=_("en retard"), ordering="is_late")
    def is_late(self, action):
        # Words, not Django's green tick: a tick reads as "all is well".
        if action.is_late:
            return format_html('<span class="late-badge">{}</span>', _("En retard"))
        return ""

    @admin.display(description=_("coalition"), ordering="plan__coalition__name")
    def plan_short(self, action):
        return action.plan.coalition

    @admin.action(description=_("Changer le statut des actions choisies"), permissions=["change"])
    def change_status_action(self, request, queryset):
        if "apply" not in request.POST:
            form = ChangeStatusForm(actions=queryset)
        else:
            form = ChangeStatusForm(request.POST, actions=queryset)
            if form.is_valid():
                try:
                    entries = change_statuses(
                        actions=queryset,
                        status=form.cleaned_data["status"],
                        user=request.user,
                        reason=form.cleaned_data["reason"],
                        note=form.cleaned_data["note"],
                        date=form.cleaned_data["date"],
                        seen_versions=form.seen_versions(),
                    )
                except ValidationError as error:
                    # Nothing was changed: the page comes back with what was typed, and the
                    # actions as they are now, to be confirmed again.
                    self.message_user(request, bulk_refusal(error), messages.ERROR)
                    queryset = queryset.all()
                    data = request.POST.copy()
                    data["versions"] = (
                        ChangeStatusForm(actions=queryset).fields["versions"].initial
                    )
                    form = ChangeStatusForm(data, actions=queryset)
                else:
                    self.message_user(request, bulk_summary(entries), messages.SUCCESS)
                    return None
        context = {
            **self.admin_site.each_context(request),
            "title": _("Changer le statut"),
            "opts": self.model._meta,
            "form": form,
            "actions_selected": queryset,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "admin/actions/action/change_status.html", context)


def bulk_refusal(error):
    """Why the bulk change wrote nothing; for a colleague's save, what to do now that the
    page shows the actions as they are."""
    if not isinstance(error, StaleVersion) or error.latest is None:
        return " ".join(error.messages)
    who, when = who_and_when(error.latest)
    return _(
        "%(who)s a enregistré « %(object)s » le %(when)s, après l'affichage de cette page "
        "(%(changes)s). Aucun statut n'a été changé : les actions sont affichées ci-dessous "
        "telles qu'elles sont maintenant ; confirmez de nouveau pour appliquer le changement."
    ) % {
        "who": who,
        "object": error.instance,
        "when": when,
        "changes": "; ".join(error.changes) or _("d'autres champs"),
    }


def bulk_summary(entries):
    changed = sum(1 for entry in entries if entry.kind == ProgressNote.Kind.STATUS_CHANGE)
    summary = ngettext(
        "%(count)d action a changé de statut.",
        "%(count)d actions ont changé de statut.",
        changed,
    ) % {"count": changed}
    noted = len(entries) - changed
    if noted:
        summary += " " + ngettext(
            "La note a été ajoutée au suivi de %(count)d action dont le statut était déjà "
            "celui-là.",
            "La note a été ajoutée au suivi de %(count)d actions dont le statut était déjà "
            "celui-là.",
            noted,
        ) % {"count": noted}
    return summary


class TargetValueInline(PlanDataInline):
    model = TargetValue
    extra = 1
    fields = ["date", "value", "note"]


@admin.register(Target)
class TargetAdmin(PlanDataAdmin):
    list_display = ["description", "action", "kind", "unit", "target_value", "is_done"]
    list_filter = ["kind", "is_done", ("action__plan", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["action"]
    search_fields = ["description", "action__code", "action__title"]
    autocomplete_fields = ["action"]
    inlines = [TargetValueInline]

    def save_row(self, request, instance):
        if isinstance(instance, TargetValue):
            save_target_value(instance, user=request.user)
        else:
            super().save_row(request, instance)


@admin.register(ProgressNote)
class ProgressNoteAdmin(PlanDataAdmin):
    list_display = ["date", "action", "kind", "text", "author"]
    list_filter = ["kind", ("action__plan", admin.RelatedOnlyFieldListFilter), "date"]
    list_select_related = ["action", "author"]
    search_fields = ["text", "reason", "action__code", "action__title"]
    autocomplete_fields = ["action"]
    readonly_fields = ["author"]
    date_hierarchy = "date"

    def save_model(self, request, obj, form, change):
        if self.nothing_to_save(request, form, change):
            return
        save_note(obj, user=request.user)
