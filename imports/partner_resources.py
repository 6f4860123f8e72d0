from django.utils.translation import gettext_lazy as _
from import_export import fields, widgets

from imports.resources import ChoiceWidget, PlanDataResource, SlugWidget
from partners.models import Organisation
from plans.models import Coalition


class OrganisationResource(PlanDataResource):
    name = fields.Field(attribute="name", column_name="nom", widget=widgets.CharWidget())
    short_name = fields.Field(
        attribute="short_name", column_name="nom court", widget=widgets.CharWidget()
    )
    kind = fields.Field(
        attribute="kind",
        column_name="type",
        widget=ChoiceWidget(Organisation.Kind, default=Organisation.Kind.NOT_SPECIFIED),
    )
    coalition = fields.Field(
        attribute="coalition",
        column_name="coalition",
        widget=SlugWidget(
            Coalition,
            _("Coalition inconnue : « %(value)s ». Coalitions connues : %(known)s."),
        ),
    )
    notes = fields.Field(attribute="notes", column_name="notes", widget=widgets.CharWidget())

    class Meta:
        model = Organisation
        fields = ["name", "short_name", "kind", "coalition", "notes"]
        import_id_fields = ["name"]
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = True

    def get_queryset(self):
        return super().get_queryset().select_related("coalition")

    def named_rows(self, dataset):
        names = {str(row.get("nom") or "").strip() for row in dataset.dict}
        return self.get_queryset().filter(name__in=names)
