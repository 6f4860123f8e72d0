from django.contrib import admin
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path

from backoffice.admin import view_on_site


def favicon(request):
    """Browsers ask for /favicon.ico on every page, the admin's too: the static file answers.
    Not a permanent redirect: the file's hashed name changes when the icon does."""
    return redirect(static("favicon.ico"))


urlpatterns = [
    path("favicon.ico", favicon),
    path("i18n/", include("django.conf.urls.i18n")),
    # Before the admin's own: its "view on site" redirect checks no coalition.
    path("admin/r/<int:content_type_id>/<path:object_id>/", view_on_site),
    path("admin/", admin.site.urls),
    path("comptes/", include("django.contrib.auth.urls")),
    path("", include("reports.urls")),
    path("", include("dashboard.urls")),
]

# A database outage answers 503 "try again shortly", not a 500 (casal_tracker/errors.py).
handler500 = "casal_tracker.errors.server_error"
