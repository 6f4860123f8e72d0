from django import forms
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from actions.models import Action, Target
from actions.services import validate_status_change
from backoffice.versions import VersionedModelForm
from backoffice.widgets import DateInput
from plans.models import Theme
from plans.versions import latest_records, version_of


class StatusSelect(forms.Select):
    """A status select coloured like the status badge (the word stays the main signal)."""

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        css = context["widget"]["attrs"].get("class", "")
        context["widget"]["attrs"]["class"] = f"{css} status-select status-{value}".strip()
        return context


class StatusReasonMixin:
    """Refuses a postponement or abandonment typed without its reason."""

    # Forms without a reason field (the list) say where the reason can be given.
    no_reason_here_message = _(
        "Pour reporter ou abandonner, ouvrez l'action ou utilisez l'action groupée "
        "« Changer le statut » : la raison y est demandée."
    )

    def clean(self):
        cleaned = super().clean()
        if "status" in self.changed_data and "status" in cleaned:
            old = self.instance.status if self.instance.pk else None
            try:
                validate_status_change(
                    old_status=old,
                    new_status=cleaned["status"],
                    reason=cleaned.get("status_reason", ""),
                )
            except ValidationError as error:
                if "status_reason" in self.fields:
                    self.add_error("status_reason", error.message_dict["reason"])
                else:
                    self.add_error("status", self.no_reason_here_message)
        return cleaned


