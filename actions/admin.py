import unicodedata

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.templatetags.admin_urls import admin_urlname
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.db.models.query import ModelIterable
from django.http import Http404, JsonResponse, QueryDict
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.text import Truncator
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from access.coalitions import coalition_ids, scoped
from actions.forms import (
    ActionAddForm,
    ActionAdminForm,
    ActionListActionForm,
    ChangeStatusForm,
    CorrectionForm,
    TargetInlineForm,
    ThemeForm,
)
from actions.models import Action, ProgressNote, Target, TargetValue
from actions.services import (
    change_status,
    change_statuses,
    correct_note,
    record_target_value,
    save_target_value,
    tag_actions,
    untag_actions,
)
from backoffice.admin import PlanDataAdmin, PlanDataInline
from imports.action_resources import ActionResource
from imports.admin import PlanDataImportExportAdmin
from partners.timeline import action_timeline
from plans import formats
from plans.models import Objective, Period, Plan, SubObjective
from plans.versions import StaleVersion, who_and_when

# The list's title column, in characters.
TITLE_SHOWN = 90


def in_plan(plan, text):
    """A choice label that says whose it is: codes and period labels repeat across plans."""
    return f"{plan.coalition} · {text}"


def status_badge(status):
    # The dashboard's badge, so a status looks the same on both sides.
    return render_to_string(
        "dashboard/includes/status_badge.html",
        {"status": status, "label": Action.Status(status).label},
    )


def progress_bar(value):
    return render_to_string("dashboard/includes/progress_bar.html", {"value": value})


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

    def url_for_result(self, result):
        # Asked for each linked column of a row (the code and the title): reversed once.
        urls = self.__dict__.setdefault("_result_urls", {})
        if result.pk not in urls:
            urls[result.pk] = super().url_for_result(result)
        return urls[result.pk]

    # The rows' iterable: see RowsDrawnOnce.
    rows_iterable = None

    def get_results(self, request):
        super().get_results(request)
        rows = self.result_list
        if isinstance(rows, QuerySet) and rows._result_cache is None:
            # Lazily: a bulk action's page builds the list without showing its rows.
            rows._iterable_class = self.rows_iterable or RowsDrawnOnce


class RowsDrawnOnce(ModelIterable):
    """The list's rows as the database gives them, each with its status badge and progress
    bar: the dashboard's templates, drawn once per status and per value on the page, not once
    per row."""

    def __iter__(self):
        badges, bars = {}, {}
        for action in super().__iter__():
            if action.status not in badges:
                badges[action.status] = status_badge(action.status)
            if action.progress not in bars:
                bars[action.progress] = progress_bar(action.progress)
            action.status_html = badges[action.status]
            action.progress_html = bars[action.progress]
            yield action


