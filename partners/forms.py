"""The update page's form: what the coordinator changes on an action in one save (its status,
a note, its completion, its targets' values, its deliverables and its partners' confirmations),
for partners.services.update_action."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from actions.forms import new_periods_field, without_date_field
from actions.models import Action, Target
from actions.services import validate_postponement, validate_status_change
from partners.models import ActionPartner
from plans.models import Period
from plans.versions import version_of


class ActionUpdateForm(forms.Form):
    """The fields of one action's update, with one row per counted target, deliverable and
    partner link. What the page showed of the action's state (status, completion, ticks,
    confirmations) is posted back beside it, so that only what she changed is written; the
    versions the page showed are posted too (plans/versions.py)."""

    status = forms.ChoiceField(
        label=_("Statut"), choices=Action.Status.choices, widget=forms.RadioSelect
    )
    reason = forms.CharField(
        label=_("Raison du changement de statut"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Obligatoire pour reporter ou abandonner une action."),
    )
    # Postponing: the new periods of the action's plan, or no date yet (the plan's periods
    # are set in __init__).
    periods = new_periods_field(Period.objects.none())
    without_date = without_date_field()
    note = forms.CharField(
        label=_("Note de suivi"),
        required=False,
        max_length=10000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Ajoutée au suivi de l'action, datée d'aujourd'hui et signée de votre nom."),
    )
    completion = forms.IntegerField(
        label=_("Avancement (%)"),
        required=False,
        min_value=0,
        max_value=100,
        widget=forms.NumberInput(attrs={"class": "completion-input"}),
    )
    # "action:12,target-3:40,link-7:51": the version of each row the page showed.
    versions = forms.CharField(widget=forms.HiddenInput, required=False)

    # The fields that hold the action's state as the page showed it (compared on save).
    STATE_FIELDS = ("status", "completion")

    def __init__(self, data=None, *, action, targets, links, versions):
        super().__init__(data)
        self.action = action
        self.fields["status"].initial = action.status
        self.fields["periods"].queryset = Period.objects.filter(plan_id=action.plan_id)
        self.fields["completion"].initial = action.completion
        self.fields["versions"].initial = ",".join(
            f"{key}:{version_of(record)}" for key, record in versions.items()
        )
        today = timezone.localdate()
        self.counted, self.deliverables, self.links = [], [], []
        for target in targets:
            if target.kind == Target.Kind.COUNT:
                self.fields[f"value-{target.pk}"] = forms.DecimalField(
                    label=_("Nouvelle valeur"),
                    required=False,
                    min_value=0,
                    max_digits=12,
                    decimal_places=2,
                    widget=forms.NumberInput(attrs={"step": "any", "class": "value-input"}),
                )
                self.fields[f"date-{target.pk}"] = forms.DateField(
                    label=_("en date du"),
                    initial=today,
                    required=False,
                    widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
                )
                self.counted.append(target)
            else:
                self.fields[f"done-{target.pk}"] = forms.BooleanField(
                    label=_("livré"), required=False, initial=target.is_done
                )
                self.deliverables.append(target)
        for link in links:
            self.fields[f"confirmation-{link.pk}"] = forms.ChoiceField(
                label=_("confirmation"),
                choices=ActionPartner.Confirmation.choices,
                initial=link.confirmation,
            )
            self.links.append(link)
        for name, field in self.fields.items():
            if self.is_state(name):
                field.show_hidden_initial = True

    @classmethod
    def is_state(cls, name):
        return name in cls.STATE_FIELDS or name.startswith(("done-", "confirmation-"))

    # --- What the template draws, row by row ---

    def counted_rows(self):
        """(target, its latest value or None, value field, date field) per counted target."""
        for target in self.counted:
            values = list(target.values.all())  # prefetched, newest first
            yield (
                target,
                values[0] if values else None,
                self[f"value-{target.pk}"],
                self[f"date-{target.pk}"],
            )

    def status_initial(self):
        """The status the page showed, posted beside the radios (drawn one by one)."""
        return self["status"].as_hidden(only_initial=True)

    def deliverable_rows(self):
        return [(target, self[f"done-{target.pk}"]) for target in self.deliverables]

    def link_rows(self):
        return [(link, self[f"confirmation-{link.pk}"]) for link in self.links]

    # --- Checking and reading what was posted ---

    def clean(self):
        cleaned = super().clean()
        if "status" in cleaned:
            try:
                validate_status_change(
                    old_status=self.action.status,
                    new_status=cleaned["status"],
                    reason=cleaned.get("reason", ""),
                )
            except ValidationError as error:
                self.add_error("reason", error.message_dict["reason"])
            postponing = cleaned["status"] == Action.Status.POSTPONED
            if postponing and self.action.status != Action.Status.POSTPONED:
                try:
                    validate_postponement(
                        periods=cleaned.get("periods"),
                        without_date=cleaned.get("without_date"),
                        action=self.action,
                    )
                except ValidationError as error:
                    self.add_error("periods", error.message_dict["periods"])
        return cleaned

    def seen_versions(self):
        """(the action's version, {target pk: version}, {link pk: version}) as posted; a
        malformed entry checks nothing, a missing action version compares with none."""
        action, targets, links = None, {}, {}
        for item in self.cleaned_data.get("versions", "").split(","):
            key, _sep, version = item.partition(":")
            kind, _sep, pk = key.partition("-")
            if not version.isdigit():
                continue
            if kind == "action":
                action = version
            elif kind == "target" and pk.isdigit():
                targets[int(pk)] = version
            elif kind == "link" and pk.isdigit():
                links[int(pk)] = version
        return action, targets, links

    def update_arguments(self):
        """update_action's arguments: what she changed, with the versions she saw."""
        data = self.cleaned_data
        action_version, target_versions, link_versions = self.seen_versions()
        changed = set(self.changed_data)
        return {
            "status": data["status"],
            "reason": data.get("reason", ""),
            "periods": list(data.get("periods") or ()),
            "without_date": bool(data.get("without_date")),
            "note": data.get("note", ""),
            # Untouched, the completion stays as it is now, even if someone changed it.
            "completion": data["completion"]
            if "completion" in changed
            else self.action.completion,
            "values": {
                target.pk: (data[f"value-{target.pk}"], data.get(f"date-{target.pk}"))
                for target in self.counted
                if data.get(f"value-{target.pk}") is not None
            },
            "deliverables": {
                target.pk: data[f"done-{target.pk}"]
                for target in self.deliverables
                if f"done-{target.pk}" in changed
            },
            "confirmations": {
                link.pk: data[f"confirmation-{link.pk}"]
                for link in self.links
                if f"confirmation-{link.pk}" in changed
            },
            "seen_version": action_version or "",
            "seen_target_versions": target_versions,
            "seen_link_versions": link_versions,
        }

    def add_service_errors(self, error):
        """The service's refusal, under the fields it names (the rest above the form)."""
        for key, messages in getattr(error, "message_dict", {"__all__": error.messages}).items():
            name = key if key in self.fields else None
            for message in messages:
                self.add_error(name, message)

    def carried_into(self, fresh):
        """The data of a form like `fresh` (the action as it is now, unbound) with what she
        typed or changed here: the state she left untouched takes its new value, so saving
        again never undoes a colleague's change she did not make herself."""
        changed = set(self.changed_data)
        data = {}
        for name in fresh.fields:
            now = posted_value(fresh[name].initial)
            if self.is_state(name):
                data[fresh[name].html_initial_name] = "False" if now is None else now
                keep = name in changed and name in self.fields
            else:
                keep = name != "versions" and name in self.fields
            if keep and getattr(fresh[name].field.widget, "allow_multiple_selected", False):
                data[fresh.add_prefix(name)] = self.data.getlist(self.add_prefix(name))
                continue
            value = self.data.get(self.add_prefix(name)) if keep else now
            if value is not None:
                data[fresh.add_prefix(name)] = value
        return data


def posted_value(value):
    """A field's value as a browser posts it; None for an unticked box (not posted)."""
    if value is None:
        return ""
    if value is True:
        return "on"
    if value is False:
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)
