import html
from decimal import Decimal
from functools import lru_cache

from django import template
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.formats import localize
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, gettext, pgettext

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


# The pieces every member page repeats per row: Python rather than an {% include %} each (an
# include costs a template render, a context push and its variable lookups, 50 to 100 times a
# page), one implementation each; the includes of the same names call them. Their HTML is
# written with f-strings and `escape` (the standard library's html.escape, as Django's own
# `escape` is): format_html's escaping of every argument, safe or not, was half their time.


def escape(text):
    """What django.utils.html.escape returns, without its handling of lazy arguments."""
    return html.escape(str(text))


@lru_cache(maxsize=64)
def choice_labels(choices, language):
    """{value: label} of a TextChoices class in `language`: get_FOO_display() rebuilds a dict
    of lazy labels on every call. Keyed on the language, as labels do not change otherwise."""
    return {choice.value: str(choice.label) for choice in choices}


def label(choices, value):
    return choice_labels(choices, get_language())[value]


@lru_cache(maxsize=8192)
def _cached_url(prefix, urlconf, name, args):
    return reverse(name, args=args, urlconf=urlconf)


def url(name, *args):
    """reverse(), remembered: the same name and arguments under the same script prefix and
    URL configuration always give the same path."""
    return _cached_url(get_script_prefix(), get_urlconf(), name, args)


@register.simple_tag
def status_badge(status, label):
    return mark_safe(
        f'<span class="status-badge status-{escape(status)}">{conditional_escape(label)}</span>'
    )


@register.simple_tag
def postponed_note(action):
    """Beside a postponed action's badge: when it will now happen, or that it waits for a
    date. Reads the periods the page prefetched (`scheduled_periods`, else `periods`)."""
    if action.status != "postponed":
        return ""
    if action.awaiting_date:
        said = gettext("en attente d'une nouvelle date")
    else:
        periods = getattr(action, "scheduled_periods", None)
        if periods is None:
            periods = action.periods.all()
        said = gettext("prévue en %(periods)s") % {
            "periods": ", ".join(period.label for period in periods)
        }
    return format_html('<span class="postponed-note">— {}</span>', said)


@register.simple_tag
def late_badge():
    return format_html(
        '<span class="late-badge" title="{}">{}</span>',
        gettext("Sa dernière période prévue est terminée."),
        gettext("En retard"),
    )


@register.simple_tag
def progress_bar(value, estimated=False):
    """A progress bar and its figure; an `estimated` one (implied by the status, nobody
    reported it) reads "≈ 50 %" and says so to screen readers."""
    if value is None:
        return format_html('<span class="progress-none">{}</span>', gettext("sans avancement"))
    value = localize(value)
    figure = pgettext("percent", "%(value)s\u00a0%%") % {"value": conditional_escape(value)}
    css, title = "progress", ""
    if estimated:
        said = escape(gettext("estimé d'après le statut"))
        css, title = "progress estimated", f' title="{said}"'
        figure = (
            f'<span aria-hidden="true">≈&nbsp;</span>{figure}'
            f'<span class="visually-hidden"> ({said})</span>'
        )
    return format_html(
        '<span class="{}"{}><svg class="progress-bar" viewBox="0 0 100 10"'
        ' preserveAspectRatio="none" aria-hidden="true" focusable="false"><rect class="track"'
        ' fill="#d8dee4" width="100" height="10" rx="2" /><rect class="fill" fill="{}"'
        ' width="{}" height="10" rx="2" /></svg><span class="progress-value">{}</span></span>',
        css,
        mark_safe(title),
        status_colour("done"),
        value,
        mark_safe(figure),
    )


@lru_cache(maxsize=256)
def chip_parts(confirmation, role, language):
    """A partner chip's HTML around its address and name, for one confirmation and role in
    one language: (before the address, between address and name, after the name)."""
    from partners.models import ActionPartner

    said = escape(label(ActionPartner.Confirmation, confirmation))
    colour = escape(ActionPartner.LEGEND[confirmation][1])
    role_html = ""
    if role != ActionPartner.Role.NOT_SPECIFIED:
        role_html = (
            f' <small class="role">({escape(label(ActionPartner.Role, role).lower())})</small>'
        )
    return (
        f'<a class="partner-chip confirmation-{escape(confirmation)}" href="',
        f'" title="{said} ({colour})"><span class="swatch" aria-hidden="true"></span>'
        f'<span class="partner-name"{plan_lang()}>',
        f'</span>{role_html}<span class="visually-hidden"> – {said}</span></a>',
    )


