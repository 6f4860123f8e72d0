"""What changed, by whom and when: an action's timeline and a plan's changes since a date,
for the members' pages (dashboard/) and the back-office's history of an action alike.

Both read the progress-note trail and the change history (django-simple-history) of actions,
targets, target values and partner links. Each source costs one or two queries whatever the
number of changes: a record is compared with the record before it, and the records just before
the window are fetched together, not one by one.
"""

import datetime
import functools
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import models
from django.db.models import Exists, Max, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext_lazy, pgettext_lazy

from actions.models import Action, ProgressNote, Target, TargetValue
from partners.models import ActionPartner, Organisation
from plans import formats
from plans.history import SEED_REASON
from plans.models import Period, SubObjective, Theme


class ChangeKind(models.TextChoices):
    """What a change is about; its value is also the change's CSS class."""

    STATUS = "status", gettext_lazy("Statut")
    NOTE = "note", gettext_lazy("Note de suivi")
    TARGET = "target", gettext_lazy("Cible ou valeur")
    PARTNER = "partner", gettext_lazy("Porteur ou partenaire")
    ACTION = "action", pgettext_lazy("change kind", "Action")

    def counted(self, count):
        """'3 notes de suivi': how many changes of this kind, in words."""
        return COUNTED[self] % {"count": count}


COUNTED = {
    ChangeKind.STATUS: ngettext_lazy(
        "%(count)s changement de statut", "%(count)s changements de statut", "count"
    ),
    ChangeKind.NOTE: ngettext_lazy("%(count)s note de suivi", "%(count)s notes de suivi", "count"),
    ChangeKind.TARGET: ngettext_lazy(
        "%(count)s cible ou valeur", "%(count)s cibles ou valeurs", "count"
    ),
    ChangeKind.PARTNER: ngettext_lazy(
        "%(count)s porteur ou partenaire", "%(count)s porteurs ou partenaires", "count"
    ),
    ChangeKind.ACTION: ngettext_lazy(
        "%(count)s action ajoutée ou modifiée", "%(count)s actions ajoutées ou modifiées", "count"
    ),
}


@dataclass
class FieldChange:
    label: str
    before: str
    after: str


@dataclass
class Change:
    kind: ChangeKind
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
    note_id: int | None = None  # the trail entry it is, which a correction can point at
    corrected: bool = False  # a trail entry that a later entry corrects
    seed: bool = False  # read from the history the seed load wrote (plans/history.py)


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


@functools.cache
def history_of(model):
    """The historical model of `model`. Reading `Model.history` builds a new manager class
    each time (simple_history's descriptor), a cost paid once here rather than per query."""
    return model.history.model


class LazyLabels:
    """{id: label} read from the database on the first change that needs one: most saves
    change neither the sub-objective, the periods, the themes nor the organisation."""

    def __init__(self, load):
        self.load = load  # () -> iterable of (id, label)
        self.labels = None

    def get(self, key, default=None):
        if self.labels is None:
            self.labels = dict(self.load())
        return self.labels.get(key, default)


def start_of_day(day):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def author_name(user):
    if user is None:
        return _("(système)")
    return user.get_full_name() or user.get_username()


def readable(model_field, value, labels=None):
    """A stored value as the coordinator would write it."""
    if value in (None, ""):
        return formats.MISSING
    if labels is not None:
        return str(labels.get(value, value))
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return formats.yes_no(value)
    if isinstance(value, Decimal):
        return formats.number(value)
    if isinstance(value, datetime.date):
        return formats.day(value)
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


# A history record's type: simple_history's "+", "-" and "~".
ADDED, REMOVED, MODIFIED = "+", "-", "~"


