from decimal import Decimal

from django import template
from django.utils.html import format_html
from django.utils.translation import get_language

from plans import formats

register = template.Library()


# The formats live in plans.formats, which the workbook and the list of changes share.
register.filter("money", formats.money)
register.filter("number", formats.number)
# Dates spelled out as in running text (1er avril 2016); local time like Django's `date`.
register.filter("day", formats.day, expects_localtime=True)
register.filter("moment", formats.moment, expects_localtime=True)


@register.simple_tag(takes_context=True)
def query_with(context, **changes):
    """The current query string with some parameters replaced, for links that keep filters."""
    query = context["request"].GET.copy()
    for name, value in changes.items():
        if value in (None, ""):
            query.pop(name, None)
        else:
            query[name] = value
    return f"?{query.urlencode()}" if query else "?"


@register.inclusion_tag("includes/partner_legend.html")
def partner_legend():
    from partners.models import ActionPartner

    return {"partner_legend": ActionPartner.legend_entries()}


@register.filter
def status_colour(status):
    """A status's colour as an SVG attribute, for renderers without the stylesheet (PDF);
    browsers apply the stylesheet's class over it."""
    from actions.models import Action

    return Action.STATUS_COLOURS[status]


@register.filter
def get_item(mapping, key):
    return mapping.get(key)


@register.filter
def total_amount(funding):
    return sum((line.amount for line in funding), Decimal(0))


@register.filter
def by_kind(items):
    """A review's items as [(kind label, [items])], in the order results, planned, next
    steps, questions."""
    from plans.models import ReviewItem

    groups = {kind: [] for kind in ReviewItem.Kind}
    for item in items:
        groups[item.kind].append(item)
    return [(ReviewItem.Kind(kind).label, found) for kind, found in groups.items() if found]


# The language the coalitions write their plans in (titles, means, notes, organisations' names).
PLAN_LANGUAGE = "fr"


@register.simple_tag
def plan_lang():
    """` lang="fr"` on an element holding plan text when the page is in another language, so
    that a screen reader reads it with a French voice; nothing on a French page."""
    if (get_language() or PLAN_LANGUAGE).split("-")[0] == PLAN_LANGUAGE:
        return ""
    return format_html(' lang="{}"', PLAN_LANGUAGE)
