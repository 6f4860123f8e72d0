"""The two groups a coalition needs: coordination changes plan data, members read it."""

from django.apps import apps as global_apps
from django.contrib.auth.models import Group, Permission
from django.utils.translation import gettext_lazy as _

COORDINATION = "Coordination"
MEMBERS = "Membres"
PLAN_DATA_APPS = ("plans", "actions", "partners")

GROUP_DESCRIPTIONS = {
    COORDINATION: _("Peut modifier les données des plans"),
    MEMBERS: _("Peut consulter les données des plans"),
}


def ensure_groups(sender=None, apps=global_apps, **kwargs):
    """Create both groups and give them every permission of the plan-data apps.

    Runs after each migrate, so a model added later is granted without a data migration.
    """
    # Each plan-data app's permissions appear with its own post_migrate; grant as they come.
    if sender is not None and sender.name not in PLAN_DATA_APPS:
        return
    plan_data = Permission.objects.filter(content_type__app_label__in=PLAN_DATA_APPS)
    coordination, _created = Group.objects.get_or_create(name=COORDINATION)
    coordination.permissions.add(*plan_data)
    members, _created = Group.objects.get_or_create(name=MEMBERS)
    members.permissions.add(*plan_data.filter(codename__startswith="view_"))
