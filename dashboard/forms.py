from django import forms
from django.conf import settings
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from actions.models import Action

# The empty choice agrees with the filter's noun: Statut : Tous, Période : Toutes.
ANY = [("", pgettext_lazy("filter", "Tous"))]
ANY_FEMININE = [("", pgettext_lazy("filter, feminine", "Toutes"))]


class ActionFilterForm(forms.Form):
    """The plan page's filters. A GET form, so each filter state has its own address.

    Choices come from lists the page has already fetched, so the form adds no query.
    """

    q = forms.CharField(label=_("Recherche"), required=False)
    status = forms.ChoiceField(label=_("Statut"), required=False)
    period = forms.TypedChoiceField(label=_("Période"), required=False, coerce=int)
    objective = forms.TypedChoiceField(label=_("Objectif"), required=False, coerce=int)
    organisation = forms.TypedChoiceField(
        label=_("Porteur ou partenaire"), required=False, coerce=int
    )
    theme = forms.TypedChoiceField(label=_("Thème"), required=False, coerce=int)
    late = forms.BooleanField(label=_("En retard seulement"), required=False)

    def __init__(self, data, *, periods, objectives, organisations, themes):
        super().__init__(data)
        self.fields["status"].choices = ANY + list(Action.Status.choices)
        self.fields["period"].choices = ANY_FEMININE + [(p.pk, p.label) for p in periods]
        self.fields["objective"].choices = ANY + [(o.pk, str(o)) for o in objectives]
        self.fields["organisation"].choices = ANY + [(o.pk, o.name) for o in organisations]
        self.fields["theme"].choices = ANY + [(t.pk, t.name) for t in themes]

    def filter(self, actions):
        """`actions` narrowed to the valid filters; an invalid one is ignored, not an error."""
        if not self.is_bound:
            return actions
        self.is_valid()
        data = {name: value for name, value in self.cleaned_data.items() if value}
        if term := data.get("q", "").strip():
            actions = actions.filter(
                Q(title__icontains=term) | Q(means__icontains=term) | Q(code__startswith=term)
            )
        if "status" in data:
            actions = actions.filter(status=data["status"])
        if "objective" in data:
            actions = actions.filter(sub_objective__objective=data["objective"])
        # Many-valued filters go through a subquery: a join would repeat rows and skew the
        # annotations (progress, late) that the page reads.
        for name, lookup in [
            ("period", "periods"),
            ("organisation", "partner_links__organisation"),
            ("theme", "themes"),
        ]:
            if name in data:
                actions = actions.filter(
                    pk__in=Action.objects.filter(**{lookup: data[name]}).values("pk")
                )
        if data.get("late"):
            actions = actions.filter(is_late=True)
        return actions

    @property
    def is_filtered(self):
        return self.is_bound and any(self.cleaned_data.get(name) for name in self.fields)


class SinceForm(forms.Form):
    since = forms.DateField(
        label=_("Depuis le"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )


class WorkbookForm(SinceForm):
    """The workbook's choices: changes since which date, and in which language."""

    language = forms.ChoiceField(
        label=_("Langue du classeur"), required=False, choices=settings.LANGUAGES
    )

    def language_or(self, default):
        # A mistyped date does not cost the language chosen beside it.
        self.is_valid()
        return getattr(self, "cleaned_data", {}).get("language") or default
