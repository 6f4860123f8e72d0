"""What every plan-data ModelAdmin and inline shares: coalition scoping, no silent
overwrite, readable history, and the trash."""

import functools
import json
from urllib.parse import quote as urlquote

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.templatetags.admin_urls import admin_urlname
from django.contrib.admin.utils import flatten_fieldsets, quote, unquote
from django.contrib.admin.widgets import RelatedFieldWidgetWrapper
from django.contrib.contenttypes import views as contenttype_views
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, OperationalError, models, router, transaction
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from backoffice import trash, wording
from backoffice.history import HistoryAdmin
from backoffice.rendering import RENDERER
from backoffice.scoping import CoalitionScopedAdmin
from backoffice.versions import (
    SeenValuesForm,
    VersionedInlineFormSet,
    VersionedModelForm,
    VersionedModelFormSet,
)
from backoffice.widgets import DateInput
from backoffice.wording import Noun
from plans.services import save_with_author, set_author
from plans.versions import VERSION_FIELD, in_transaction, is_conflict, lock, read_version_first

admin.site.site_header = _("Suivi des plans d'action en sécurité alimentaire")
admin.site.site_title = _("Suivi des plans")
admin.site.index_title = _("Tableau de bord de la coordination")
# The breadcrumbs already say where one is; the action list needs the width.
admin.site.enable_nav_sidebar = False


@admin.site.admin_view
def view_on_site(request, content_type_id, object_id):
    """The admin's "view on site" link, for objects the person may see in the admin only:
    Django's own shortcut would redirect anyone to any object's address, a private plan's
    name included."""
    try:
        model = ContentType.objects.get_for_id(content_type_id).model_class()
    except ContentType.DoesNotExist:
        raise Http404 from None
    model_admin = admin.site._registry.get(model)
    obj = model_admin.get_object(request, unquote(object_id)) if model_admin else None
    if obj is None or not model_admin.has_view_permission(request, obj):
        raise Http404
    return contenttype_views.shortcut(request, content_type_id, object_id)


class PlainFormsMixin:
    """Form fields that fit a non-technical coordinator's screen: native date pickers, and
    next to a menu only the "add" button: editing or deleting a sub-objective or an
    organisation from inside an action's page would change it for every action."""

    formfield_overrides = {models.DateField: {"widget": DateInput}}

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        widget = getattr(formfield, "widget", None)
        if isinstance(widget, RelatedFieldWidgetWrapper):
            widget.can_change_related = False
            widget.can_delete_related = False
            widget.can_view_related = False
            widget.__class__ = RenderedWidgetWrapper
        return formfield


class RenderedWidgetWrapper(RelatedFieldWidgetWrapper):
    """Django's wrapper (the menu and its "add" button), whose menu is drawn by the form's
    renderer (backoffice/rendering.py) where Django's draws it with the site's default."""

    def render(self, name, value, attrs=None, renderer=None):
        inner = self.widget
        inner.render = functools.partial(type(inner).render, inner, renderer=renderer)
        try:
            return super().render(name, value, attrs, renderer)
        finally:
            del inner.render


class VersionedAdminMixin:
    """Forms, inline rows and list rows that refuse to overwrite a newer save
    (backoffice/versions.py)."""

    form = VersionedModelForm

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        names = flatten_fieldsets(fieldsets)
        if not self.has_change_permission(request, obj):
            # Those who only read have no form to protect.
            return [
                (
                    title,
                    {**options, "fields": [f for f in options["fields"] if f != VERSION_FIELD]},
                )
                for title, options in fieldsets
            ]
        if VERSION_FIELD in names:
            return fieldsets
        (title, options), *rest = fieldsets
        return [(title, {**options, "fields": [*options["fields"], VERSION_FIELD]}), *rest]


def retried_once(save):
    """`save()` (a page's saving transaction), run again once if it met another save at the
    same instant: a unique value (a code, a partner of the action) taken that validation could
    not see yet, or a deadlock PostgreSQL broke. The second time, the validation sees the
    other save and the page says so, with what was typed."""
    try:
        return save()
    except (IntegrityError, OperationalError) as error:
        if isinstance(error, OperationalError) and not is_conflict(error):
            raise
        return save()


class WordedInlineAdminFormSet(helpers.InlineAdminFormSet):
    """Django's inline, whose "add a row" button names the row's model as a sentence should
    (« Ajouter une cible », not « Ajouter un objet Cible supplémentaire »)."""

    @property
    def media(self):
        # Django adds up the media of every row, each form's built anew from its widgets;
        # rows with the same widgets have the same media, added once here.
        media = self.opts.media + self.formset.media
        seen = set()
        for inline_admin_form in self:
            widgets = tuple(type(field.widget) for field in inline_admin_form.form.fields.values())
            if widgets not in seen:
                seen.add(widgets)
                media += inline_admin_form.media
        return media

    def inline_formset_data(self):
        data = json.loads(super().inline_formset_data())
        if noun := Noun.of(self.formset.model):
            data["options"]["addText"] = noun.say(wording.ADD_ROW)
        return json.dumps(data)


