import datetime
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from dashboard.changes import default_since
from plans.models import Plan
from reports import workbook


def iso_date(text):
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise CommandError(
            f"« {text} » n'est pas une date AAAA-MM-JJ. / Not a YYYY-MM-DD date."
        ) from None


class Command(BaseCommand):
    help = (
        "Écrit le classeur Excel d'un plan pour les bailleurs de fonds. / "
        "Writes a plan's Excel workbook for funders."
    )

    def add_arguments(self, parser):
        parser.add_argument("plan", help="L'identifiant du plan, par exemple casal-2016-2020.")
        parser.add_argument(
            "--output",
            "-o",
            help="Le fichier à écrire; par défaut <plan>_<date>_<langue>.xlsx dans le dossier "
            "courant.",
        )
        parser.add_argument(
            "--since",
            type=iso_date,
            help="Les changements depuis cette date (AAAA-MM-JJ); par défaut la dernière "
            "assemblée.",
        )
        parser.add_argument(
            "--language",
            choices=[code for code, _name in settings.LANGUAGES],
            default="fr",
            help="La langue des en-têtes (fr par défaut).",
        )

    def handle(self, *args, plan, output, since, language, **options):
        try:
            plan = Plan.objects.select_related("coalition").get(slug=plan)
        except Plan.DoesNotExist:
            known = ", ".join(Plan.objects.values_list("slug", flat=True)) or "—"
            raise CommandError(
                f"Plan inconnu : « {plan} ». Plans connus : {known}. / Unknown plan."
            ) from None
        today = timezone.localdate()
        if since is None:
            since = default_since(list(plan.coalition.assemblies.all()), today)[0]
        path = Path(output or workbook.filename(plan, today, language))
        try:
            with path.open("wb") as stream:
                workbook.export(plan, stream, since=since, language=language, today=today)
        except OSError as error:
            raise CommandError(f"Impossible d'écrire {path} : {error.strerror}") from None
        self.stdout.write(str(path))
