"""Writing a preview: in one transaction, every object through its service (validated,
signed by its author), all of it or nothing."""

from contextlib import contextmanager

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, npgettext

from actions.models import Action, Target
from actions.services import change_status, postponement_choice
from imports.table_import.reading import TableError, normalise
from partners.models import ActionPartner, Organisation
from partners.services import change_link, link_partner
from plans import versions
from plans.formats import form_count
from plans.models import Objective, Plan, SubObjective
from plans.services import save_with_author, set_author


def summary(counts):
    """The message after an import: how many of each were created and changed, each word
    agreeing with its own count."""
    created = {
        "objective": lambda n: ngettext("%(count)s objectif créé", "%(count)s objectifs créés", n),
        "sub_objective": lambda n: ngettext(
            "%(count)s sous-objectif créé", "%(count)s sous-objectifs créés", n
        ),
        "action": lambda n: ngettext("%(count)s action créée", "%(count)s actions créées", n),
    }
    changed = {
        "objective": lambda n: npgettext("objectif", "%(count)s modifié", "%(count)s modifiés", n),
        "sub_objective": lambda n: npgettext(
            "objectif", "%(count)s modifié", "%(count)s modifiés", n
        ),
        "action": lambda n: npgettext("action", "%(count)s modifiée", "%(count)s modifiées", n),
    }
    parts = [
        _("%(created)s et %(changed)s")
        % {
            "created": created[kind](form_count(counts[kind]["new"]))
            % {"count": counts[kind]["new"]},
            "changed": changed[kind](form_count(counts[kind]["changed"]))
            % {"count": counts[kind]["changed"]},
        }
        for kind in ("objective", "sub_objective", "action")
    ]
    return _("Import terminé : %(counts)s.") % {"counts": "; ".join(parts)}


def lock(plan):
    """Locks, until the transaction ends, the plan and every row an import of its table may
    change (call it before building the preview that the confirmation compares)."""
    for queryset in (
        Plan.objects.filter(pk=plan.pk),
        Objective.objects.filter(plan=plan),
        SubObjective.objects.filter(objective__plan=plan),
        Action.objects.filter(plan=plan),
        ActionPartner.objects.filter(action__plan=plan),
    ):
        versions.lock(queryset)


@transaction.atomic
def apply(preview, *, user):
    """Write the preview: all of it, or, at the first invalid object, nothing."""
    try:
        return Writer(preview, user).write()
    except ValidationError as error:
        raise TableError(error_messages(error)) from None
    except IntegrityError:
        # A colleague saved the same row meanwhile; the transaction wrote nothing.
        raise TableError(
            [_("Une autre personne a modifié ces données au même moment : réessayez l'import.")]
        ) from None


def error_messages(error):
    """A ValidationError's messages as the import lists them, each after its field's name."""
    if not hasattr(error, "error_dict"):
        return error.messages
    return [
        f"{key} : {text}" if key and key != NON_FIELD_ERRORS else text
        for key, texts in error.message_dict.items()
        for text in texts
    ]


@contextmanager
def row_errors(entry):
    """A ValidationError raised while writing `entry` says which row of the file, and which
    code, it is about: the coordinator corrects the file, not the database."""
    try:
        yield
    except ValidationError as error:
        raise ValidationError(
            [
                _("Ligne %(row)s (%(code)s) : %(message)s")
                % {"row": entry.row, "code": entry.code, "message": message}
                for message in error.messages
            ]
        ) from None


