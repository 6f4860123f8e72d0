import datetime

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from devdata.synthetic import DEFAULT_PASSWORD, generate
from plans.models import Plan


class Command(BaseCommand):
    help = (
        "Remplit une base vide de données synthétiques réalistes, pour les bancs d'essai "
        "(développement seulement). / Fills an empty database with realistic synthetic data, "
        "for benchmarks (development only)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--actions", type=int, default=5000, help="Nombre d'actions / number of actions."
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=1,
            help="Même graine, mêmes données / same seed, same data.",
        )
        parser.add_argument(
            "--today",
            type=datetime.date.fromisoformat,
            help="Date du jour des données, AAAA-MM-JJ / the data's today (default: today).",
        )
        parser.add_argument("--password", default=DEFAULT_PASSWORD)

    def handle(self, *args, actions, seed, today, password, **options):
        if not settings.DEBUG:
            raise CommandError(
                "Les données synthétiques n'existent qu'en développement (DEBUG=1). / "
                "Synthetic data exists only in development (DEBUG=1)."
            )
        if actions < 1:
            raise CommandError("Il faut au moins une action. / At least one action is needed.")
        if Plan.objects.exists():
            raise CommandError(
                "La base contient déjà des plans : rien n'est écrit. Utilisez une base vide. / "
                "The database already holds plans: nothing was written. Use an empty database."
            )
        summary = generate(actions=actions, seed=seed, today=today, password=password)
        for name, count in summary.counts.items():
            self.stdout.write(f"{count:>9,} {name}".replace(",", " "))
        self.stdout.write(f"{summary.history:>9,} historique / history records".replace(",", " "))
        self.stdout.write(f"Premier plan / first plan: {summary.first_plan}")
        for username, description in summary.users:
            self.stdout.write(f"  {username} / {summary.password}  ({description})")
