"""What changed, by whom and when: an action's timeline and a plan's changes since a date.

Both read the progress-note trail and the change history (django-simple-history) of actions,
targets, target values and partner links. Each source costs one or two queries whatever the
number of changes: a record is compared with the record before it, and the records just before
the window are fetched together, not one by one.
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Max, Q
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext_lazy

from actions.models import Action, ProgressNote, Target, TargetValue, code_sort_key
from dashboard.templatetags.dashboard import number
from partners.models import ActionPartner, Organisation
from plans.models import Period, SubObjective, Theme


@dataclass
class FieldChange:
    label: str
    before: str
    after: str


@dataclass
class Change:
    kind: str  # one of KINDS, also the CSS class
    when: datetime.datetime
    date: datetime.date  # the date to show: a note's own date, else the day of the change
    author: str
    action_id: int
    action_code: str
    action_title: str
    headline: str
    text: str = ""
    fields: list = field(default_factory=list)
    linked: bool = True  # False once the action is deleted: nothing to link to


KINDS = {
    "status": ngettext_lazy(
        "%(count)s changement de statut", "%(count)s changements de statut", "count"
    ),
    "note": ngettext_lazy("%(count)s note de suivi", "%(count)s notes de suivi", "count"),
    "target": ngettext_lazy("%(count)s cible ou valeur", "%(count)s cibles ou valeurs", "count"),
    "partner": ngettext_lazy(
        "%(count)s porteur ou partenaire", "%(count)s porteurs ou partenaires", "count"
    ),
    "action": ngettext_lazy(
        "%(count)s action ajoutée ou modifiée", "%(count)s actions ajoutées ou modifiées", "count"
    ),
}

# Fields a reader cares about; bookkeeping (sort key, timestamps) and the status, which the
# trail already tells with its reason, are left out.
ACTION_FIELDS = [
    "sub_objective",
    "code",
    "title",
    "means",
    "completion",
    "partners_text",
    "carrier_to_be_found",
]
TARGET_FIELDS = ["description", "kind", "unit", "target_value", "is_done"]
VALUE_FIELDS = ["date", "value", "note"]
PARTNER_FIELDS = [
    "organisation",
    "role",
    "confirmation",
    "label_in_source",
    "last_contact",
    "note",
]


def start_of_day(day):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def author_name(user):
    if user is None:
        return _("(système)")
    return user.get_full_name() or user.get_username()


def readable(model_field, value, labels=None):
    """A stored value as the coordinator would write it."""
    if value in (None, ""):
        return "—"
    if labels is not None:
        return str(labels.get(value, value))
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return _("oui") if value else _("non")
    if isinstance(value, Decimal):
        return number(value)
    if isinstance(value, datetime.date):
        return formats.date_format(value)
    return str(value)


def diff(record, previous, names, labels=None):
    """[FieldChange] for each field among `names` that differs between two history records."""
    if previous is None:
        return []
    labels = labels or {}
    opts = record.instance_type._meta
    changes = []
    for name in names:
        model_field = opts.get_field(name)
        before = getattr(previous, model_field.attname)
        after = getattr(record, model_field.attname)
        if before != after:
            changes.append(
                FieldChange(
                    label=str(model_field.verbose_name).capitalize(),
                    before=readable(model_field, before, labels.get(name)),
                    after=readable(model_field, after, labels.get(name)),
                )
            )
    return changes


def with_previous(history, since):
    """[(record, the record before it or None)] for each record of `history` from `since` on.

    `history` is a queryset of historical records already narrowed to the objects of
    interest; records before the window are fetched in one query, for comparison only.
    """
    window = history if since is None else history.filter(history_date__gte=since)
    records = list(window.order_by("history_date", "history_id"))
    previous = {}
    if since is not None and records:
        last_before = (
            history.filter(history_date__lt=since, id__in=window.values("id"))
            .order_by()
            .values("id")
            .annotate(last=Max("history_id"))
            .values("last")
        )
        previous = {r.id: r for r in history.model.objects.filter(history_id__in=last_before)}
    pairs = []
    last_pair = {}  # object id -> index of its latest pair
    for record in records:
        index = last_pair.get(record.id)
        if index is not None and is_same_save(pairs[index][0], record):
            # One save in the admin can write several records (the row, then each
            # many-to-many change): read them as one change from the state before.
            pairs[index] = (record, pairs[index][1])
        else:
            last_pair[record.id] = len(pairs)
            pairs.append((record, previous.get(record.id)))
        previous[record.id] = record
    return pairs


# Records of one object by one person this close together come from a single save.
SAME_SAVE = datetime.timedelta(seconds=5)


def is_same_save(earlier, later):
    return (
        earlier.history_type == later.history_type == "~"
        and earlier.history_user_id == later.history_user_id
        and later.history_date - earlier.history_date <= SAME_SAVE
    )


class ChangeCollector:
    """Gathers the changes of a set of actions: one plan's, or a single action's."""

    def __init__(self, *, plan, action=None, since=None):
        self.plan = plan
        self.since = since
        self.actions_filter = Q(action_id=action.pk) if action else Q(action__plan_id=plan.pk)
        self.actions = (
            {action.pk: action}
            if action
            else {a.pk: a for a in Action.objects.filter(plan_id=plan.pk).only("code", "title")}
        )
        self.action = action

    def collect(self):
        changes = [
            *self.trail(),
            *self.action_changes(),
            *self.target_changes(),
            *self.value_changes(),
            *self.partner_changes(),
        ]
        changes.sort(key=lambda change: (change.date, change.when), reverse=True)
        return changes

    def _about(self, action_id, code="", title=""):
        """The action a change is about; a deleted one keeps the code and title it had."""
        action = self.actions.get(action_id)
        return {
            "action_id": action_id,
            "action_code": action.code if action else code,
            "action_title": action.title if action else title,
            "linked": action is not None,
        }

    def _change(self, kind, record, action_id, headline, *, code="", title="", **extra):
        """A change read from a history record."""
        return Change(
            kind=kind,
            when=record.history_date,
            date=timezone.localdate(record.history_date),
            author=author_name(record.history_user),
            headline=headline,
            **self._about(action_id, code, title),
            **extra,
        )

    def trail(self):
        notes = ProgressNote.objects.filter(self.actions_filter).select_related("author")
        if self.since is not None:
            notes = notes.filter(Q(date__gte=self.since.date()) | Q(created_at__gte=self.since))
        for note in notes:
            if note.kind == ProgressNote.Kind.STATUS_CHANGE:
                headline = _("Statut : %(old)s → %(new)s") % {
                    "old": note.get_status_from_display() or "—",
                    "new": note.get_status_to_display(),
                }
                text = "\n\n".join(part for part in (note.reason, note.text) if part)
            else:
                headline, text = _("Note de suivi"), note.text
            yield Change(
                kind="status" if note.kind == ProgressNote.Kind.STATUS_CHANGE else "note",
                when=note.created_at,
                date=note.date,
                author=author_name(note.author),
                headline=headline,
                text=text,
                **self._about(note.action_id),
            )

    def action_changes(self):
        history = Action.history.filter(
            Q(id=self.action.pk) if self.action else Q(plan_id=self.plan.pk)
        ).select_related("history_user")
        pairs = with_previous(history, self.since)
        history_ids = [record.history_id for pair in pairs for record in pair if record]
        schedule = self._m2m_sets(Action.periods, "period_id", history_ids)
        themes = self._m2m_sets(Action.themes, "theme_id", history_ids)
        labels = {
            "sub_objective": {
                sub.pk: sub.code
                for sub in SubObjective.objects.filter(
                    objective__plan_id=self.plan.pk
                ).select_related("objective")
            }
        }
        periods = Period.objects.filter(plan_id=self.plan.pk)
        period_labels = dict(periods.values_list("pk", "label"))
        theme_labels = dict(Theme.objects.values_list("pk", "name"))
        for record, previous in pairs:
            code, title = record.code, record.title
            if record.history_type in "+-":
                headline = (
                    _("Action ajoutée au plan")
                    if record.history_type == "+"
                    else _("Action retirée du plan")
                )
                yield self._change("action", record, record.id, headline, code=code, title=title)
            else:
                fields = diff(record, previous, ACTION_FIELDS, labels)
                if previous is not None:
                    fields += self._set_change(
                        _("Périodes prévues"), schedule, record, previous, period_labels
                    )
                    fields += self._set_change(_("Thèmes"), themes, record, previous, theme_labels)
                if fields:
                    yield self._change(
                        "action",
                        record,
                        record.id,
                        _("Action modifiée"),
                        code=code,
                        title=title,
                        fields=fields,
                        text=record.history_change_reason or "",
                    )

    @staticmethod
    def _m2m_sets(m2m_field, column, history_ids):
        """{history_id: {related id}} of an action's many-to-many field, in one query."""
        through_history = getattr(Action.history.model, m2m_field.field.name).model
        sets = {history_id: set() for history_id in history_ids}
        rows = through_history.objects.filter(history_id__in=history_ids).values_list(
            "history_id", column
        )
        for history_id, related_id in rows:
            sets[history_id].add(related_id)
        return sets

    @staticmethod
    def _set_change(label, sets, record, previous, names):
        before, after = sets[previous.history_id], sets[record.history_id]
        if before == after:
            return []

        def words(ids):
            return ", ".join(sorted(str(names.get(i, i)) for i in ids)) or "—"

        return [FieldChange(label=label, before=words(before), after=words(after))]

    def target_changes(self):
        history = Target.history.filter(self.actions_filter).select_related("history_user")
        for record, previous in with_previous(history, self.since):
            name = record.description
            if record.history_type == "+":
                headline, fields = _("Cible ajoutée : %(target)s") % {"target": name}, []
            elif record.history_type == "-":
                headline, fields = _("Cible retirée : %(target)s") % {"target": name}, []
            else:
                fields = diff(record, previous, TARGET_FIELDS)
                if not fields:
                    continue
                headline = _("Cible modifiée : %(target)s") % {"target": name}
            yield self._change("target", record, record.action_id, headline, fields=fields)

    def value_changes(self):
        history = TargetValue.history.filter(
            Q(target__action_id=self.action.pk)
            if self.action
            else Q(target__action__plan_id=self.plan.pk)
        ).select_related("history_user", "target")
        for record, previous in with_previous(history, self.since):
            target = record.target
            values = {
                "target": target.description,
                "value": readable(TargetValue._meta.get_field("value"), record.value),
                "unit": target.unit,
                "goal": readable(Target._meta.get_field("target_value"), target.target_value),
            }
            if record.history_type == "+":
                headline = (
                    _(
                        "Nouvelle valeur pour « %(target)s » : %(value)s %(unit)s "
                        "(cible : %(goal)s)"
                    )
                    % values
                )
                fields = []
            elif record.history_type == "-":
                headline = _("Valeur retirée pour « %(target)s » : %(value)s") % values
                fields = []
            else:
                fields = diff(record, previous, VALUE_FIELDS)
                if not fields:
                    continue
                headline = _("Valeur corrigée pour « %(target)s »") % values
            yield self._change(
                "target", record, target.action_id, headline, fields=fields, text=record.note
            )

    def partner_changes(self):
        history = ActionPartner.history.filter(self.actions_filter).select_related(
            "history_user", "organisation"
        )
        pairs = with_previous(history, self.since)
        organisation_ids = {
            record.organisation_id for pair in pairs for record in pair if record is not None
        }
        labels = {
            "organisation": dict(
                Organisation.objects.filter(pk__in=organisation_ids).values_list("pk", "name")
            )
        }
        for record, previous in pairs:
            # "(porteur, membre confirmé)", leaving out what the source did not say.
            said = [
                label
                for value, label in [
                    (record.role, record.get_role_display()),
                    (record.confirmation, record.get_confirmation_display()),
                ]
                if value != "not_specified"
            ]
            name = record.organisation.name + (f" ({', '.join(said)})" if said else "")
            if record.history_type == "+":
                headline = _("Porteur ou partenaire ajouté : %(organisation)s") % {
                    "organisation": name
                }
                fields = []
            elif record.history_type == "-":
                headline = _("Porteur ou partenaire retiré : %(organisation)s") % {
                    "organisation": record.organisation.name
                }
                fields = []
            else:
                fields = diff(record, previous, PARTNER_FIELDS, labels)
                if not fields:
                    continue
                headline = _("Porteur ou partenaire modifié : %(organisation)s") % {
                    "organisation": record.organisation.name
                }
            yield self._change("partner", record, record.action_id, headline, fields=fields)


# Without an assembly on record, "what changed" looks this far back.
DEFAULT_LOOKBACK = datetime.timedelta(days=30)


def default_since(assemblies, today):
    """(date, assembly or None): the last assembly held by `today`, else 30 days back.

    `assemblies` are the coalition's, newest first."""
    held = next((a for a in assemblies if a.date <= today), None)
    return (held.date, held) if held else (today - DEFAULT_LOOKBACK, None)


def action_timeline(action):
    """Every change of one action, newest first."""
    return ChangeCollector(plan=action.plan, action=action).collect()


def plan_changes(plan, since):
    """Every change to the plan's actions from the day `since` on, newest first."""
    return ChangeCollector(plan=plan, since=start_of_day(since)).collect()


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
    counts = dict.fromkeys(KINDS, 0)
    for change in changes:
        counts[change.kind] += 1
    return [(kind, KINDS[kind] % {"count": count}, count) for kind, count in counts.items()]
