from django.db.models import Prefetch
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from access.coalitions import get_readable_plan
from actions.models import Action, ProgressNote
from dashboard.access import dashboard_view
from dashboard.changes import count_by_kind, group_by_action
from dashboard.forms import WorkbookForm
from dashboard.progress import Rollup, outline
from dashboard.views import chosen_since, partner_links
from partners.timeline import plan_changes
from plans import formats
from reports import pdf, workbook


@dashboard_view
def plan_workbook(request, slug):
    plan, _can_change = get_readable_plan(request, slug)
    today = timezone.localdate()
    assemblies = list(plan.coalition.assemblies.all())
    form, since, _assembly, _default = chosen_since(request, assemblies, today, WorkbookForm)
    language = form.language_or("fr")
    # Streamed: the first bytes leave while the rows are still being read and written, so
    # a large plan neither waits past a proxy's timeout nor sits whole in memory.
    response = StreamingHttpResponse(
        workbook.chunks(plan, since=since, language=language, today=today),
        content_type=workbook.CONTENT_TYPE,
    )
    name = workbook.filename(plan, today, language)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def assembly_context(request, plan, can_change):
    today = timezone.localdate()
    assemblies = list(plan.coalition.assemblies.all())
    form, since, assembly, _default = chosen_since(request, assemblies, today, WorkbookForm)
    actions = list(
        plan.actions.with_progress()
        .with_late(today)
        .order_by("sort_key")
        .prefetch_related(partner_links(), reasons())
    )
    objectives = list(plan.objectives.prefetch_related("sub_objectives"))
    changes = plan_changes(plan, since)
    return {
        "plan": plan,
        "can_change": can_change,
        "form": form,
        "today": today,
        "since": since,
        "assembly": assembly,
        # The soonest one to come: the list is newest first.
        "next_assembly": next((a for a in reversed(assemblies) if a.date > today), None),
        "summary": Rollup.of(actions),
        "sections": outline(objectives, actions, keep_empty=True),
        "late_actions": [action for action in actions if action.is_late],
        # Late and postponed side by side, each with why it slipped, where the assembly
        # reads it (not only in the trail of changes at the end).
        "slipping": [
            with_reason(action)
            for action in actions
            if action.is_late or action.status == Action.Status.POSTPONED
        ],
        "postponed_count": sum(a.status == Action.Status.POSTPONED for a in actions),
        "reviews": plan.reviews.select_related("presented_at").prefetch_related(
            "meetings", "funding", "staff", "items"
        ),
        "groups": group_by_action(changes),
        "counts": count_by_kind(changes),
        "total": len(changes),
    }


def reasons():
    """The status changes that gave a reason, newest first: one query for every action."""
    return Prefetch(
        "notes",
        queryset=ProgressNote.objects.filter(kind=ProgressNote.Kind.STATUS_CHANGE)
        .exclude(reason="")
        .order_by("-date", "-created_at", "-pk"),
        to_attr="reasoned_changes",
    )


def with_reason(action):
    action.reason = action.reasoned_changes[0] if action.reasoned_changes else None
    return action


@dashboard_view
def assembly_report(request, slug):
    plan, can_change = get_readable_plan(request, slug)
    return render(request, "reports/assembly.html", assembly_context(request, plan, can_change))


@dashboard_view
def assembly_report_pdf(request, slug):
    plan, can_change = get_readable_plan(request, slug)
    context = {**assembly_context(request, plan, can_change), "as_pdf": True}
    try:
        document = pdf.render(request, "reports/assembly.html", context)
    except pdf.Unavailable:
        return HttpResponse(
            _(
                "Le PDF ne peut pas être produit sur ce serveur (la bibliothèque Pango manque). "
                "Imprimez la page du rapport en PDF avec votre navigateur."
            ),
            status=503,
            content_type="text/plain; charset=utf-8",
        )
    response = HttpResponse(document, content_type="application/pdf")
    name = f"{plan.slug}-rapport-{formats.iso_day(context['today'])}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
