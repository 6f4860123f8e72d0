"""Roll-ups the pages draw: a plan's outline with each level's progress, status shares, and
the sentences that say them: the counts by status first, then the estimated progress with its
rule (the rule itself is Action.IMPLIED_PROGRESS)."""

from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from django.utils.translation import ngettext, ngettext_lazy, pgettext

from actions.models import Action
from plans import formats

Status = Action.Status

# How a count of actions in each status reads, in the order the counts are said: what was
# done first. French agrees with « actions »: 1 réalisée, 7 réalisées.
STATUS_COUNTS = {
    Status.DONE: ngettext_lazy("%(count)s réalisée", "%(count)s réalisées", "count"),
    Status.IN_PROGRESS: ngettext_lazy("%(count)s en cours", "%(count)s en cours", "count"),
    Status.PLANNED: ngettext_lazy("%(count)s à venir", "%(count)s à venir", "count"),
    Status.POSTPONED: ngettext_lazy("%(count)s reportée", "%(count)s reportées", "count"),
    Status.ABANDONED: ngettext_lazy("%(count)s abandonnée", "%(count)s abandonnées", "count"),
}


def percent(value):
    """38 % in French, 38% in English."""
    return pgettext("percent", "%(value)s\xa0%%") % {"value": value}


def status_sentence(counts, total):
    """« 7 réalisées, 12 en cours, 10 à venir — sur 36 actions »: the counts by status that
    are not zero, then the whole. `counts` maps each status to its count."""
    parts = [
        STATUS_COUNTS[status] % {"count": counts.get(status, 0)}
        for status in STATUS_COUNTS
        if counts.get(status, 0)
    ]
    whole = ngettext(
        "sur %(count)s action", "sur %(count)s actions", formats.form_count(total)
    ) % {"count": total}
    if not parts:
        return _("Aucune action")
    return _("%(counts)s — %(total)s") % {"counts": ", ".join(parts), "total": whole}


def progress_rule():
    """The rule of Action.IMPLIED_PROGRESS as a member reads it: « Estimation : une action
    réalisée compte pour 100 %, une action abandonnée ne compte pas ; les autres comptent pour
    le % déclaré, sinon en cours 50 %, à venir ou reportée 0 %. » Written from the mapping,
    so that changing the rule changes its sentence."""
    groups = {}  # (set by the status alone, progress) -> statuses, in the order of the counts
    for status in STATUS_COUNTS:
        key = (status in Action.PROGRESS_SET_BY_STATUS, Action.IMPLIED_PROGRESS[status])
        groups.setdefault(key, []).append(status)
    settled, implied = [], []
    for (by_status, progress), statuses in groups.items():
        names = _(" ou ").join(str(status.label).lower() for status in statuses)
        if progress is None:
            settled.append(_("une action %(statuses)s ne compte pas") % {"statuses": names})
        elif by_status:
            settled.append(
                _("une action %(statuses)s compte pour %(percent)s")
                % {"statuses": names, "percent": percent(progress)}
            )
        else:
            implied.append(f"{names} {percent(progress)}")
    parts = ", ".join(settled)
    if implied:
        others = (
            _("les autres comptent pour le %% déclaré, sinon %(implied)s")
            if settled
            else _("une action compte pour le %% déclaré, sinon %(implied)s")
        ) % {"implied": ", ".join(implied)}
        parts = (
            _("%(settled)s ; %(others)s") % {"settled": parts, "others": others}
            if parts
            else others
        )
    return _("Estimation : %(rule)s.") % {"rule": parts}


def reported_sentence(reported):
    """How many of the counted actions count with a completion someone typed."""
    if not reported:
        return _("Aucune action n'a d'avancement déclaré.")
    return ngettext(
        "Dont %(count)s action avec un avancement déclaré.",
        "Dont %(count)s actions avec un avancement déclaré.",
        reported,
    ) % {"count": reported}


@dataclass
class Rollup:
    """The progress of a group of actions: abandoned ones count, but not in the estimate."""

    total: int = 0
    progress: int | None = None
    late: int = 0
    statuses: list = field(default_factory=list)
    reported: int = 0  # actions counted with a typed completion

    @classmethod
    def of(cls, actions):
        counted = [a.progress for a in actions if a.progress is not None]
        return cls(
            total=len(actions),
            progress=round(sum(counted) / len(counted)) if counted else None,
            late=sum(1 for a in actions if a.is_late),
            statuses=status_shares(
                {f"status_{s}": sum(1 for a in actions if a.status == s) for s in Action.Status}
            ),
            reported=sum(1 for a in actions if a.progress_reported),
        )

    @classmethod
    def from_summary(cls, row):
        """From a row of `Action.objects.summary()`."""
        average = row["average_progress"]
        return cls(
            total=row["total"],
            progress=None if average is None else round(average),
            late=row["late_count"],
            statuses=status_shares(row),
            reported=row["reported_count"],
        )

    def status_sentence(self):
        return status_sentence({s.status: s.count for s in self.statuses}, self.total)

    def reported_sentence(self):
        return reported_sentence(self.reported)

    @staticmethod
    def rule():
        return progress_rule()


@dataclass
class StatusShare:
    status: str
    label: str
    count: int
    percent: float
    offset: float  # where its segment starts in a stacked bar, in percent


def status_shares(row):
    """[StatusShare] for each status, in workflow order, from `status_<value>` counts."""
    total = sum(row.get(f"status_{s}", 0) for s in Action.Status)
    shares, offset = [], 0.0
    for status in Action.Status:
        count = row.get(f"status_{status}", 0)
        percent = round(100 * count / total, 2) if total else 0
        shares.append(StatusShare(status.value, status.label, count, percent, round(offset, 2)))
        offset += percent
    return shares


@dataclass
class Section:
    item: object  # an objective or a sub-objective
    rollup: Rollup
    children: list  # sub-sections, or actions


def outline(objectives, actions, *, keep_empty):
    """Objectives → sub-objectives → actions, each level with the roll-up of its actions.

    `objectives` come with their sub-objectives prefetched; `actions` carry `progress` and
    `is_late`. Without `keep_empty`, levels with no action shown (filtered out) are left out.
    """
    by_sub = {}
    for action in actions:
        by_sub.setdefault(action.sub_objective_id, []).append(action)
    sections = []
    for objective in objectives:
        subs = [
            Section(sub, Rollup.of(by_sub.get(sub.pk, [])), by_sub.get(sub.pk, []))
            for sub in objective.sub_objectives.all()
        ]
        subs = [s for s in subs if keep_empty or s.children]
        objective_actions = [a for s in subs for a in s.children]
        if keep_empty or objective_actions:
            sections.append(Section(objective, Rollup.of(objective_actions), subs))
    return sections


def by_plan(actions):
    """[(plan, roll-up, actions)] for actions already ordered plan by plan."""
    groups = {}
    for action in actions:
        groups.setdefault(action.plan, []).append(action)
    return [(plan, Rollup.of(items), items) for plan, items in groups.items()]
