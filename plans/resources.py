"""Import/export widgets shared by the plan-data apps: every refusal says what and why."""

from django.utils import translation
from django.utils.translation import gettext as _
from import_export import widgets


class ChoiceWidget(widgets.Widget):
    """A vocabulary column: accepts the stored value or its French or English label."""

    def __init__(self, choices, default=None, **kwargs):
        self.choices = choices
        self.default = default
        super().__init__(**kwargs)

    def clean(self, value, row=None, **kwargs):
        text = str(value or "").strip()
        if not text:
            if self.default is None:
                raise ValueError(_("Valeur obligatoire. / A value is required."))
            return self.default
        accepted = {}
        for language in ("fr", "en"):
            with translation.override(language):
                for member in self.choices:
                    accepted[str(member.label).casefold()] = member.value
        for member in self.choices:
            accepted[member.value.casefold()] = member.value
        try:
            return accepted[text.casefold()]
        except KeyError:
            raise ValueError(
                _("« %(value)s » n'est pas permis. Valeurs permises : %(allowed)s.")
                % {
                    "value": text,
                    "allowed": ", ".join(str(member.label) for member in self.choices),
                }
            ) from None

    def render(self, value, obj=None, **kwargs):
        return str(self.choices(value).label) if value else ""


class SlugWidget(widgets.ForeignKeyWidget):
    """A foreign key written as the related object's identifier (its slug)."""

    def __init__(self, model, noun, **kwargs):
        self.noun = noun
        super().__init__(model, field="slug", **kwargs)

    def clean(self, value, row=None, **kwargs):
        if not str(value or "").strip():
            return None
        try:
            return super().clean(str(value).strip(), row, **kwargs)
        except self.model.DoesNotExist:
            known = ", ".join(self.get_queryset(value, row).values_list("slug", flat=True))
            raise ValueError(
                _(
                    "Identifiant inconnu (%(noun)s) : « %(value)s ». "
                    "Identifiants connus : %(known)s."
                )
                % {"noun": self.noun, "value": value, "known": known or "—"}
            ) from None
