"""Roll-ups the pages draw: a plan's outline with each level's progress, status shares."""

from dataclasses import dataclass, field

from actions.models import Action


@dataclass
class Rollup:
    """The progress of a group of actions: abandoned ones count, but not in the average."""

    total: int = 0
    progress: int | None = None
    late: int = 0
    statuses: list = field(default_factory=list)

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
        )


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