def read_record(record, previous, headlines, names, labels=None, *, more=None):
    """(headline, [FieldChange]) that one history record tells, shared by every source.

    `headlines` gives the headline of an addition, a removal and a modification (ADDED,
    REMOVED, MODIFIED); an addition or a removal lists no fields. A modification lists the
    fields among `names` that changed, with `more(record, previous)` for what diff() cannot
    see; it is None when none did, as a save that changed nothing a reader cares about.
    """
    if record.history_type != MODIFIED:
        return headlines[record.history_type], []
    fields = diff(record, previous, names, labels)
    if more is not None and previous is not None:
        fields += more(record, previous)
    if not fields:
        return None
    return headlines[MODIFIED], fields


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
        changes = self.one_seed_load(changes)
        changes.sort(key=lambda change: (change.date, change.when), reverse=True)
        return changes

    @staticmethod
    def one_seed_load(changes):
        """The records the seed load wrote (the action, its targets, its partners…) read as
        one entry per action: the plan as adopted was loaded, not typed in a dozen times."""
        kept, loads = [], {}
        for change in changes:
            if not change.seed:
                kept.append(change)
            elif change.action_id not in loads or change.when < loads[change.action_id].when:
                loads[change.action_id] = change
        for change in loads.values():
            change.kind, change.headline, change.author = ChangeKind.ACTION, _(SEED_REASON), ""
            change.fields, change.text = [], ""
        return [*kept, *loads.values()]

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
            seed=record.history_change_reason == SEED_REASON,
            **self._about(action_id, code, title),
            **extra,
        )

    def trail(self):
        notes = (
            ProgressNote.objects.filter(self.actions_filter)
            .select_related("author", "corrects")
            .annotate(corrected=Exists(ProgressNote.objects.filter(corrects=OuterRef("pk"))))
        )
        if self.since is not None:
            notes = notes.filter(Q(date__gte=self.since.date()) | Q(created_at__gte=self.since))
        for note in notes:
            if note.kind == ProgressNote.Kind.STATUS_CHANGE:
                kind = ChangeKind.STATUS
                headline = _("Statut : %(old)s → %(new)s") % {
                    "old": note.get_status_from_display() or formats.MISSING,
                    "new": note.get_status_to_display(),
                }
                text = "\n\n".join(part for part in (note.reason, note.text) if part)
            elif note.corrects is not None:
                kind, text = ChangeKind.NOTE, note.text
                headline = _("Correction de l'entrée du %(date)s") % {
                    "date": formats.day(note.corrects.date)
                }
            else:
                kind, headline, text = ChangeKind.NOTE, _("Note de suivi"), note.text
            yield Change(
                kind=kind,
                when=note.created_at,
                date=note.date,
                author=author_name(note.author),
                headline=headline,
                text=text,
                note_id=note.pk,
                corrected=note.corrected,
                **self._about(note.action_id),
            )

    def action_changes(self):
        history = (
            history_of(Action)
            .objects.filter(Q(id=self.action.pk) if self.action else Q(plan_id=self.plan.pk))
            .select_related("history_user")
        )
        pairs = with_previous(history, self.since)
        # Only a modification is compared with the record before it (read_record).
        history_ids = [
            record.history_id
            for pair in pairs
            if pair[0].history_type == MODIFIED and pair[1] is not None
            for record in pair
        ]
        schedule = self._m2m_sets(Action.periods, "period_id", history_ids)
        themes = self._m2m_sets(Action.themes, "theme_id", history_ids)
        plan_id = self.plan.pk
        labels = {
            "sub_objective": LazyLabels(
                lambda: (
                    (sub.pk, sub.code)
                    for sub in SubObjective.objects.filter(
                        objective__plan_id=plan_id
                    ).select_related("objective")
                )
            )
        }
        period_labels = LazyLabels(
            lambda: Period.objects.filter(plan_id=plan_id).values_list("pk", "label")
        )
        theme_labels = LazyLabels(lambda: Theme.objects.values_list("pk", "name"))

        def sets(record, previous):
            """What diff() cannot see: the periods and themes, many-to-many fields."""
            return [
                *self._set_change(
                    _("Périodes prévues"), schedule, record, previous, period_labels
                ),
                *self._set_change(_("Thèmes"), themes, record, previous, theme_labels),
            ]

        headlines = {
            ADDED: _("Action ajoutée au plan"),
            REMOVED: _("Action retirée du plan"),
            MODIFIED: _("Action modifiée"),
        }
        for record, previous in pairs:
            change = self._action_change(record, previous, headlines, labels, sets)
            if change is not None:
                yield change

    def _action_change(self, record, previous, headlines, labels, sets):
        read = read_record(record, previous, headlines, ACTION_FIELDS, labels, more=sets)
        if read is None:
            return None
        headline, fields = read
        # Only a modification tells its reason: an addition or a removal says it all.
        text = (record.history_change_reason or "") if record.history_type == MODIFIED else ""
        return self._change(
            ChangeKind.ACTION,
            record,
            record.id,
            headline,
            code=record.code,
            title=record.title,
            fields=fields,
            text=text,
        )

    @staticmethod
    def _m2m_sets(m2m_field, column, history_ids):
        """{history_id: {related id}} of an action's many-to-many field, in one query."""
        through_history = getattr(history_of(Action), m2m_field.field.name).model
        sets = {history_id: set() for history_id in history_ids}
        if not history_ids:
            return sets
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
            return ", ".join(sorted(str(names.get(i, i)) for i in ids)) or formats.MISSING

        return [FieldChange(label=label, before=words(before), after=words(after))]

    def target_changes(self):
        history = (
            history_of(Target).objects.filter(self.actions_filter).select_related("history_user")
        )
        headlines = {
            ADDED: _("Cible ajoutée : %(target)s"),
            REMOVED: _("Cible retirée : %(target)s"),
            MODIFIED: _("Cible modifiée : %(target)s"),
        }
        for record, previous in with_previous(history, self.since):
            change = self._target_change(record, previous, headlines)
            if change is not None:
                yield change

    def _target_change(self, record, previous, headlines):
        read = read_record(record, previous, headlines, TARGET_FIELDS)
        if read is None:
            return None
        headline, fields = read
        headline %= {"target": record.description}
        return self._change(ChangeKind.TARGET, record, record.action_id, headline, fields=fields)

    def value_changes(self):
        history = (
            history_of(TargetValue)
            .objects.filter(
                Q(target__action_id=self.action.pk)
                if self.action
                else Q(target__action__plan_id=self.plan.pk)
            )
            .select_related("history_user", "target")
        )
        headlines = {
            ADDED: _(
                "Nouvelle valeur pour « %(target)s » : %(value)s %(unit)s (cible : %(goal)s)"
            ),
            REMOVED: _("Valeur retirée pour « %(target)s » : %(value)s"),
            MODIFIED: _("Valeur corrigée pour « %(target)s »"),
        }
        for record, previous in with_previous(history, self.since):
            change = self._value_change(record, previous, headlines)
            if change is not None:
                yield change

    def _value_change(self, record, previous, headlines):
        read = read_record(record, previous, headlines, VALUE_FIELDS)
        if read is None:
            return None
        headline, fields = read
        target = record.target
        headline %= {
            "target": target.description,
            "value": readable(TargetValue._meta.get_field("value"), record.value),
            "unit": target.unit,
            "goal": readable(Target._meta.get_field("target_value"), target.target_value),
        }
        return self._change(
            ChangeKind.TARGET, record, target.action_id, headline, fields=fields, text=record.note
        )

    def partner_changes(self):
        history = (
            history_of(ActionPartner)
            .objects.filter(self.actions_filter)
            .select_related("history_user", "organisation")
        )
        pairs = with_previous(history, self.since)
        organisation_ids = {
            record.organisation_id for pair in pairs for record in pair if record is not None
        }
        labels = {
            "organisation": LazyLabels(
                lambda: Organisation.objects.filter(pk__in=organisation_ids).values_list(
                    "pk", "name"
                )
            )
        }
        headlines = {
            ADDED: _("Porteur ou partenaire ajouté : %(organisation)s"),
            REMOVED: _("Porteur ou partenaire retiré : %(organisation)s"),
            MODIFIED: _("Porteur ou partenaire modifié : %(organisation)s"),
        }
        for record, previous in pairs:
            change = self._partner_change(record, previous, headlines, labels)
            if change is not None:
                yield change

    def _partner_change(self, record, previous, headlines, labels):
        read = read_record(record, previous, headlines, PARTNER_FIELDS, labels)
        if read is None:
            return None
        headline, fields = read
        name = record.organisation.name
        if record.history_type == ADDED:
            # "(porteur, membre confirmé)", leaving out what the source did not say.
            said = [
                label
                for value, unsaid, label in [
                    (record.role, ActionPartner.Role.NOT_SPECIFIED, record.get_role_display()),
                    (
                        record.confirmation,
                        ActionPartner.Confirmation.NOT_SPECIFIED,
                        record.get_confirmation_display(),
                    ),
                ]
                if value != unsaid
            ]
            name += f" ({', '.join(said)})" if said else ""
        headline %= {"organisation": name}
        return self._change(ChangeKind.PARTNER, record, record.action_id, headline, fields=fields)


def action_timeline(action):
    """Every change of one action, newest first."""
    return ChangeCollector(plan=action.plan, action=action).collect()


def plan_changes(plan, since):
    """Every change to the plan's actions from the day `since` on, newest first."""
    return ChangeCollector(plan=plan, since=start_of_day(since)).collect()