def row_status_badge(action):
    """The action's badge: drawn for its list (ActionChangeList), or now."""
    html = getattr(action, "status_html", None)
    return status_badge(action.status) if html is None else html


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
    actions = ["change_status_action", "add_theme_action", "remove_theme_action"]
    action_form = ActionListActionForm
    # The trail (notes and status changes) is a record, not rows to edit: it is read and
    # corrected from the action's history (history_view below).
    inlines = [TargetInline]
    object_history_template = "admin/actions/action/object_history.html"
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
        if obj is None:
            kwargs.setdefault("form", ActionAddForm)
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
        elif (plan := getattr(request, "action_plan", None)) is not None:
            # A new action: the plan was chosen first (add_view), so only its own
            # sub-objectives and periods are offered, without the coalition in each label.
            periods.queryset = plan.periods.all()
            sub_objective = form.base_fields["sub_objective"]
            sub_objective.queryset = sub_objective.queryset.filter(objective__plan=plan)
            sub_objective.label_from_instance = str
            form.base_fields["code"].widget.attrs.update(
                {
                    "data-next-code-url": reverse(
                        f"admin:{self.opts.app_label}_{self.opts.model_name}_next_code"
                    ),
                    "autocomplete": "off",
                }
            )
        else:
            periods.queryset = scoped(
                request.user, Period.objects.select_related("plan__coalition")
            )
            periods.label_from_instance = lambda p: in_plan(p.plan, p.label)
        return form

    # --- Adding an action: the plan first, then its own sub-objectives and the next code ---

    def plans_to_add_to(self, request):
        """The plans she may add an action to: those of her coalitions."""
        plans = Plan.objects.select_related("coalition").order_by("coalition__name", "-start")
        return list(scoped(request.user, plans))

    @staticmethod
    def plan_asked(request):
        """The plan id in the address: ?plan=, or the plan filter of the list she came
        from (Django passes it on as _changelist_filters); "" when none, None when unreadable."""
        asked = request.GET.get("plan")
        if asked is None:
            filters = QueryDict(request.GET.get("_changelist_filters", ""))
            asked = filters.get("plan__id__exact", "")
        return int(asked) if asked.isdigit() and len(asked) < 19 else (None if asked else "")

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        plans = self.plans_to_add_to(request)
        asked = self.plan_asked(request)
        plan = next((p for p in plans if p.pk == asked), None)
        if plan is None and asked != "":
            messages.warning(
                request,
                _("Ce plan n'existe pas ou vous ne pouvez pas le modifier : choisissez un plan."),
            )
        elif plan is None and len(plans) == 1:
            plan = plans[0]
        if plan is None:
            return self.choose_plan_view(request, plans)
        request.action_plan = plan
        extra_context = {
            "subtitle": _("Plan : %(plan)s") % {"plan": f"{plan.coalition} · {plan.title}"},
            **(extra_context or {}),
        }
        return super().add_view(request, form_url, extra_context)

    def choose_plan_view(self, request, plans):
        context = {
            **self.admin_site.each_context(request),
            "title": _("Ajouter une action : dans quel plan ?"),
            "opts": self.opts,
            # Each plan's address keeps the others' parameters: the list's filters (for its
            # breadcrumbs once saved), and a popup's (opened from another action's form).
            "plans": [(plan, self.add_address(request, plan)) for plan in plans],
        }
        return TemplateResponse(request, "admin/actions/action/choose_plan.html", context)

    @staticmethod
    def add_address(request, plan):
        query = request.GET.copy()
        query["plan"] = plan.pk
        return f"?{query.urlencode()}"

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        plan = getattr(request, "action_plan", None)
        asked = initial.get("sub_objective", "")
        if plan is None or not (isinstance(asked, str) and asked.isdigit() and len(asked) < 19):
            initial.pop("sub_objective", None)
            return initial
        sub_objective = (
            SubObjective.objects.select_related("objective")
            .filter(pk=asked, objective__plan=plan)
            .first()
        )
        if sub_objective is None:
            initial.pop("sub_objective", None)
        else:
            initial["code"] = Action.objects.next_code(sub_objective)
        return initial

    def response_add(self, request, obj, post_url_continue=None):
        if "_addanother" in request.POST and not self.is_popup(request):
            # The next action goes in the same plan and sub-objective, with its next code.
            self.message_user(
                request,
                _("L'action « %(action)s » a été ajoutée. Vous pouvez en ajouter une autre.")
                % {"action": obj},
                messages.SUCCESS,
            )
            query = urlencode({"plan": obj.plan_id, "sub_objective": obj.sub_objective_id})
            return redirect(f"{request.path}?{query}")
        return super().response_add(request, obj, post_url_continue)

    @staticmethod
    def is_popup(request):
        return "_popup" in request.POST or "_popup" in request.GET

    def get_urls(self):
        info = (self.opts.app_label, self.opts.model_name)
        return [
            path(
                "prochain-code/",
                self.admin_site.admin_view(self.next_code_view),
                name=f"{info[0]}_{info[1]}_next_code",
            ),
            *super().get_urls(),
        ]

    def next_code_view(self, request):
        """{"code": the next free code} of the sub-objective ?sub_objective=, for the add
        form's script (static/js/action_next_code.js)."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        asked = request.GET.get("sub_objective", "")
        sub_objective = None
        if asked.isdigit() and len(asked) < 19:
            sub_objective = (
                scoped(request.user, SubObjective.objects.select_related("objective"))
                .filter(pk=asked)
                .first()
            )
        if sub_objective is None:
            return JsonResponse({"error": gettext("Sous-objectif introuvable.")}, status=404)
        return JsonResponse({"code": Action.objects.next_code(sub_objective)})

    def save_model(self, request, obj, form, change):
        if self.nothing_to_save(request, form, change):
            return
        # The status as stored (this form has none): a new action's first, validated save.
        change_status(action=obj, status=obj.status, user=request.user)

    def history_view(self, request, object_id, extra_context=None):
        """The action's whole story, as members read it on its page (partners/timeline.py):
        fields, targets and values, partners, notes and the schedule, newest first; below it,
        simple-history's versions of the action's own fields, to revert one."""
        obj = self.get_object(request, unquote(object_id))
        note_admin = self.admin_site._registry.get(ProgressNote)
        extra_context = {
            "timeline": action_timeline(obj) if obj is not None else [],
            "timeline_above": True,
            "may_correct": bool(
                obj is not None and note_admin and note_admin.may_correct(request, obj)
            ),
            **(extra_context or {}),
        }
        return super().history_view(request, object_id, extra_context)

    def set_history_delta_changes(self, request, historical_records, *args, **kwargs):
        # The timeline above the versions says what each save changed, schedule and themes
        # included, in a constant number of queries; simple-history's own reading of each
        # version costs queries per version, so the versions are listed without it.
        return None

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
        title = action.title
        if len(title) <= TITLE_SHOWN and unicodedata.is_normalized("NFC", title):
            return title  # what Truncator gives back, without its cost on every row
        return Truncator(title).chars(TITLE_SHOWN)

    @admin.display(description=_("statut"), ordering="status")
    def status_badge(self, action):
        return row_status_badge(action)

    @admin.display(description=_("statut actuel"))
    def current_status(self, action):
        return format_html(
            "{} {}",
            status_badge(action.status),
            progress_bar(action.progress),
        )

    @admin.display(description=_("avancement"))
    def progress_display(self, action):
        # The dashboard's own bar, so both sides draw progress the same way.
        html = getattr(action, "progress_html", None)
        return progress_bar(action.progress) if html is None else html

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
                        periods=form.cleaned_data["periods"],
                        without_date=form.cleaned_data["without_date"],
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

    @admin.action(description=_("Ajouter un thème aux actions choisies"), permissions=["change"])
    def add_theme_action(self, request, queryset):
        return self.theme_action(request, queryset, adding=True)

    @admin.action(description=_("Retirer un thème des actions choisies"), permissions=["change"])
    def remove_theme_action(self, request, queryset):
        return self.theme_action(request, queryset, adding=False)

    def theme_action(self, request, queryset, *, adding):
        """The bulk theme actions' intermediate page: pick the theme, then confirm."""
        form = ThemeForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            theme = form.cleaned_data["theme"]
            service = tag_actions if adding else untag_actions
            changed = service(actions=queryset, theme=theme, user=request.user)
            self.message_user(
                request, theme_summary(theme, len(changed), queryset.count(), adding=adding)
            )
            return None
        name = "add_theme_action" if adding else "remove_theme_action"
        context = {
            **self.admin_site.each_context(request),
            "title": _("Ajouter un thème") if adding else _("Retirer un thème"),
            "opts": self.model._meta,
            "form": form,
            "adding": adding,
            "admin_action": name,
            "actions_selected": queryset.prefetch_related("themes"),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/actions/action/themes.html", context)


def theme_summary(theme, changed, chosen, *, adding):
    """How many actions the bulk theme change changed, and why the others were left alone."""
    if not changed:
        if adding:
            return gettext(
                "Aucune action n'a changé : elles avaient toutes déjà le thème « %(theme)s »."
            ) % {"theme": theme}
        return gettext("Aucune action n'a changé : aucune n'avait le thème « %(theme)s ».") % {
            "theme": theme
        }
    if adding:
        summary = ngettext(
            "Thème « %(theme)s » ajouté à %(count)d action.",
            "Thème « %(theme)s » ajouté à %(count)d actions.",
            changed,
        )
        unchanged = ngettext(
            "%(count)d action l'avait déjà.", "%(count)d actions l'avaient déjà.", chosen - changed
        )
    else:
        summary = ngettext(
            "Thème « %(theme)s » retiré de %(count)d action.",
            "Thème « %(theme)s » retiré de %(count)d actions.",
            changed,
        )
        unchanged = ngettext(
            "%(count)d action ne l'avait pas.",
            "%(count)d actions ne l'avaient pas.",
            chosen - changed,
        )
    summary %= {"theme": theme, "count": changed}
    if chosen > changed:
        summary += " " + unchanged % {"count": chosen - changed}
    return summary


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
    """The trail, read-only: an entry members rely on is never edited or deleted, not even
    through the admin. A mistake is corrected by a new entry that says so ("Corriger"); notes
    are written from the action's pages."""

    list_display = ["date", "action", "kind", "text", "author", "correction_of"]
    list_filter = ["kind", ("action__plan", admin.RelatedOnlyFieldListFilter), "date"]
    list_select_related = ["action", "author", "corrects"]
    search_fields = ["text", "reason", "action__code", "action__title"]
    date_hierarchy = "date"
    fields = [
        "action",
        "date",
        "kind",
        "status_from",
        "status_to",
        "reason",
        "text",
        "author",
        "created_at",
        "correction_of",
        "corrected_by",
    ]
    readonly_fields = fields
    change_form_template = "admin/actions/progressnote/change_form.html"
    # Deleting an action takes its trail (backoffice/admin.py), and its trash brings it back.
    deleted_with_parent_only = True

    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def may_correct(self, request, obj):
        """Who may add to the trail of `obj` (a note, or its action) may correct it."""
        return request.user.has_perm("actions.add_progressnote") and self.may_change(request, obj)

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("corrections")

    def get_urls(self):
        return [
            path(
                "<path:object_id>/corriger/",
                self.admin_site.admin_view(self.correct_view),
                name=admin_urlname(self.opts, "correct").removeprefix("admin:"),
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, unquote(object_id))
        extra_context = {
            "may_correct": obj is not None and self.may_correct(request, obj),
            **(extra_context or {}),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def correct_view(self, request, object_id):
        note = self.get_object(request, unquote(object_id))
        if note is None:
            raise Http404
        if not self.may_correct(request, note):
            raise PermissionDenied
        form = CorrectionForm(request.POST if request.method == "POST" else None)
        if form.is_valid():
            try:
                correct_note(note=note, text=form.cleaned_data["text"], user=request.user)
            except ValidationError as error:
                form.add_error(None, " ".join(error.messages))
            else:
                self.message_user(
                    request,
                    _("La correction est ajoutée au suivi ; l'entrée d'origine reste visible."),
                    messages.SUCCESS,
                )
                return redirect(admin_urlname(Action._meta, "history"), note.action_id)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Corriger une entrée du suivi"),
            "opts": self.opts,
            "note": note,
            "form": form,
            "history_url": reverse(admin_urlname(Action._meta, "history"), args=[note.action_id]),
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "admin/actions/progressnote/correct.html", context)

    @admin.display(description=_("corrige l'entrée"))
    def correction_of(self, note):
        return str(note.corrects) if note.corrects_id else ""

    @admin.display(description=_("corrigée par"))
    def corrected_by(self, note):
        corrections = note.corrections.all()
        return format_html_join("", "<p>{}</p>", ((str(c),) for c in corrections)) or _(
            "(pas de correction)"
        )
