import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.test.utils import override_settings

from plans.groups import COORDINATION, MEMBERS
from plans.models import Plan

SEED_FIXTURES = ["themes", "casal_2016_2020", "lachine_2018_2021"]
DEMO_USERS = [
    ("coordo", COORDINATION, "Coordonnatrice (démo)"),
    ("membre", MEMBERS, "Membre (démo)"),
]


class Command(BaseCommand):
    help = (
        "Charge les deux plans d'exemple dans une base vide et crée les comptes de démonstration "
        "(développement seulement). / Loads both seeded plans into an empty database and "
        "creates the demo logins (development only)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000/admin/")

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError(
                "Les comptes de démonstration n'existent qu'en développement (DEBUG=1). / "
                "Demo logins exist only in development (DEBUG=1)."
            )
        with transaction.atomic():
            if Plan.objects.exists():
                self.stdout.write(
                    "Plans déjà chargés ; rien n'est écrasé. / Plans already loaded."
                )
            else:
                # loaddata sends many-to-many signals that simple-history would record as
                # stray changes, after which populate_history skips the model entirely.
                with override_settings(SIMPLE_HISTORY_ENABLED=False):
                    call_command("loaddata", *SEED_FIXTURES, verbosity=0)
                call_command("populate_history", auto=True, verbosity=0)
                self.stdout.write(f"{Plan.objects.count()} plans chargés. / plans loaded.")
            logins = [self._demo_user(*spec) for spec in DEMO_USERS]

        self.stdout.write(self.style.SUCCESS(f"\nConnexion / Login: {options['url']}"))
        for username, password, description in logins:
            self.stdout.write(f"  {description:<24} {username} / {password}")

    def _demo_user(self, username, group_name, description):
        # A fresh password at each start: the demo never ships a known one.
        password = secrets.token_urlsafe(9)
        user, _created = get_user_model().objects.get_or_create(
            username=username, defaults={"is_staff": True}
        )
        user.is_staff = True
        user.set_password(password)
        user.save()
        user.groups.set([Group.objects.get(name=group_name)])
        return username, password, description