class ActionAdminForm(StatusReasonMixin, VersionedModelForm):
    status_reason = forms.CharField(
        label=_("Raison du changement de statut"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Obligatoire pour reporter ou abandonner une action."),
    )
    status_note = forms.CharField(
        label=_("Note de suivi"),
        help_text=_("Ajoutée au suivi de l'action, avec ou sans changement de statut."),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    class Meta:
        model = Action
        fields = [
            "sub_objective",
            "code",
            "title",
            "means",
            "status",
            "completion",
            "periods",
            "related_actions",
            "themes",
            "partners_text",
            "carrier_to_be_found",
        ]
        widgets = {
            "title": forms.Textarea(attrs={"rows": 2, "class": "vLargeTextField"}),
            "status": StatusSelect,
            "periods": forms.CheckboxSelectMultiple,
            "themes": forms.CheckboxSelectMultiple,
        }

    def clean(self):
        cleaned = super().clean()
        sub_objective = cleaned.get("sub_objective")
        if sub_objective is None:
            return cleaned
        plan_id = sub_objective.objective.plan_id
        foreign_periods = [p for p in cleaned.get("periods", ()) if p.plan_id != plan_id]
        if foreign_periods:
            self.add_error(
                "periods",
                _("Ces périodes appartiennent à un autre plan : %(labels)s")
                % {"labels": ", ".join(p.label for p in foreign_periods)},
            )
        foreign_actions = [a for a in cleaned.get("related_actions", ()) if a.plan_id != plan_id]
        if foreign_actions:
            self.add_error(
                "related_actions",
                _("Ces actions appartiennent à un autre plan : %(codes)s")
                % {"codes": ", ".join(a.code for a in foreign_actions)},
            )
        return cleaned


class ActionAddForm(ActionAdminForm):
    """A new action: its code is proposed (the next free one of its sub-objective), may be
    changed, and is filled in when left empty."""

    class Media:
        js = ["js/action_next_code.js"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "code" in self.fields:
            self.fields["code"].required = False
            self.fields["code"].help_text = _(
                "Proposé : le prochain code libre du sous-objectif. Vous pouvez le changer."
            )

    def clean(self):
        cleaned = super().clean()
        sub_objective = cleaned.get("sub_objective")
        if sub_objective is None or "code" in self.errors:
            return cleaned
        code = cleaned.get("code") or Action.objects.next_code(sub_objective)
        cleaned["code"] = self.instance.code = code
        taken = Action._base_manager.filter(
            plan_id=sub_objective.objective.plan_id, code=code
        ).exists()
        if taken:
            # Read inside the saving transaction: a colleague who saved this code a moment
            # ago is seen here, and she is told which code is free now.
            self.add_error(
                "code",
                _(
                    "Le code %(code)s est déjà pris dans ce plan (quelqu'un vient peut-être "
                    "de l'enregistrer). Le prochain code libre est %(next)s."
                )
                % {"code": code, "next": Action.objects.next_code(sub_objective)},
            )
        return cleaned


class StatusSeenWidget(forms.MultiWidget):
    """The status select, plus the status the coordinator saw when the list was shown."""

    def __init__(self, attrs=None):
        super().__init__([StatusSelect(choices=Action.Status.choices), forms.HiddenInput], attrs)

    def decompress(self, value):
        return [value, value]


class StatusSeenField(forms.MultiValueField):
    widget = StatusSeenWidget

    def __init__(self, **kwargs):
        fields = [forms.ChoiceField(choices=Action.Status.choices), forms.CharField()]
        super().__init__(fields, require_all_fields=False, **kwargs)

    def compress(self, values):
        return tuple(values) if values else (None, None)


class ActionChangeListForm(StatusReasonMixin, forms.ModelForm):
    """The list's editable status. Django rebuilds the list from the database when it is
    saved, so a row left untouched on a stale page would quietly undo a newer status."""

    status = StatusSeenField(label=_("statut"))

    class Meta:
        model = Action
        fields = ["status"]

    def clean_status(self):
        chosen, seen = self.cleaned_data["status"]
        if seen and seen != self.instance.status:
            raise ValidationError(
                _(
                    "Ce statut a changé depuis l'affichage de la liste : il est maintenant "
                    "« %(now)s ». Rechargez la page."
                )
                % {"now": self.instance.get_status_display()},
                code="stale",
            )
        return chosen


class ActionListActionForm(helpers.ActionForm):
    """The action list's bulk menu starts on the status change, its most frequent use."""

    action = forms.ChoiceField(label=_("Action :"), initial="change_status_action")


class ChangeStatusForm(forms.Form):
    """The intermediate page of the bulk "change status" admin action."""

    # Buttons, not a menu: one click instead of two, and every status in view.
    status = forms.ChoiceField(
        label=_("Nouveau statut"), choices=Action.Status.choices, widget=forms.RadioSelect
    )
    reason = forms.CharField(
        label=_("Raison"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Obligatoire pour reporter ou abandonner."),
    )
    note = forms.CharField(
        label=_("Note de suivi"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    date = forms.DateField(label=_("Date"), initial=timezone.localdate, widget=DateInput)
    # "pk:version,…": the version of each chosen action when the page was shown.
    versions = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, actions=(), **kwargs):
        super().__init__(*args, **kwargs)
        # Read before the page reads the actions it lists (plans/versions.py).
        latest = latest_records(Action, actions)
        self.fields["versions"].initial = ",".join(
            f"{pk}:{version_of(record)}" for pk, record in sorted(latest.items())
        )

    def seen_versions(self):
        """{pk: version} as posted; a malformed entry checks nothing."""
        seen = {}
        for item in self.cleaned_data.get("versions", "").split(","):
            pk, _sep, version = item.partition(":")
            if pk.isdigit() and version.isdigit():
                seen[int(pk)] = version
        return seen

    def clean(self):
        cleaned = super().clean()
        if "status" in cleaned:
            try:
                validate_status_change(
                    old_status=None, new_status=cleaned["status"], reason=cleaned.get("reason")
                )
            except ValidationError as error:
                self.add_error("reason", error.message_dict["reason"])
        return cleaned


class TargetInlineForm(VersionedModelForm):
    """A target row where the coordinator can also type its latest actual value."""

    new_value = forms.DecimalField(
        label=_("nouvelle valeur"), required=False, min_value=0, max_digits=12, decimal_places=2
    )
    new_value_date = forms.DateField(label=_("en date du"), required=False, widget=DateInput)

    class Meta:
        model = Target
        fields = ["description", "kind", "unit", "target_value", "is_done", "order"]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("new_value") is not None and cleaned.get("kind") != Target.Kind.COUNT:
            self.add_error(
                "new_value", _("Seule une cible de type « Nombre » reçoit des valeurs.")
            )
        return cleaned


class CorrectionForm(forms.Form):
    """What was wrong in a trail entry: written as a new entry, the old one left as it is."""

    # Long enough for a real correction; a pasted book is refused with a message.
    MAX_LENGTH = 5000

    text = forms.CharField(
        label=_("Correction"),
        widget=forms.Textarea(attrs={"rows": 5, "cols": 60}),
        max_length=MAX_LENGTH,
        help_text=_(
            "Dites ce qui était inexact et ce qui est juste. L'entrée d'origine reste dans le "
            "suivi, marquée comme corrigée ; votre correction s'ajoute, datée et signée."
        ),
    )


class ThemeForm(forms.Form):
    """The intermediate page of the bulk theme actions: which theme."""

    theme = forms.ModelChoiceField(
        label=_("Thème"),
        queryset=Theme.objects.all(),
        empty_label=None,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Choisissez un thème."),
            "invalid_choice": _("Ce thème n'existe pas : choisissez-en un dans la liste."),
        },
    )
