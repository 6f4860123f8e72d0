from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DashboardConfig(AppConfig):
    """The members' progress dashboard: read-only pages over plans, actions and partners."""

    name = "dashboard"
    verbose_name = _("Tableau de bord")
