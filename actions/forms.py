from django import forms
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from actions.models import Action, Target
from actions.services import validate_postponement, validate_status_change
from backoffice.versions import VersionedModelForm
from backoffice.widgets import DateInput
from plans.models import Period, Theme
from plans.versions import latest_records, version_of


class ActionAdminForm(VersionedModelForm):
    """The action's structure: its status, notes and values change on the update page."""

    def compared_fields(self):
        # A colleague's new status refuses this page too: say so in the refusal.
        return [*super().compared_fields(), "status", "completion"]

    class Meta:
        model = Action
        fields = [
            "sub_objective",
            "code",
            "title",
            "means",
            "periods",
            "related_actions",
            "themes",
            "partners_text",
            "carrier_to_be_found",
        ]
        widgets = {
            "title": forms.Textarea(attrs={"rows": 2, "class": "vLargeTextField"}),
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


class NewPeriodsWidget(forms.CheckboxSelectMultiple):
    """Checkboxes of a plan's periods; one already ended cannot be chosen and says so."""

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        period = getattr(value, "instance", None)
        if period is not None and period.has_ended(timezone.localdate()):
            option["attrs"]["disabled"] = True
            option["label"] = _("%(period)s (terminée)") % {"period": label}
        return option


def new_periods_field(queryset, **kwargs):
    return forms.ModelMultipleChoiceField(
        label=_("Nouvelles périodes"),
        queryset=queryset,
        required=False,
        widget=NewPeriodsWidget,
        **kwargs,
    )


def without_date_field():
    return forms.BooleanField(label=_("Attend une nouvelle date (sans date)"), required=False)


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
    # Postponing: the new periods (of the chosen actions' plans), or no date yet.
    periods = new_periods_field(Period.objects.none())
    without_date = without_date_field()
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
        plans = {action.plan_id for action in actions}
        periods = Period.objects.filter(plan_id__in=plans).select_related("plan")
        self.fields["periods"].queryset = periods
        if len(plans) > 1:
            # Each action takes the periods of its own plan: name the plan beside each.
            self.fields["periods"].label_from_instance = lambda p: f"{p.label} ({p.plan.slug})"
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
        if cleaned.get("status") == Action.Status.POSTPONED:
            try:
                # Each action's plan is checked by the service, action by action.
                validate_postponement(
                    periods=cleaned.get("periods"), without_date=cleaned.get("without_date")
                )
            except ValidationError as error:
                self.add_error("periods", error.message_dict["periods"])
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
