"""The admin's list imports (django-import-export) between their preview and their confirmation.

import-export keeps the uploaded file in a "temporary storage" between the two steps, and its
default is a file in the server's temporary folder, named by the confirmation form: behind a
load balancer the confirmation may reach another server, and a forged name would read or
delete any file there. Here the file is a row of UploadedTable, found by a random token AND
its owner: a token posted by anyone else finds nothing.

The confirmation also carries the preview's fingerprint: the import runs again with the rows
locked, and if what it would write differs from what the preview showed (someone saved one of
its rows meanwhile, or another import went first), nothing is written.
"""

import contextlib
import contextvars
import datetime
import secrets

from django import forms
from django.contrib import messages
from django.contrib.admin.templatetags.admin_urls import admin_urlname
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from import_export.forms import ConfirmImportForm
from import_export.tmp_storages import BaseStorage

from imports.resources import result_fingerprint
from plans.models import UploadedTable

KEPT_FOR = datetime.timedelta(days=1)
# import-export builds its storage without the request: the admin says whose file it is.
_owner = contextvars.ContextVar("pending_import_owner", default=None)


@contextlib.contextmanager
def owned_by(user):
    token = _owner.set(user)
    try:
        yield
    finally:
        _owner.reset(token)


def pending(token):
    """The upload `token` of the person importing, if it is still there."""
    user = _owner.get()
    if user is None or not token:
        return UploadedTable.objects.none()
    return UploadedTable.objects.filter(token=token, user=user, kind=UploadedTable.Kind.LIST_ROWS)


class PendingImportMissing(Exception):
    pass


class DatabaseStorage(BaseStorage):
    """The pending file in the database, for its owner only (the admins' tmp_storage_class,
    set by PendingImportAdminMixin)."""

    def save(self, data):
        if isinstance(data, str):
            data = data.encode(self.encoding or "utf-8")
        UploadedTable.objects.filter(created_at__lt=timezone.now() - KEPT_FOR).delete()
        self.name = secrets.token_hex(16)
        UploadedTable.objects.create(
            token=self.name,
            user=_owner.get(),
            kind=UploadedTable.Kind.LIST_ROWS,
            name=self.name,
            data=data,
        )

    def read(self):
        data = pending(self.name).values_list("data", flat=True).first()
        if data is None:
            raise PendingImportMissing(self.name)
        data = bytes(data)
        return data if "b" in self.read_mode else data.decode(self.encoding or "utf-8")

    def remove(self):
        pending(self.name).delete()


class FingerprintedConfirmForm(ConfirmImportForm):
    fingerprint = forms.CharField(widget=forms.HiddenInput, required=False)


class PendingImportAdminMixin:
    """For ImportExportModelAdmin: pending files in the database for their owner, and a
    confirmation that writes exactly what the preview showed, or nothing."""

    tmp_storage_class = DatabaseStorage
    confirm_form_class = FingerprintedConfirmForm

    def import_action(self, request, **kwargs):
        with owned_by(request.user):
            response = super().import_action(request, **kwargs)
        context = getattr(response, "context_data", None) or {}
        if context.get("confirm_form") is not None:
            # Rendered later: the form still takes what the preview found.
            context["confirm_form"].initial["fingerprint"] = result_fingerprint(context["result"])
        return response

    @method_decorator(require_POST)
    def process_import(self, request, **kwargs):
        if not self.has_import_permission(request):
            raise PermissionDenied
        with owned_by(request.user):
            try:
                if pending(request.POST.get("import_file_name", "")).exists():
                    return super().process_import(request, **kwargs)
            except PendingImportMissing:
                pass  # removed between the check and the read: a second tab confirmed it
        messages.error(
            request, _("L'aperçu a expiré ou le fichier n'est plus là : importez-le de nouveau.")
        )
        return redirect(admin_urlname(self.opts, "import"))

    def get_import_data_kwargs(self, **kwargs):
        form = kwargs.get("form")
        if isinstance(form, FingerprintedConfirmForm):
            kwargs["expected_fingerprint"] = form.cleaned_data.get("fingerprint")
        return super().get_import_data_kwargs(**kwargs)
