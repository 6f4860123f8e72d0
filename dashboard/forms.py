from django import forms
from django.conf import settings
from django.db.models import Q
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from actions.models import Action

# The empty choice agrees with the filter's noun: Statut : Tous, Période : Toutes.
ANY = [("", pgettext_lazy("filter", "Tous"))]
ANY_FEMININE = [("", pgettext_lazy("filter, feminine", "Toutes"))]


def attributes(attrs):
    """HTML attributes as django/forms/widgets/attrs.html writes them."""
    return format_html_join(
        "",
        "{}",
        (
            (format_html(" {}", name) if value is True else format_html(' {}="{}"', name, value),)
            for name, value in attrs.items()
            if value is not False
        ),
    )


class Select(forms.Select):
    """Django's select, the same HTML, with its options written in Python rather than through
    one template render each (about 50 on the plan page, 10 % of its time)."""

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        parts = [format_html('<select name="{}"{}>', widget["name"], attributes(widget["attrs"]))]
        for group_name, options, _index in widget["optgroups"]:
            if group_name:
                parts.append(format_html('\n  <optgroup label="{}">', group_name))
            parts.extend(
                format_html(
                    '\n  <option value="{}"{}>{}</option>\n',
                    str(option["value"]),
                    attributes(option["attrs"]),
                    option["label"],
                )
                for option in options
            )
            if group_name:
                parts.append(mark_safe("\n  </optgroup>"))
        parts.append(mark_safe("\n</select>"))
        return mark_safe("".join(parts))


class ActionFilterForm(forms.Form):
    """The plan page's filters. A GET form, so each filter state has its own address.

    Choices come from lists the page has already fetched, so the form adds no query.
    """

    q = forms.CharField(label=_("Recherche"), required=False)
    status = forms.ChoiceField(label=_("Statut"), required=False, widget=Select)
    period = forms.TypedChoiceField(label=_("Période"), required=False, coerce=int, widget=Select)
    objective = forms.TypedChoiceField(
        label=_("Objectif"), required=False, coerce=int, widget=Select
    )
    organisation = forms.TypedChoiceField(
        label=_("Porteur ou partenaire"), required=False, coerce=int, widget=Select
    )
    theme = forms.TypedChoiceField(label=_("Thème"), required=False, coerce=int, widget=Select)
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