class WordedAdminMixin:
    """The admin's titles and messages in sentences that agree with the model
    (backoffice/wording.py), where Django writes « Ajout de action » or « L'objet action … a
    été modifié avec succès ». A title a caller passed in extra_context is kept."""

    def noun(self):
        return Noun.of(self.model)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        noun = self.noun()
        name = self.opts.verbose_name
        generic = {
            gettext("Add %s") % name,
            gettext("Change %s") % name,
            gettext("View %s") % name,
        }
        if noun and context.get("title") in generic:
            if add:
                context["title"] = noun.say(wording.ADD)
            elif self.has_change_permission(request, obj):
                context["title"] = noun.say(wording.CHANGE)
            else:
                context["title"] = noun.say(wording.VIEW)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        if noun := self.noun():
            if changelist.is_popup:
                changelist.title = noun.say(wording.CHOOSE)
            elif self.has_change_permission(request):
                changelist.title = noun.say(wording.CHOOSE_TO_CHANGE)
            else:
                changelist.title = noun.say(wording.CHOOSE_TO_VIEW)
        return changelist

    def render_delete_form(self, request, context):
        if noun := self.noun():
            cannot = context.get("perms_lacking") or context.get("protected")
            context["title"] = noun.say(wording.CANNOT_DELETE if cannot else wording.DELETE)
        return super().render_delete_form(request, context)

    def history_view_title(self, request, obj):
        if noun := self.noun():
            return noun.say(wording.HISTORY, obj=obj)
        return super().history_view_title(request, obj)

    def history_form_view_title(self, request, obj):
        if noun := self.noun():
            old = self.revert_disabled(request, obj)
            return noun.say(wording.OLD_VERSION if old else wording.REVERT, obj=obj)
        return super().history_form_view_title(request, obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        noun = self.noun()
        if noun and "delete_selected" in actions:
            function, name, _description = actions["delete_selected"]
            # Django formats the description with the model's names: no "%" left for it.
            description = noun.say(wording.DELETE_SELECTED).replace("%", "%%")
            actions["delete_selected"] = (function, name, description)
        return actions

    def get_inline_formsets(self, request, formsets, inline_instances, obj=None):
        inline_admin_formsets = super().get_inline_formsets(
            request, formsets, inline_instances, obj
        )
        for inline_admin_formset in inline_admin_formsets:
            # Django builds them itself; only the button's words differ.
            inline_admin_formset.__class__ = WordedInlineAdminFormSet
        return inline_admin_formsets

    # --- Messages: Django's response_* send them through message_user, already worded. ---

    def saved_message(self, request, obj, done):
        """The sentence saying `obj` was added or changed, linked to it as Django does, and
        what the page below offers."""
        noun = self.noun()
        if self.has_change_permission(request, obj):
            url = reverse(admin_urlname(obj._meta, "change"), args=(quote(obj.pk),))
            obj_repr = format_html('<a href="{}">{}</a>', urlquote(url), obj)
        else:
            obj_repr = obj
        sentences = [noun.say_html(done, obj=obj_repr)]
        if "_continue" in request.POST or "_saveasnew" in request.POST:
            sentences.append(noun.say_html(wording.EDIT_AGAIN))
        elif "_addanother" in request.POST:
            sentences.append(noun.say_html(wording.ADD_ANOTHER_BELOW))
        return format_html("{} {}", *sentences) if len(sentences) > 1 else sentences[0]

    def response_add(self, request, obj, post_url_continue=None):
        if self.noun():
            request.worded_message = self.saved_message(request, obj, wording.ADDED)
        return super().response_add(request, obj, post_url_continue)

    def response_change(self, request, obj):
        if self.noun():
            done = wording.ADDED if "_saveasnew" in request.POST else wording.CHANGED
            request.worded_message = self.saved_message(request, obj, done)
        return super().response_change(request, obj)

    def response_delete(self, request, obj_display, obj_id):
        if noun := self.noun():
            request.worded_message = noun.say(wording.DELETED, obj=obj_display)
        return super().response_delete(request, obj_display, obj_id)

    def message_user(self, request, message, level=messages.INFO, *args, **kwargs):
        worded = getattr(request, "worded_message", None)
        if worded is not None and level == messages.SUCCESS:
            message, request.worded_message = worded, None
        return super().message_user(request, message, level, *args, **kwargs)

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        noun = Noun.of(opts.model)
        if noun is None:
            return super()._get_obj_does_not_exist_redirect(request, opts, object_id)
        self.message_user(
            request, noun.say(wording.NOT_FOUND, key=unquote(object_id)), messages.WARNING
        )
        return HttpResponseRedirect(reverse("admin:index", current_app=self.admin_site.name))


def name_widgets(form_class, names=None):
    """Gives each field's widget its label as its accessible name, where the page shows the
    label as a column header and not as a <label> (tabular rows, the list's editable
    columns): axe-core, and screen readers, find no name otherwise."""
    for name, field in form_class.base_fields.items():
        if names is None or name in names:
            field.widget.attrs.setdefault("aria-label", capfirst(field.label or name))


class PlanDataAdmin(
    WordedAdminMixin, CoalitionScopedAdmin, PlainFormsMixin, VersionedAdminMixin, HistoryAdmin
):
    """Every plan-data admin: its coalitions only (backoffice/scoping.py), with history, and no
    silent overwrite, even for two saves at the same instant: every page that saves does so
    in one transaction that locks what it compares before reading it (backoffice/versions.py)."""

    # A long page's buttons at its top as well as at its bottom.
    save_on_top = True

    @property
    def media(self):
        media = super().media
        if self.list_editable:
            # Changed rows say they are not saved yet (static/js/unsaved-rows.js).
            media += forms.Media(js=["js/unsaved-rows.js"])
        return media

    def get_object(self, request, object_id, from_field=None):
        field = self.model._meta.get_field(from_field) if from_field else self.opts.pk
        try:
            value = field.to_python(object_id)
            field.run_validators(value)  # e.g. an id past the column's range
        except ValidationError:
            return None
        if not field.primary_key:
            if request.method == "POST" and in_transaction():
                lock(self.model._base_manager.filter(**{field.name: value}))
            return super().get_object(request, object_id, from_field)
        if request.method == "POST" and in_transaction():
            # In one statement, so in primary-key order: two saves locking the same rows
            # never wait for each other crosswise.
            lock(self.model._base_manager.filter(pk__in=self.saved_with(request, value)))
        # Its version read before it, for its form (plans/versions.py).
        return read_version_first(
            self.model,
            value,
            lambda: super(PlanDataAdmin, self).get_object(request, object_id, from_field),
        )

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        form.default_renderer = RENDERER  # the same HTML, drawn faster (rendering.py)
        return form

    def action_checkbox(self, obj):
        # Django's checkbox of every list row, drawn by the faster renderer: same HTML.
        attrs = {
            "class": "action-select",
            "aria-label": format_html(gettext("Select this object for an action - {}"), str(obj)),
        }
        checkbox = forms.CheckboxInput(attrs, lambda value: False)
        return checkbox.render(helpers.ACTION_CHECKBOX_NAME, str(obj.pk), renderer=RENDERER)

    def saved_with(self, request, pk):
        """The objects of this model that saving object `pk` changes: itself."""
        return {pk}

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return retried_once(
            lambda: super(PlanDataAdmin, self).changeform_view(
                request, object_id, form_url, extra_context
            )
        )

    def changelist_view(self, request, extra_context=None):
        if request.method != "POST":
            return self._changelist_view(request, extra_context)

        def save():
            # The list's editable rows and the bulk actions save in one transaction, which
            # locks the rows before comparing what the person saw with them.
            with transaction.atomic(using=router.db_for_write(self.model)):
                return self._changelist_view(request, extra_context)

        return retried_once(save)

    def get_deleted_objects(self, objs, request):
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        # Rows no one deletes on their own (an action's trail) still go with their parent,
        # whose own deletion permission decides; the trash brings them back with it.
        with_parent = {
            str(model._meta.verbose_name)
            for model, model_admin in self.admin_site._registry.items()
            if getattr(model_admin, "deleted_with_parent_only", False)
        }
        perms_needed = {name for name in perms_needed if str(name) not in with_parent}
        return deleted, counts, perms_needed, protected

    def response_action(self, request, queryset):
        # A bulk action's chosen ids, as posted: one that is no id at all (a forged or
        # mangled page) is refused in words rather than failing the query.
        pk = self.opts.pk
        for value in request.POST.getlist(helpers.ACTION_CHECKBOX_NAME):
            try:
                pk.run_validators(pk.to_python(value))
            except ValidationError:
                self.message_user(
                    request,
                    gettext(
                        "La sélection envoyée est illisible : rien n'a été changé. Rechargez "
                        "la liste et choisissez de nouveau."
                    ),
                    messages.ERROR,
                )
                return HttpResponseRedirect(request.get_full_path())
        return super().response_action(request, queryset)

    def nothing_to_save(self, request, form, change):
        """A page saved for its inline rows only leaves its object, and its version, alone:
        otherwise a colleague's stale page would be refused for a change that is not there.
        A revert saves the old version even when its form is posted untouched."""
        return change and not form.has_changed() and not getattr(request, "reverting", False)

    def save_model(self, request, obj, form, change):
        if not self.nothing_to_save(request, form, change):
            save_with_author(obj, user=request.user)

    def save_formset(self, request, form, formset, change):
        # Every row signed by the person saving, like every other write (plans/services.py).
        for instance in formset.save(commit=False):
            self.save_row(request, instance)
        for deleted in formset.deleted_objects:
            set_author(deleted, user=request.user).delete()
        formset.save_m2m()

    def save_row(self, request, instance):
        """Saves one inline row; an admin whose rows have a service of their own calls it."""
        save_with_author(instance, user=request.user)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        # simple-history lets whoever reads the object post its revert form: saving an old
        # version is a change, for those who may change this object, which still exists (a
        # deleted one comes back through the trash, with its links).
        if request.method != "POST":
            return super().history_form_view(request, object_id, version_id, extra_context)
        with transaction.atomic(using=router.db_for_write(self.model)):
            obj = self.get_object(request, unquote(object_id))  # locked: see get_object
            if obj is None or not self.has_change_permission(request, obj):
                raise PermissionDenied
            request.reverting = True
            return super().history_form_view(request, object_id, version_id, extra_context)

    def get_changelist_form(self, request, **kwargs):
        kwargs.setdefault("form", SeenValuesForm)
        return super().get_changelist_form(request, **kwargs)

    def get_changelist_formset(self, request, **kwargs):
        kwargs.setdefault("formset", VersionedModelFormSet)
        formset = super().get_changelist_formset(request, **kwargs)
        name_widgets(formset.form, self.list_editable)
        return formset

    # --- Deleted objects, restored with what their deletion took (backoffice/trash.py) ---

    def restorable(self, request):
        """Restoring adds the object back: those who may add it may restore it."""
        return self.model in trash.restorable_models() and self.has_add_permission(request)

    def get_urls(self):
        return [
            path(
                "supprimes/",
                self.admin_site.admin_view(self.recover_list_view),
                name=admin_urlname(self.opts, "recover_list").removeprefix("admin:"),
            ),
            path(
                "supprimes/<int:history_id>/",
                self.admin_site.admin_view(self.recover_view),
                name=admin_urlname(self.opts, "recover").removeprefix("admin:"),
            ),
            *super().get_urls(),
        ]

    def _changelist_view(self, request, extra_context):
        if self.restorable(request):
            extra_context = {
                "recover_url": reverse(admin_urlname(self.opts, "recover_list")),
                **(extra_context or {}),
            }
        return super().changelist_view(request, extra_context)

    def recover_list_view(self, request):
        if not self.restorable(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Corbeille : %(objects)s")
            % {"objects": self.opts.verbose_name_plural},
            "records": [
                (record, trash.describe(record.instance))
                for record in trash.deleted_objects(self.model, request.user)
            ],
            "listed": trash.LISTED,
        }
        return TemplateResponse(request, "admin/recover_list.html", context)

    def recover_view(self, request, history_id):
        if not self.restorable(request):
            raise PermissionDenied
        records = trash.deleted_objects(self.model, request.user)
        record = next((r for r in records if r.history_id == history_id), None)
        if record is None:
            messages.warning(
                request, gettext("Cet élément n'est plus dans les éléments supprimés.")
            )
            return redirect(admin_urlname(self.opts, "recover_list"))
        cascade = trash.cascade(record)
        if request.method == "POST":
            try:
                obj, others = trash.restore(record=record, user=request.user)
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
            else:
                self.log_addition(request, obj, [{"added": {}}])
                messages.success(
                    request,
                    ngettext(
                        "Restauré : « %(object)s », avec %(count)d élément supprimé en même "
                        "temps.",
                        "Restauré : « %(object)s », avec %(count)d éléments supprimés en même "
                        "temps.",
                        others,
                    )
                    % {"object": obj, "count": others},
                )
                return redirect(admin_urlname(self.opts, "change"), obj.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Restaurer « %(object)s »")
            % {"object": trash.describe(record.instance)},
            "record": record,
            "object": trash.describe(record.instance),
            "cascade": [
                (r.instance._meta.verbose_name, trash.describe(r.instance))
                for r in cascade
                if r is not record
            ],
        }
        return TemplateResponse(request, "admin/recover_confirm.html", context)


class PlanDataInline(
    CoalitionScopedAdmin, PlainFormsMixin, VersionedAdminMixin, admin.TabularInline
):
    formset = VersionedInlineFormSet
    # Django's tabular inline, each row's cells drawn in Python (backoffice/rendering.py).
    template = "admin/edit_inline/plan_data_tabular.html"

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        name_widgets(formset.form)
        # Its rows and management form: the same HTML, drawn faster (rendering.py).
        formset.renderer = RENDERER
        return formset
