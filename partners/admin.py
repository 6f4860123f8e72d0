from urllib.parse import urlsplit

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.templatetags.admin_urls import admin_urlname
from django.contrib.admin.utils import unquote
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Prefetch
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.text import Truncator
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from access.coalitions import coalition_ids, scoped
from actions.admin import ActionAdmin as ActionOnlyAdmin
from actions.admin import (
    ActionChangeList,
    LateFilter,
    PlanScopedFilter,
    RowsDrawnOnce,
    row_status_badge,
    status_badge,
)
from actions.models import Action, ProgressNote, Target
from backoffice.admin import PlanDataAdmin, PlanDataInline, retried_once
from backoffice.versions import VersionedInlineFormSet
from imports.admin import PlanDataImportExportAdmin
from imports.partner_resources import OrganisationResource
from partners.forms import ActionUpdateForm
from partners.models import ActionPartner, Organisation
from partners.services import merge_organisations, update_action
from plans.versions import READ_FIRST, StaleVersion, latest_records, who_and_when

# The update page shows the last entries of the action's trail, to write after them.
TRAIL_SHOWN = 5


def legend_words():
    """{confirmation: (its label, its colour's name)} in the current language, once for a
    page that draws many chips: get_confirmation_display() rebuilds the field's whole map of
    choices per call, and each lazy word is translated again where it is written."""
    return {
        value: (str(label), str(ActionPartner.LEGEND[value][1]))
        for value, label in ActionPartner.Confirmation.choices
    }


def legend_chip(link, short=False, words=None):
    """The partner's name in its legend colour, with the colour and status in words too."""
    organisation = link.organisation
    name = (organisation.short_name or organisation.name) if short else organisation.name
    label, colour_name = (words or legend_words()).get(
        link.confirmation, (link.confirmation, link.colour_name)
    )
    return format_html(
        '<span class="partner-chip confirmation-{}" title="{} ({})">'
        '<span class="swatch" aria-hidden="true"></span><span class="partner-name">{}</span>'
        '<span class="visually-hidden"> ({})</span></span>',
        link.confirmation,
        label,
        colour_name,
        name,
        label,
    )


