from django import forms
from django.contrib.admin.widgets import AdminDateWidget
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from actions.models import Action, Target
from actions.services import validate_status_change
from backoffice.versions import VersionedModelForm
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


class ChangeStatusForm(forms.Form):
    """The intermediate page of the bulk "change status" admin action."""

    status = forms.ChoiceField(label=_("Nouveau statut"), choices=Action.Status.choices)
    reason = forms.CharField(
        label=_("Raison"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Obligatoire pour reporter ou abandonner."),
    )
    note = forms.CharField(
        label=_("Note de suivi"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    date = forms.DateField(label=_("Date"), initial=timezone.localdate, widget=AdminDateWidget)
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
    new_value_date = forms.DateField(label=_("en date du"), required=False, widget=AdminDateWidget)

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
