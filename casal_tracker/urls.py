from django.contrib import admin
from django.urls import include, path

from backoffice.admin import view_on_site

urlpatterns = [
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
