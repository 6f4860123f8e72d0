import re
from collections import Counter

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from import_export import fields, widgets

from actions.models import CODE_PATTERN, Action
from actions.services import change_status, postponement_choice
from imports.resources import ChoiceWidget, PlanDataResource, SlugWidget, scoped_to_importer
from plans.models import Period, Plan, SubObjective

PERIOD_SEPARATOR = ","


class PercentWidget(widgets.IntegerWidget):
    def clean(self, value, row=None, **kwargs):
        try:
            return super().clean(value, row, **kwargs)
        except (ValueError, ArithmeticError, TypeError):
            # TypeError: a date or a time in the cell (Decimal refuses to convert it).
            raise ValueError(
                _("« %(value)s » n'est pas un pourcentage : écrivez un nombre de 0 à 100.")
                % {"value": value}
            ) from None


class PlanPeriodsWidget(widgets.ManyToManyWidget):
    """Period labels ("2016-2018, 2018-2019"), looked up within the row's plan."""

    def __init__(self, **kwargs):
        super().__init__(Period, separator=PERIOD_SEPARATOR, field="label", **kwargs)

    def clean(self, value, row=None, **kwargs):
        labels = [label.strip() for label in str(value or "").split(self.separator)]
        labels = [label for label in labels if label]
        if not labels:
            return Period.objects.none()
        plan_slug = str((row or {}).get(ActionResource.PLAN_COLUMN) or "").strip()
        plan_periods = scoped_to_importer(Period.objects.filter(plan__slug=plan_slug), kwargs)
        periods = plan_periods.filter(label__in=labels)
        unknown = sorted(set(labels) - {period.label for period in periods})
        if unknown:
            known = plan_periods.values_list("label", flat=True)
            raise ValueError(
                _("Périodes inconnues pour ce plan : %(unknown)s. Périodes du plan : %(known)s.")
                % {"unknown": ", ".join(unknown), "known": ", ".join(known) or "—"}
            )
        return periods

    def render(self, value, obj=None, **kwargs):
        if value is None:
            return ""
        return f"{self.separator} ".join(period.label for period in value.all())


