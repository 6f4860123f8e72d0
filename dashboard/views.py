from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext, ngettext

from access.coalitions import get_readable, get_readable_plan, reader
from actions.models import Action, Target
from dashboard.access import dashboard_view
from dashboard.changes import count_by_kind, default_since, group_by_action
from dashboard.forms import ActionFilterForm, SinceForm, WorkbookForm
from dashboard.progress import Rollup, by_plan, outline, progress_rule
from partners.models import ActionPartner, Organisation
from partners.timeline import action_timeline, plan_changes
from plans.models import Assembly, Coalition, Theme


def partner_links():
    return Prefetch("partner_links", ActionPartner.objects.select_related("organisation"))


def across_plans(actions):
    """Actions of several plans, plan by plan in code order, ready for by_plan()."""
    return (
        actions.with_progress()
        .with_late()
        .select_related("plan__coalition")
        .prefetch_related("periods")  # a postponed action says its new periods
        .order_by("plan__coalition__name", "-plan__start", "sort_key")
    )


def last_assemblies(coalition_ids, today):
    """{coalition id: its latest assembly held by `today`}, in one query."""
    latest = {}
    for assembly in Assembly.objects.filter(coalition__in=coalition_ids, date__lte=today):
        latest.setdefault(assembly.coalition_id, assembly)  # newest first
    return latest


@dashboard_view
def home(request):
    visible = reader(request).coalition_ids
    coalitions = Coalition.objects.filter(pk__in=visible).prefetch_related("plans")
    rows = reader(request).readable(Action.objects.all()).summary("plan_id")
    return render(
        request,
        "dashboard/home.html",
        {
            "coalitions": coalitions,
            "rollups": {row["plan_id"]: Rollup.from_summary(row) for row in rows},
            "assemblies": last_assemblies(visible, timezone.localdate()),
            "my_organisations": reader(request).organisations,
        },
    )


@dashboard_view
def plan_detail(request, slug):
    plan, can_change = get_readable_plan(request, slug)
    periods = list(plan.periods.all())
    objectives = list(plan.objectives.prefetch_related("sub_objectives"))
    organisations = list(Organisation.objects.filter(action_links__action__plan=plan).distinct())
    form = ActionFilterForm(
        request.GET or None,
        periods=periods,
        objectives=objectives,
        organisations=organisations,
        themes=Theme.objects.all(),
    )
    actions = form.filter(plan.actions.with_progress().with_late().order_by("sort_key"))
    # What the table shows: the means and the partners as typed are for the action's page.
    actions = actions.only(
        "plan",
        "sub_objective",
        "code",
        "title",
        "status",
        "awaiting_date",
        "completion",
        "carrier_to_be_found",
    )
    # As lists (to_attr): the table reads them once per row, and a prefetched manager's
    # .all() clones a QuerySet each time.
    actions = list(
        actions.prefetch_related(
            Prefetch("periods", to_attr="scheduled_periods"),
            Prefetch(
                "partner_links",
                ActionPartner.objects.select_related("organisation"),
                to_attr="partners",
            ),
        )
    )
    today = timezone.localdate()
    assembly = last_assemblies([plan.coalition_id], today).get(plan.coalition_id)
    return render(
        request,
        "dashboard/plan.html",
        {
            "plan": plan,
            "can_change": can_change,
            "form": form,
            "periods": periods,
            "current_periods": [p for p in periods if p.is_current(today)],
            "sections": outline(objectives, actions, keep_empty=not form.is_filtered),
            "shown": len(actions),
            "summary": Rollup.from_summary(plan.actions.summary()[0]),
            "assembly": assembly,
            "workbook_form": WorkbookForm(
                initial={"since": default_since([assembly] if assembly else [], today)[0]},
                auto_id="workbook-%s",
            ),
            "reviews": plan.reviews.select_related("presented_at").prefetch_related(
                "meetings", "funding", "staff", "items"
            ),
            # "What my organisation carries" only where it carries something.
            "my_organisations": reader(request).organisations & set(organisations),
        },
    )


@dashboard_view
def action_detail(request, slug, code):
    action, can_change = get_readable(
        request,
        Action.objects.with_progress()
        .with_late()
        .select_related("plan__coalition", "sub_objective__objective"),
        plan__slug=slug,
        code=code,
    )
    targets = action.targets.prefetch_related("values")
    return render(
        request,
        "dashboard/action.html",
        {
            "action": action,
            "plan": action.plan,
            "can_change": can_change,
            "periods": action.plan.periods.all(),
            "scheduled": set(action.periods.values_list("pk", flat=True)),
            "targets": [(target, target_reading(target)) for target in targets],
            "partner_links": action.partner_links.select_related("organisation"),
            "related_actions": action.related_actions.select_related("plan"),
            "themes": action.themes.all(),
            "timeline": action_timeline(action),
        },
    )