class OrganisationLinkInline(PlanDataInline):
    model = ActionPartner
    fk_name = "organisation"
    extra = 0
    autocomplete_fields = ["action"]
    fields = ["action", "role", "confirmation", "label_in_source", "last_contact", "note"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("action")


@admin.register(Organisation)
class OrganisationAdmin(PlanDataImportExportAdmin):
    resource_classes = [OrganisationResource]
    list_display = ["name", "short_name", "kind", "coalition", "action_count"]
    list_filter = ["kind", ("coalition", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["coalition"]
    search_fields = ["name", "short_name", "notes"]
    inlines = [OrganisationLinkInline]
    actions = ["merge_action"]

    def get_queryset(self, request):
        # The count groups the rows, which drops Meta.ordering: named again, so that the
        # autocomplete's pages (paginated) come in a stable order.
        return (
            super()
            .get_queryset(request)
            .annotate(action_count=Count("action_links"))
            .order_by(*Organisation._meta.ordering, "pk")
        )

    @admin.display(description=_("actions"), ordering="action_count")
    def action_count(self, organisation):
        return organisation.action_count

    @admin.action(
        description=_("Fusionner les organisations choisies"), permissions=["change", "delete"]
    )
    def merge_action(self, request, queryset):
        """An intermediate page: which one is kept, under which name; then the merge."""
        organisations = list(
            Organisation.objects.filter(pk__in=queryset.values("pk"))
            .select_related("coalition")
            .annotate(
                links=Count("action_links", distinct=True),
                seats=Count("memberships", distinct=True),
            )
            .order_by("-links", "name")
        )
        if len(organisations) < 2:
            self.message_user(
                request,
                _("Choisissez au moins deux organisations à fusionner."),
                messages.WARNING,
            )
            return None
        form = MergeForm(
            request.POST if "apply" in request.POST else None,
            organisations=organisations,
        )
        if form.is_valid():
            keep = form.cleaned_data["keep"]
            try:
                summary = merge_organisations(
                    keep=keep,
                    others=[o for o in organisations if o.pk != keep.pk],
                    user=request.user,
                    name=form.cleaned_data["name"],
                    coalitions=coalition_ids(request.user),
                )
            except ValidationError as error:
                self.message_user(request, " ".join(error.messages), messages.ERROR)
            else:
                self.message_user(request, merge_message(summary), messages.SUCCESS)
                return None
        context = {
            **self.admin_site.each_context(request),
            "title": _("Fusionner des organisations"),
            "opts": self.opts,
            "form": form,
            "organisations": organisations,
            "chosen": str(form["keep"].value()),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/partners/organisation/merge.html", context)


class MergeForm(forms.Form):
    keep = forms.TypedChoiceField(
        label=_("Organisation gardée"),
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Choisissez l'organisation à garder."),
            "invalid_choice": _("Choisissez l'organisation à garder parmi celles de la liste."),
        },
    )
    name = forms.CharField(
        label=_("Son nom après la fusion"),
        required=False,
        max_length=200,
        help_text=_("Laissez vide pour garder son nom actuel."),
        error_messages={"max_length": _("Ce nom est trop long : 200 caractères au plus.")},
    )

    def __init__(self, *args, organisations, **kwargs):
        super().__init__(*args, **kwargs)
        self.organisations = {o.pk: o for o in organisations}
        self.fields["keep"].choices = [(o.pk, o.name) for o in organisations]
        # The one with the most links, as listed first.
        self.fields["keep"].initial = organisations[0].pk

    def clean_keep(self):
        return self.organisations[self.cleaned_data["keep"]]


def merge_message(summary):
    message = ngettext(
        "%(count)d organisation fusionnée dans « %(kept)s » : %(names)s.",
        "%(count)d organisations fusionnées dans « %(kept)s » : %(names)s.",
        len(summary.deleted),
    ) % {
        "count": len(summary.deleted),
        "kept": summary.kept,
        "names": ", ".join(summary.deleted),
    }
    if summary.renamed_from:
        message += " " + _("« %(old)s » s'appelle maintenant « %(new)s ».") % {
            "old": summary.renamed_from,
            "new": summary.kept,
        }
    message += " " + ngettext(
        "%(count)d lien à une action déplacé",
        "%(count)d liens à des actions déplacés",
        summary.moved_links,
    ) % {"count": summary.moved_links}
    if summary.merged_links:
        message += ", " + ngettext(
            "%(count)d lien en double réuni avec celui de l'organisation gardée",
            "%(count)d liens en double réunis avec ceux de l'organisation gardée",
            summary.merged_links,
        ) % {"count": summary.merged_links}
    return message + ". " + str(_("La corbeille des organisations peut les restaurer."))


@admin.register(ActionPartner)
class ActionPartnerAdmin(PlanDataAdmin):
    """Every link in one list, so the coordinator can set the legend colours in bulk."""

    list_display = ["legend", "action_short", "role", "confirmation", "last_contact"]
    list_display_links = ["legend"]
    list_editable = ["role", "confirmation", "last_contact"]
    list_filter = [
        "confirmation",
        "role",
        ("action__plan", admin.RelatedOnlyFieldListFilter),
        "organisation__kind",
    ]
    list_select_related = ["organisation", "action__plan__coalition"]
    search_fields = ["organisation__name", "organisation__short_name", "action__code"]
    autocomplete_fields = ["action", "organisation"]

    @admin.display(description=_("action"), ordering="action__sort_key")
    def action_short(self, link):
        action = link.action
        return f"{action.plan.coalition} {action.code} {Truncator(action.title).chars(40)}"

    @admin.display(description=_("organisation"), ordering="organisation__name")
    def legend(self, link):
        return legend_chip(link)


class OrganisationFilter(PlanScopedFilter):
    """The organisations of the plan picked in the plan filter, or of every plan: the
    organisations of every coalition of a region would make a list of thousands."""

    title = _("organisation")
    parameter_name = "organisation"

    def lookups(self, request, model_admin):
        # Organisations linked to the person's own actions: a shared organisation's other
        # coalitions are none of her business.
        links = scoped(request.user, ActionPartner.objects.all())
        if plan_id := self.chosen_plan(request):
            links = links.filter(action__plan_id=plan_id)
        organisations = Organisation.objects.filter(pk__in=links.values("organisation"))
        return [(o.pk, o.name) for o in organisations.only("name")]

    def queryset(self, request, queryset):
        if self.value():
            # A subquery: a join would repeat an action once per matching link.
            linked = Action.objects.filter(partner_links__organisation=self.value())
            return queryset.filter(pk__in=linked.values("pk"))
        return queryset


class ChosenAutocompleteSelect(AutocompleteSelect):
    """Renders its chosen organisation from `chosen`, filled once for the whole formset;
    Django's widget would run one query per row to find the label."""

    chosen = None

    def optgroups(self, name, value, attr=None):
        if self.chosen is None:
            return super().optgroups(name, value, attr)
        options = [] if self.is_required else [self.create_option(name, "", "", False, 0)]
        for pk in value:
            organisation = self.chosen.get(str(pk))
            if organisation is not None:
                label = self.choices.field.label_from_instance(organisation)
                options.append(self.create_option(name, pk, label, True, len(options)))
        return [(None, options, 0)]


class PartnerFormSet(VersionedInlineFormSet):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        chosen = {str(link.organisation_id): link.organisation for link in self.get_queryset()}
        for form in self.forms:
            form.fields["organisation"].widget.widget.chosen = chosen


class PartnerInline(PlanDataInline):
    model = ActionPartner
    formset = PartnerFormSet
    extra = 1
    fields = [
        "organisation",
        "role",
        "confirmation",
        "legend",
        "label_in_source",
        "last_contact",
        "note",
        "order",
    ]
    readonly_fields = ["legend"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("organisation")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "organisation":
            kwargs["widget"] = ChosenAutocompleteSelect(db_field, self.admin_site)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description=_("légende"))
    def legend(self, link):
        return legend_chip(link) if link.pk else ""


class RowsWithLegend(RowsDrawnOnce):
    """The list's rows, each also with the legend's words, translated once for the page."""

    def __iter__(self):
        words = legend_words()
        for action in super().__iter__():
            action.legend_words = words
            yield action


class ActionChangeListWithPartners(ActionChangeList):
    def apply_select_related(self, qs):
        links = ActionPartner.objects.select_related("organisation")
        return (
            super()
            .apply_select_related(qs)
            .prefetch_related(Prefetch("partner_links", queryset=links))
        )

    rows_iterable = RowsWithLegend


@admin.register(Action)
class ActionAdmin(ActionOnlyAdmin):
    """The action's page and list with who carries it: its partner links inline, a carriers
    column with the legend's colours, and a filter by organisation."""

    change_list_template = "admin/actions/action/change_list_with_legend.html"
    list_display = [*ActionOnlyAdmin.list_display[:-1], "carriers", "is_late"]
    list_filter = [
        *ActionOnlyAdmin.list_filter[: ActionOnlyAdmin.list_filter.index(LateFilter)],
        OrganisationFilter,
        *ActionOnlyAdmin.list_filter[ActionOnlyAdmin.list_filter.index(LateFilter) :],
    ]
    inlines = [PartnerInline, *ActionOnlyAdmin.inlines]
    change_form_template = "admin/actions/action/change_form_with_update.html"

    def get_changelist(self, request, **kwargs):
        return ActionChangeListWithPartners

    def get_list_display(self, request):
        shown = super().get_list_display(request)
        if not self.has_change_permission(request):
            return shown
        # One click from each row to its update page, in the status's own cell: a column of
        # its own would push "en retard" out of view at 1366 px.
        return [("status_and_update" if name == "status_badge" else name) for name in shown]

    @admin.display(description=_("statut"), ordering="status")
    def status_and_update(self, action):
        return format_html(
            '{}<br><a class="update-link" href="{}">{}'
            '<span class="visually-hidden"> {}</span></a>',
            row_status_badge(action),
            reverse("admin:actions_action_update", args=[action.pk]),
            _("Mettre à jour"),
            action.code,
        )

    def current_status(self, action):
        shown = super().current_status(action)
        return format_html(
            '{} <a class="button update-link" href="{}">{}</a>',
            shown,
            reverse("admin:actions_action_update", args=[action.pk]),
            _("Mettre à jour"),
        )

    current_status.short_description = ActionOnlyAdmin.current_status.short_description

    # --- The update page: status, note, values, deliverables and confirmations at once ---

    def get_urls(self):
        return [
            path(
                "<path:object_id>/mettre-a-jour/",
                self.admin_site.admin_view(self.update_view),
                name=admin_urlname(self.opts, "update").removeprefix("admin:"),
            ),
            *super().get_urls(),
        ]

    def update_page_data(self, request, object_id):
        """The action and its rows, each version read before what it versions (so that a
        save committed in between is seen as newer: plans/versions.py)."""
        action = self.get_object(request, unquote(object_id))
        if action is None:
            raise Http404
        if not self.has_change_permission(request, action):
            raise PermissionDenied
        target_rows = Target.objects.filter(action=action)
        link_rows = ActionPartner.objects.filter(action=action)
        versions = {"action": getattr(action, READ_FIRST, None)}
        target_versions = latest_records(Target, target_rows)
        link_versions = latest_records(ActionPartner, link_rows)
        targets = list(target_rows.prefetch_related("values"))
        links = list(link_rows.select_related("organisation"))
        for link in links:
            link.chip = legend_chip(link)  # a span: the page's own link colour hides the legend
        versions.update({f"target-{t.pk}": target_versions.get(t.pk) for t in targets})
        versions.update({f"link-{link.pk}": link_versions.get(link.pk) for link in links})
        return {"action": action, "targets": targets, "links": links, "versions": versions}

    def update_view(self, request, object_id):
        rows = self.update_page_data(request, object_id)
        back = self.update_return_url(request)
        form = ActionUpdateForm(request.POST if request.method == "POST" else None, **rows)
        if request.method == "POST" and form.is_valid():
            saved, rows, form = self.save_update(request, object_id, rows, form)
            if saved:
                # The members' pages show no messages: there, the page itself shows it.
                if urlsplit(back).path.startswith(reverse("admin:index")):
                    message = gettext("L'action %(code)s est mise à jour.")
                    self.message_user(
                        request, message % {"code": rows["action"].code}, messages.SUCCESS
                    )
                return redirect(back)
        return self.render_update(request, rows, form, back)

    def save_update(self, request, object_id, rows, form):
        """(whether it was saved, the page's rows, its form): refused, nothing was written,
        and the form says why; refused for a colleague's save, the page comes back with the
        action as it is now and what she typed, to check and save again."""
        try:
            retried_once(
                lambda: update_action(
                    action=rows["action"], user=request.user, **form.update_arguments()
                )
            )
        except StaleVersion as error:
            self.message_user(request, update_refusal(error), messages.ERROR)
            if error.latest is not None and error.latest.history_type == "-":
                return False, rows, form  # deleted: what she typed stays, as typed
            rows = self.update_page_data(request, object_id)
            return (
                False,
                rows,
                ActionUpdateForm(form.carried_into(ActionUpdateForm(**rows)), **rows),
            )
        except ValidationError as error:
            form.add_service_errors(error)
            return False, rows, form
        return True, rows, form

    def render_update(self, request, rows, form, back):
        action = rows["action"]
        trail = ProgressNote.objects.filter(action=action).select_related("author")
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Mettre à jour l'action %(code)s") % {"code": action.code},
            "subtitle": action.title,
            "opts": self.opts,
            "original": action,
            "action": action,
            # The badge's template ends with a line break: none inside the sentence.
            "status_label": mark_safe(status_badge(action.status).strip()),
            "form": form,
            "trail": trail[:TRAIL_SHOWN],
            "back": back,
            "change_url": reverse(admin_urlname(self.opts, "change"), args=[action.pk]),
            "reasons_needed": " ".join(Action.STATUSES_NEEDING_REASON),
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "admin/actions/action/update.html", context)

    def update_return_url(self, request):
        """Where the page goes back to: the page she came from (?next=, this site's), the
        action list as she left it (filtered, sorted), or the action list."""
        changelist = reverse(admin_urlname(self.opts, "changelist"))
        candidates = [request.POST.get("next"), request.GET.get("next")]
        referer = request.META.get("HTTP_REFERER", "")
        if request.method == "GET" and urlsplit(referer).path == changelist:
            candidates.append(referer)
        for target in filter(None, candidates):
            if url_has_allowed_host_and_scheme(
                target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
            ):
                return target
        return changelist

    def changelist_view(self, request, extra_context=None):
        extra_context = {"partner_legend": ActionPartner.legend_entries(), **(extra_context or {})}
        return super().changelist_view(request, extra_context)

    @admin.display(description=_("porteurs et partenaires"))
    def carriers(self, action):
        links = action.partner_links.all()
        words = getattr(action, "legend_words", None)  # the list's (RowsWithLegend)
        chips = format_html_join(
            " ", "{}", ((legend_chip(link, short=True, words=words),) for link in links)
        )
        if action.carrier_to_be_found:
            chips = format_html('{} <span class="to-find">{}</span>', chips, _("? à trouver"))
        return format_html('<div class="chips">{}</div>', chips) if chips else "—"


def update_refusal(error):
    """Why the update wrote nothing; for a colleague's save, what to do now that the page
    shows the action as it is."""
    latest = getattr(error, "latest", None)
    if latest is None or latest.history_type == "-":
        return " ".join(error.messages)
    who, when = who_and_when(latest)
    return gettext(
        "%(who)s a enregistré « %(object)s » le %(when)s, après l'affichage de cette page "
        "(%(changes)s). Rien n'a été enregistré : la page montre maintenant l'action telle "
        "qu'elle est, avec ce que vous avez tapé ; vérifiez, puis enregistrez de nouveau."
    ) % {
        "who": who,
        "object": error.instance,
        "when": when,
        "changes": "; ".join(error.changes) or gettext("d'autres champs"),
    }