class ActionResource(PlanDataResource):
    """One row per action. The sub-objective comes from the code: 1.2.3 belongs to 1.2."""

    PLAN_COLUMN = "plan"
    REASON_COLUMN = "raison du statut"

    plan = fields.Field(
        attribute="plan",
        column_name=PLAN_COLUMN,
        widget=SlugWidget(
            Plan, gettext_lazy("Plan inconnu : « %(value)s ». Plans connus : %(known)s.")
        ),
    )
    # CharWidget turns an empty spreadsheet cell into "", as the model stores it.
    code = fields.Field(attribute="code", column_name="code", widget=widgets.CharWidget())
    title = fields.Field(attribute="title", column_name="titre", widget=widgets.CharWidget())
    means = fields.Field(attribute="means", column_name="moyens", widget=widgets.CharWidget())
    status = fields.Field(
        attribute="status",
        column_name="statut",
        widget=ChoiceWidget(Action.Status, default=Action.Status.PLANNED),
    )
    completion = fields.Field(
        attribute="completion", column_name="avancement (%)", widget=PercentWidget()
    )
    periods = fields.Field(attribute="periods", column_name="périodes", widget=PlanPeriodsWidget())
    partners_text = fields.Field(
        attribute="partners_text",
        column_name="porteurs et partenaires",
        widget=widgets.CharWidget(),
    )
    status_reason = fields.Field(column_name=REASON_COLUMN, readonly=True)

    class Meta:
        model = Action
        fields = [
            "plan",
            "code",
            "title",
            "means",
            "status",
            "completion",
            "periods",
            "partners_text",
            "status_reason",
        ]
        import_id_fields = ["plan", "code"]
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = True

    def get_queryset(self):
        return super().get_queryset().select_related("plan").prefetch_related("periods")

    def named_rows(self, dataset):
        rows = dataset.dict
        slugs = {str(row.get(self.PLAN_COLUMN) or "").strip() for row in rows}
        codes = {str(row.get("code") or "").strip() for row in rows}
        return self.get_queryset().filter(plan__slug__in=slugs, code__in=codes)

    def before_import(self, dataset, **kwargs):
        super().before_import(dataset, **kwargs)
        # A second row with the same code would silently overwrite the first.
        keys = Counter(
            (str(row.get(self.PLAN_COLUMN) or "").strip(), str(row.get("code") or "").strip())
            for row in dataset.dict
        )
        repeated = sorted(f"{plan} {code}" for (plan, code), seen in keys.items() if seen > 1)
        if repeated:
            raise ValueError(
                _("Ces codes apparaissent plus d'une fois dans le fichier : %(codes)s.")
                % {"codes": ", ".join(repeated)}
            )

    def dehydrate_status_reason(self, action):
        return ""

    def get_instance(self, instance_loader, row):
        try:
            return super().get_instance(instance_loader, row)
        except ValueError:
            # An unknown plan: treat the row as new so that import_instance reports the
            # plan together with the row's other mistakes, in words.
            return None

    def import_instance(self, instance, row, **kwargs):
        errors = {}
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as error:
            errors = error.update_error_dict(errors)
        if instance.plan_id is None and "plan" not in errors:
            errors["plan"] = [
                _("Indiquez le plan (son identifiant, par exemple casal-2016-2020).")
            ]
        if "plan" not in errors and "code" not in errors:
            try:
                instance.sub_objective = self._sub_objective_for(instance)
            except ValidationError as error:
                errors = error.update_error_dict(errors)
        # Many-to-many columns are saved after the row; check them now so that a wrong
        # period is reported on its row like any other mistake.
        periods = self.fields["periods"]
        if periods.column_name in row:
            try:
                periods.clean(row, **kwargs)
            except ValueError as error:
                errors["periods"] = [str(error)]
        if errors:
            raise ValidationError(errors)

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        try:
            super().validate_instance(instance, import_validation_errors, validate_unique)
        except ValidationError as error:
            errors = error.message_dict
            if self.PLAN_COLUMN in errors or "code" in errors:
                # The sub-objective comes from plan and code: its error would only repeat theirs.
                errors.pop("sub_objective", None)
            raise ValidationError(errors) from None

    def _sub_objective_for(self, action):
        if not action.code or not re.match(CODE_PATTERN, action.code):
            raise ValidationError(
                {
                    "code": _("Code « %(code)s » mal formé : écrivez par exemple 1.2.3.")
                    % {"code": action.code}
                }
            )
        parts = action.code.split(".")
        if len(parts) < 3:
            raise ValidationError(
                {
                    "code": _(
                        "Le code %(code)s doit avoir au moins trois nombres : "
                        "objectif.sous-objectif.action."
                    )
                    % {"code": action.code}
                }
            )
        if len(action.code) > Action._meta.get_field("code").max_length:
            # The model's check says the code is too long; its numbers may be longer than a
            # query accepts (int() reads 4300 digits at most).
            return None
        sub_objective = (
            SubObjective.objects.select_related("objective")
            .filter(objective__plan=action.plan, objective__number=parts[0], number=parts[1])
            .first()
        )
        if sub_objective is None:
            raise ValidationError(
                {
                    "code": _("Le plan n'a pas de sous-objectif %(sub)s pour l'action %(code)s.")
                    % {"sub": ".".join(parts[:2]), "code": action.code}
                }
            )
        return sub_objective

    def postponement(self, instance, row, **kwargs):
        """When a row postpones its action: see postponement_choice()."""
        periods = self.fields["periods"]
        if not instance.pk or periods.column_name not in row:
            return postponement_choice(None, None)
        before = set(instance.periods.values_list("pk", flat=True))
        return postponement_choice(before, list(periods.clean(row, **kwargs)))

    def save_instance(self, instance, is_create, row, **kwargs):
        if self._is_dry_run(kwargs) and not self._is_using_transactions(kwargs):
            return
        try:
            change_status(
                action=instance,
                status=instance.status,
                user=kwargs.get("user"),
                reason=str(row.get(self.REASON_COLUMN) or ""),
                **self.postponement(instance, row, **kwargs),
            )
        except ValidationError as error:
            if "reason" in error.message_dict:
                raise ValidationError({self.REASON_COLUMN: error.message_dict["reason"]}) from None
            raise self.in_column_names(error) from None
