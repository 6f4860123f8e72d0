from django.contrib import admin
from django.db.models import Count
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _

from partners.models import ActionPartner, Organisation
from partners.resources import OrganisationResource
from plans.admin import PlanDataAdmin, PlanDataImportExportAdmin, PlanDataInline


def legend_chip(link, short=False):
    """The partner's name in its legend colour, with the colour and status in words too."""
    organisation = link.organisation
    name = (organisation.short_name or organisation.name) if short else organisation.name
    return format_html(
        '<span class="partner-chip confirmation-{}" title="{} ({})">'
        '<span class="swatch" aria-hidden="true"></span><span class="partner-name">{}</span>'
        '<span class="visually-hidden"> ({})</span></span>',
        link.confirmation,
        link.get_confirmation_display(),
        link.colour_name,
        name,
        link.get_confirmation_display(),
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

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(action_count=Count("action_links"))

    @admin.display(description=_("actions"), ordering="action_count")
    def action_count(self, organisation):
        return organisation.action_count


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
