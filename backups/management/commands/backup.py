"""manage.py backup FILE: all plan data, users and admin log in one file (see backups/backup.py).

Not in the file: sessions, login-attempt records, content types and permissions (migrate
recreates them); the application keeps no uploaded file on disk.
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS

from backups.backup import BackupError, write_backup


def spaced(number):
    return f"{number:,}".replace(",", " ")


def report_counts(command, counts, verbosity):
    """Each model's count at verbosity 2, and the total, spaced, for the closing line."""
    if verbosity >= 2:
        for label, count in counts.items():
            command.stdout.write(f"{spaced(count):>9} {label}")
    return spaced(sum(counts.values()))


class Command(BaseCommand):
    help = (
        "Sauvegarde toutes les données des plans, leur historique, les utilisateurs, les "
        "groupes et le journal de l'administration dans un fichier JSON (.gz : compressé). / "
        "Backs up all plan data, its history, users, groups and the admin log to one JSON "
        "file (.gz: gzipped)."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="Le fichier à écrire / the file to write.")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args, file, database, **options):
        try:
            counts = write_backup(file, using=database)
        except BackupError as error:
            raise CommandError(str(error)) from error
        total = report_counts(self, counts, options["verbosity"])
        self.stdout.write(
            self.style.SUCCESS(
                f"{total} objets sauvegardés dans {file}. / {total} objects written to {file}."
            )
        )