class Writer:
    """Writes a Preview, each object through its service (validated, signed by `user`);
    apply() runs it in one transaction."""

    def __init__(self, preview, user):
        self.preview = preview
        self.plan = preview.plan
        self.user = user
        self.objectives = {o.number: o for o in self.plan.objectives.all()}
        self.subs = {
            (s.objective.number, s.number): s
            for s in SubObjective.objects.filter(objective__plan=self.plan).select_related(
                "objective"
            )
        }
        self.organisations = {}

    def save(self, obj, entry=None):
        """Validates and saves `obj`, written for `entry`'s row (its errors say so)."""
        if entry is None:
            obj.full_clean()
        else:
            with row_errors(entry):
                obj.full_clean()
        return save_with_author(obj, user=self.user)

    def write(self):
        for name in self.preview.new_organisations:
            self.organisations[normalise(name)] = self.save(Organisation(name=name))
        for entry in self.preview.entries:
            if entry.kind == "objective":
                self.write_objective(entry)
            elif entry.kind == "sub_objective":
                self.write_sub(entry)
        for entry in self.preview.entries:
            if entry.kind == "action":
                self.write_action(entry)
        return self.preview.counts()

    def write_objective(self, entry):
        number = int(entry.code)
        objective = self.objectives.get(number) or Objective(plan=self.plan, number=number)
        if objective.pk and not entry.changes:
            return
        objective.title = entry.title
        self.objectives[number] = self.save(objective, entry)

    def write_sub(self, entry):
        key = tuple(int(p) for p in entry.code.split("."))
        sub = self.subs.get(key) or SubObjective(objective=self.objectives[key[0]], number=key[1])
        if sub.pk and not entry.changes:
            return
        sub.title = entry.title
        self.subs[key] = self.save(sub, entry)

    def write_action(self, entry):
        if not entry.is_new and not entry.is_changed:
            return
        action = self.fill_action(entry)
        if entry.is_new or entry.changes:
            with row_errors(entry):
                change_status(
                    action=action,
                    status=entry.status,
                    user=self.user,
                    reason=entry.reason,
                    **postponement(action, entry),
                )
        self.write_periods(action, entry)
        self.write_targets(action, entry)
        self.write_partners(action, entry)

    def fill_action(self, entry):
        """The action `entry` creates or changes, holding the row's values; not saved: its
        status is saved with them (change_status). An empty cell erases nothing."""
        parts = tuple(int(p) for p in entry.code.split(".")[:2])
        action = entry.existing or Action(
            sub_objective=self.subs[parts],
            code=entry.code,
            partners_text=entry.partners_text,
        )
        action.title = entry.title
        if entry.means:
            action.means = entry.means
        if entry.completion_given:
            action.completion = entry.completion
        if entry.to_be_found is not None:
            action.carrier_to_be_found = entry.to_be_found
        return action

    def write_periods(self, action, entry):
        if entry.periods is None:
            return  # no period column
        current = {p.pk for p in action.periods.all()} if not entry.is_new else set()
        if current != {p.pk for p in entry.periods}:
            set_author(action, user=self.user)
            action.periods.set(entry.periods)

    def write_targets(self, action, entry):
        """The row's new targets, after those the action has."""
        start = action.targets.count() if not entry.is_new else 0
        for order, description in enumerate(entry.targets, start=start):
            self.save(Target(action=action, description=description, order=order), entry)

    def write_partners(self, action, entry):
        """The row's new partners, after those the action has; what the cell's fonts change
        in the existing links."""
        first = 0 if entry.is_new else ActionPartner.objects.filter(action=action).count()
        for index, part in enumerate(entry.partners):
            with row_errors(entry):
                if part.link is None:
                    self.link(action, part, order=first + index)
                elif part.changes:
                    self.change(part)

    def link(self, action, part, *, order):
        link_partner(
            action=action,
            organisation=part.organisation or self.organisations[normalise(part.name)],
            user=self.user,
            role=ActionPartner.Role.CARRIER if part.carrier else ActionPartner.Role.NOT_SPECIFIED,
            confirmation=part.confirmation or ActionPartner.Confirmation.NOT_SPECIFIED,
            label_in_source=part.name,
            order=order,
        )

    def change(self, part):
        changes = {
            "role": ActionPartner.Role.CARRIER if part.carrier else ActionPartner.Role.PARTNER
        }
        if part.confirmation is not None:
            changes["confirmation"] = part.confirmation
        change_link(link=part.link, user=self.user, **changes)


def postponement(action, entry):
    """When a row postpones its action: see postponement_choice()."""
    if entry.is_new or entry.periods is None:
        return postponement_choice(None, None)
    return postponement_choice({p.pk for p in action.periods.all()}, entry.periods)
