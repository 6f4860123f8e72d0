from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class PlansConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "plans"
    verbose_name = _("Plans")

    def ready(self):
        from plans.groups import ensure_groups

        # Permissions only exist once every app has migrated, hence post_migrate.
        post_migrate.connect(ensure_groups, dispatch_uid="plans.ensure_groups")
