"""No silent overwrite: every admin form remembers which version of its object it showed.

The version is the object's latest historical record (every plan-data model keeps its
history). When someone else saved the object after the form was opened, the save is refused
with who, when and what changed; the refused form comes back with the person's own values
in it, so nothing typed is lost. Inline rows and list rows carry their own version: Django
would otherwise write a stale page's untouched rows over the newer ones.
"""

from functools import cached_property

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Max
from django.forms.models import BaseInlineFormSet, BaseModelFormSet
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _

from plans.history import ReadableHistoryHelper

VERSION_FIELD = "loaded_version"


def latest_records(model, pks):
    """{pk: latest historical record} for these objects of `model`, in two queries."""
    pks = [pk for pk in pks if pk is not None]
    if not pks:
        return {}
    history = model.history.model
    latest = (
        history.objects.filter(id__in=pks)
        .values("id")
        .annotate(latest=Max("history_id"))
        .values("latest")
    )
    records = history.objects.filter(history_id__in=latest).select_related("history_user")
    return {record.id: record for record in records}


def version_of(record):
    return str(record.history_id) if record is not None else ""


class VersionedModelForm(forms.ModelForm):
    """A model form refused when its object changed since it was shown."""

    loaded_version = forms.CharField(widget=forms.HiddenInput, required=False)

    @cached_property
    def latest(self):
        # Formsets fill this for all their rows at once; a lone form asks for itself.
        if not self.instance.pk:
            return None
        return latest_records(type(self.instance), [self.instance.pk]).get(self.instance.pk)

    def get_initial_for_field(self, field, field_name):
        if field_name == VERSION_FIELD:
            return version_of(self.latest)
        return super().get_initial_for_field(field, field_name)

    def clean(self):
        cleaned = super().clean()
        loaded = cleaned.get(VERSION_FIELD)
        # An empty version comes from a page that did not show this object's version.
        if self.instance.pk and loaded and loaded != version_of(self.latest):
            raise ValidationError(self.stale_message(loaded), code="stale")
        return cleaned

    def stale_message(self, loaded):
        latest = self.latest
        who = latest.history_user or _("quelqu'un")
        when = formats.date_format(timezone.localtime(latest.history_date), "DATETIME_FORMAT")
        if latest.history_type == "-":
            return _(
                "%(who)s a supprimé « %(object)s » le %(when)s, après que vous avez ouvert "
                "la page. Vos changements ne sont pas enregistrés ; ils restent dans le "
                "formulaire. Rechargez la page dans un autre onglet, puis reportez-y vos "
                "changements (la Corbeille de la liste peut restaurer ce qui a été supprimé)."
            ) % {"who": who, "object": self.instance, "when": when}
        return _(
            "%(who)s a enregistré « %(object)s » le %(when)s, après que vous l'avez ouvert. "
            "Vos changements ne sont pas enregistrés ; ils restent dans le formulaire. Ce qui "
            "a changé : %(changes)s. Rechargez la page dans un autre onglet, puis reportez-y "
            "vos changements."
        ) % {
            "who": who,
            "object": self.instance,
            "when": when,
            "changes": "; ".join(self.changes_since(loaded)) or _("d'autres champs"),
        }

    def changes_since(self, loaded):
        """The fields of this form that changed after version `loaded`, as readable text."""
        model = type(self.instance)
        seen = model.history.filter(history_id=loaded, id=self.instance.pk).first()
        if seen is None:
            return []
        # Only what history keeps: some many-to-many fields (related actions) are not kept.
        kept = {field.name for field in seen._meta.fields} | {
            field.name for field in seen._history_m2m_fields
        }
        shown = [name for name in self.fields if name in kept and name != VERSION_FIELD]
        delta = self.latest.diff_against(seen, included_fields=shown)
        return ReadableHistoryHelper(model, self.latest).readable_changes(delta)


class VersionedFormSetMixin:
    """Reads every row's version in one query, for a constant number of queries per page.

    A row that someone deleted after the page was shown stays in the page, as it was when
    deleted, refused with who deleted it: Django would drop it and draw the next rows under
    the wrong captions, losing what was typed in them."""

    @cached_property
    def latest_records(self):
        return latest_records(self.model, [obj.pk for obj in self.get_queryset()])

    def get_queryset(self):
        if not hasattr(self, "_rows"):
            rows = list(super().get_queryset())
            if self.is_bound:
                rows = self._with_deleted_rows(rows)
            self._rows = rows
        return self._rows

    def _with_deleted_rows(self, rows):
        live = {str(obj.pk): obj for obj in rows}
        pk_name = self.model._meta.pk.name
        posted = [
            self.data.get(self.add_prefix(f"{i}-{pk_name}"), "")
            for i in range(self.initial_form_count())
        ]
        missing = [pk for pk in posted if pk and pk not in live]
        if not missing:
            return rows
        gone = {}
        for record in self.model.history.filter(id__in=missing, history_type="-").order_by(
            "history_id"
        ):
            gone[str(record.id)] = record.instance
        ordered = [live.pop(pk, None) or gone.get(pk) for pk in posted]
        if None in ordered:
            return rows  # not ours to explain: Django's own error stands
        return [*ordered, *live.values()]

    def _construct_form(self, i, **kwargs):
        form = super()._construct_form(i, **kwargs)
        if isinstance(form, VersionedModelForm) and form.instance.pk:
            form.latest = self.latest_records.get(form.instance.pk)
        return form


class VersionedInlineFormSet(VersionedFormSetMixin, BaseInlineFormSet):
    pass


class VersionedModelFormSet(VersionedFormSetMixin, BaseModelFormSet):
    pass