def target_reading(target):
    """(latest value or None, percent of the target or None) from prefetched values."""
    values = list(target.values.all())  # newest first
    latest = values[0] if values else None
    if target.kind != Target.Kind.COUNT or latest is None or not target.target_value:
        return latest, None
    return latest, min(100, round(100 * latest.value / target.target_value))


@dashboard_view
def organisation_detail(request, pk):
    organisation, can_change = get_readable(
        request,
        Organisation.objects.all(),
        pk=pk,
    )
    links = {
        link.action_id: link for link in reader(request).readable(organisation.action_links.all())
    }
    actions = list(across_plans(Action.objects.filter(pk__in=links)))
    for action in actions:
        action.link = links[action.pk]
    return render(
        request,
        "dashboard/organisation.html",
        {
            "organisation": organisation,
            "can_change": can_change,
            "summary": Rollup.of(actions),
            "plans": by_plan(actions),
            "roles": describe_roles(links.values()),
            "roles_known": any(
                link.role != ActionPartner.Role.NOT_SPECIFIED
                or link.confirmation != ActionPartner.Confirmation.NOT_SPECIFIED
                for link in links.values()
            ),
        },
    )


def describe_roles(links):
    """An organisation's part as a person says it ("Porteur de 3 actions, partenaire de 5"),
    or "" when no role is known: the page then counts its actions without naming a role."""
    counts = dict.fromkeys(ActionPartner.Role, 0)
    for link in links:
        counts[link.role] += 1
    carrier = counts[ActionPartner.Role.CARRIER]
    partner = counts[ActionPartner.Role.PARTNER]
    unknown = counts[ActionPartner.Role.NOT_SPECIFIED]
    if not carrier and not partner:
        return ""
    parts = []
    if carrier:
        parts.append(
            ngettext("porteur de %(count)d action", "porteur de %(count)d actions", carrier)
            % {"count": carrier}
        )
    if partner and carrier:
        parts.append(gettext("partenaire de %(count)d") % {"count": partner})
    elif partner:
        parts.append(
            ngettext("partenaire de %(count)d action", "partenaire de %(count)d actions", partner)
            % {"count": partner}
        )
    if unknown:
        parts.append(
            ngettext(
                "sans rôle précisé dans %(count)d autre",
                "sans rôle précisé dans %(count)d autres",
                unknown,
            )
            % {"count": unknown}
        )
    return capfirst(", ".join(parts))


@dashboard_view
def theme_list(request):
    rows = reader(request).readable(Action.objects.all()).summary("themes")
    rollups = {row["themes"]: Rollup.from_summary(row) for row in rows}
    themes = [(theme, rollups.get(theme.pk, Rollup())) for theme in Theme.objects.all()]
    return render(
        request,
        "dashboard/theme_list.html",
        {"themes": themes, "untagged": rollups.get(None, Rollup()), "rule": progress_rule()},
    )


@dashboard_view
def theme_detail(request, code):
    theme = get_object_or_404(Theme, code=code)
    actions = list(across_plans(reader(request).readable(theme.actions.all())))
    return render(
        request,
        "dashboard/theme.html",
        {
            "theme": theme,
            "summary": Rollup.of(actions),
            "plans": by_plan(actions),
        },
    )


def chosen_since(request, assemblies, today, form_class=SinceForm):
    """(form, date, assembly on that date or None, whether the date is the default) for the
    pages that show changes since a date: ?since= if valid, else the last assembly held, else
    30 days back. `assemblies` are the coalition's, newest first."""
    form = form_class(request.GET or None)
    chosen = form.cleaned_data["since"] if form.is_valid() else None
    since, assembly = default_since(assemblies, today)
    if chosen:
        since = chosen
        assembly = next((a for a in assemblies if a.date == chosen), None)
    if not form.is_bound:
        form = form_class(initial={"since": since})
    return form, since, assembly, chosen is None


@dashboard_view
def plan_changes_view(request, slug):
    plan, can_change = get_readable_plan(request, slug)
    today = timezone.localdate()
    assemblies = list(plan.coalition.assemblies.all())
    form, since, assembly, default_used = chosen_since(request, assemblies, today)
    changes = plan_changes(plan, since)
    return render(
        request,
        "dashboard/changes.html",
        {
            "plan": plan,
            "can_change": can_change,
            "form": form,
            "since": since,
            "assembly": assembly,
            "assemblies": [a for a in assemblies if a.date <= today],
            "default_used": default_used,
            "groups": group_by_action(changes),
            "counts": count_by_kind(changes),
            "total": len(changes),
        },
    )