@register.simple_tag
def partner_chip(link, short=False):
    """A partner link as its chip: the organisation's name in the colour of its confirmation,
    its role, and the confirmation spelled out for screen readers."""
    organisation = link.organisation
    name = organisation.short_name if short and organisation.short_name else organisation.name
    before, between, after = chip_parts(link.confirmation, link.role, get_language())
    address = escape(url("dashboard:organisation", link.organisation_id))
    return mark_safe(f"{before}{address}{between}{escape(name)}{after}")


@register.simple_tag(takes_context=True)
def edit_link(context, url, what):
    if not context.get("can_change"):
        return ""
    return format_html(
        '<a class="edit-link" href="{}">{}<span class="visually-hidden"> {}</span></a>',
        url,
        gettext("Modifier"),
        what,
    )


@register.simple_tag
def action_state(action, badge=None, late=None):
    """An action's status as every list shows it: its badge, when a postponed action now
    happens, and "En retard" when it is late. `badge` and `late`, already drawn, save a
    table from drawing the same ones again on every row."""
    from actions.models import Action

    parts = [badge or status_badge(action.status, label(Action.Status, action.status))]
    if note := postponed_note(action):
        parts.append(note)
    if action.is_late:
        parts.append(late or late_badge())
    return mark_safe(" ".join(parts))


class ActionRows:
    """What every row of a plan's table shares, worked out once per page."""

    def __init__(self, context):
        from actions.models import Action

        self.slug = context["plan"].slug
        self.lang = plan_lang()
        current = context["current_periods"]
        # Rows repeat the same badges and bars: each is built once per page.
        self.badges = {
            status: status_badge(status, label)
            for status, label in choice_labels(Action.Status, get_language()).items()
        }
        self.bars = {}
        self.late = late_badge()
        self.to_find = format_html('<span class="to-find">{}</span>', gettext("Porteur à trouver"))
        self.periods = []  # (pk, cell when scheduled, cell when not)
        for period in context["periods"]:
            css = "schedule current" if period in current else "schedule"
            said = gettext("prévue en %(period)s") % {"period": escape(period.label)}
            self.periods.append(
                (
                    period.pk,
                    f'<td class="{css}"><span aria-hidden="true">X</span>'
                    f'<span class="visually-hidden">{said}</span></td>',
                    f'<td class="{css}"></td>',
                )
            )

    def bar(self, progress, estimated):
        if (progress, estimated) not in self.bars:
            self.bars[progress, estimated] = progress_bar(progress, estimated)
        return self.bars[progress, estimated]

    def render(self, action):
        address = escape(url("dashboard:action", self.slug, action.code))
        code = escape(action.code)
        # Spaces between the chips, as between words: the line may wrap there.
        chips = [partner_chip(link, short=True) for link in action.partners]
        if action.carrier_to_be_found:
            chips.append(self.to_find)
        scheduled = {period.pk for period in action.scheduled_periods}
        cells = "".join(yes if pk in scheduled else no for pk, yes, no in self.periods)
        late = action.is_late
        bar = self.bar(action.progress, action.progress_estimated)
        return mark_safe(
            f'<tr class="action-row{" is-late" if late else ""}"><th scope="row" class="code">'
            f'<a href="{address}">{code}</a></th><td class="title"{self.lang}>'
            f'<a href="{address}">{escape(action.title)}</a></td><td class="status">'
            f"{action_state(action, self.badges[action.status], self.late)}</td>"
            f'<td class="progress-cell">{bar}</td>'
            f'<td class="partners">{" ".join(chips)}</td>{cells}</tr>'
        )


@register.simple_tag(takes_context=True)
def action_row(context, action):
    """One action's row of the plan's table (code, title, status, progress, partners, one
    cell per period), from an action with `scheduled_periods` and `partners` prefetched."""
    rows = context.render_context.get(ActionRows)
    if rows is None:
        rows = context.render_context[ActionRows] = ActionRows(context)
    return rows.render(action)
