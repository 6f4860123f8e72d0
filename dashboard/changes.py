"""What changed since a date, for the members' pages and the reports: the timeline itself is
read by partners/timeline.py, which the back-office's history shares."""

import datetime

from actions.models import code_sort_key
from partners.timeline import ChangeKind

# Without an assembly on record, "what changed" looks this far back.
DEFAULT_LOOKBACK = datetime.timedelta(days=30)


def default_since(assemblies, today):
    """(date, assembly or None): the last assembly held by `today`, else 30 days back.

    `assemblies` are the coalition's, newest first."""
    held = next((a for a in assemblies if a.date <= today), None)
    return (held.date, held) if held else (today - DEFAULT_LOOKBACK, None)


def group_by_action(changes):
    """[(code, title, action_id, [changes])] in the plan's code order."""
    groups = {}
    for change in changes:
        groups.setdefault((change.action_id, change.action_code, change.action_title), []).append(
            change
        )
    ordered = sorted(groups.items(), key=lambda item: code_sort_key(item[0][1] or "0"))
    return [(code, title, action_id, items) for (action_id, code, title), items in ordered]


def count_by_kind(changes):
    """[(kind, 'n changes of this kind' in words, n)] for every kind, in ChangeKind's order."""
    counts = dict.fromkeys(ChangeKind, 0)
    for change in changes:
        counts[change.kind] += 1
    return [(kind, kind.counted(count), count) for kind, count in counts.items()]
