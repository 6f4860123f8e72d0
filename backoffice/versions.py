"""The admin forms' side of "no silent overwrite": each form, inline row and list row
carries the version it showed (plans/versions.py says how a save compares it)."""

from functools import cached_property

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import UniqueConstraint
from django.forms.models import BaseInlineFormSet, BaseModelFormSet, InlineForeignKeyField
from django.utils import formats
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from plans.versions import (
    READ_FIRST,
    VERSION_FIELD,
    StaleVersion,
    check_version,
    in_transaction,
    latest_records,
    lock,
    stale_message,
    version_of,
)


class VersionedModelForm(forms.ModelForm):
    """A model form refused when its object changed since it was shown."""

    loaded_version = forms.CharField(widget=forms.HiddenInput, required=False)

    @cached_property
    def latest(self):
        # Formsets fill this for all their rows at once, and the admin reads it before the
        # object (read_version_first); a lone form asks for itself.
        if not self.instance.pk:
            return None
        if hasattr(self.instance, READ_FIRST):
            return getattr(self.instance, READ_FIRST)
        return latest_records(type(self.instance), [self.instance.pk]).get(self.instance.pk)

    def get_initial_for_field(self, field, field_name):
        if field_name == VERSION_FIELD:
            return version_of(self.latest)
        return super().get_initial_for_field(field, field_name)

    def _post_clean(self):
        super()._post_clean()
        # Django leaves an inline row's own foreign key out of the constraint checks, so a
        # unique constraint on it (the same partner twice on an action, the same period
        # label twice in a plan) reached the database as an IntegrityError: check those here.
        inline_keys = {
            name for name, field in self.fields.items() if isinstance(field, InlineForeignKeyField)
        }
        if not inline_keys:
            return
        exclude = self._get_validation_exclusions() - inline_keys
        for constraint in self.instance._meta.constraints:
            if isinstance(constraint, UniqueConstraint) and inline_keys & set(constraint.fields):
                try:
                    constraint.validate(type(self.instance), self.instance, exclude=exclude)
                except ValidationError as error:
                    self._update_errors(error)

    def clean(self):
        cleaned = super().clean()
        # A form posted without the field (a page that showed no version) compares nothing.
        if self.add_prefix(VERSION_FIELD) in self.data:
            check_version(
                self.instance, cleaned.get(VERSION_FIELD, ""), self.latest, self.compared_fields()
            )
        return cleaned

    def compared_fields(self):
        """The fields a refusal names when they changed meanwhile: the form's own."""
        return list(self.fields)


class VersionedFormSetMixin:
    """Reads every row's version in one query, for a constant number of queries per page.

    A row that someone deleted after the page was shown stays in the page, as it was when
    deleted, refused with who deleted it: Django would drop it and draw the next rows under
    the wrong captions, losing what was typed in them."""

    @cached_property
    def empty_form(self):
        # Django builds the template row anew at each use (the header, each pass over the
        # rows for the page's media and scripts, the row itself): four forms per inline.
        return super().empty_form

    @cached_property
    def latest_records(self):
        return latest_records(self.model, [obj.pk for obj in self.get_queryset()])

    def get_queryset(self):
        if not hasattr(self, "_rows"):
            if self.is_bound:
                if in_transaction():
                    # Saved: the rows locked before they are read, so their versions are
                    # compared with the rows as the last save committed them.
                    lock(super().get_queryset())
            elif issubclass(self.form, VersionedModelForm):
                # Shown: each row's version read before the row (see the module's docstring).
                self.latest_records = latest_records(self.model, super().get_queryset())
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
    def add_fields(self, form, index):
        super().add_fields(form, index)
        if "DELETE" in form.fields:
            # The row's box sits under a "Supprimer ?" header, not a <label>: its own name.
            form.fields["DELETE"].widget.attrs.setdefault("aria-label", _("Supprimer cette ligne"))


class VersionedModelFormSet(VersionedFormSetMixin, BaseModelFormSet):
    pass


class SeenValuesForm(forms.ModelForm):
    """A row of an admin list. Each editable value is posted with the value the list showed
    (Django's hidden initial, read with the row itself), and a row she changed whose shown
    values someone changed since is refused, compared with the row as it stands, locked.
    Only what the row shows is saved from it: the rest of the row is read afresh."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.show_hidden_initial = True

    def clean(self):
        cleaned = super().clean()
        # A row she left as it was is not saved (compared with what it showed), so it cannot
        # overwrite a newer save: only the rows she changed are checked.
        if not (self.is_bound and self.instance.pk and self.has_changed()):
            return cleaned
        changes = []
        for name, field in self.fields.items():
            if not field.show_hidden_initial:  # the row's id, which the formset adds
                continue
            seen = field.hidden_widget().value_from_datadict(
                self.data, self.files, self.add_initial_prefix(name)
            )
            now = self.get_initial_for_field(field, name)
            if field.has_changed(now, seen):
                label = capfirst(field.label or name)
                changes.append(f"{label} : {shown(field, seen)} → {shown(field, now)}")
        if changes:
            latest = latest_records(type(self.instance), [self.instance.pk]).get(self.instance.pk)
            if latest is not None:
                message = stale_message(self.instance, latest, changes)
            else:
                message = _(
                    "Cette ligne a changé depuis l'affichage de la liste : %(changes)s."
                ) % {"changes": "; ".join(changes)}
            raise StaleVersion(message, code="stale")
        return cleaned


def shown(field, value):
    """A value of `field` as the list shows it: a choice by its label, nothing as "—"."""
    if value in (None, ""):
        return "—"
    choices = getattr(field, "choices", None)
    if choices is not None and not hasattr(field, "queryset"):
        return str(dict(field.choices).get(value, value))
    return str(formats.localize(value))
