"""manage.py restore FILE: loads a backup made by manage.py backup into an empty database.

Empty means freshly migrated (`manage.py migrate`): the command refuses, writing nothing,
when the database holds plan data or users, and when the file is missing, not a backup,
corrupted, or made by a version of the application with other migrations. Everything loads
in one transaction. Sessions are not restored: everyone logs in again.
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS

from backups.backup import BackupError, restore_backup
from backups.management.commands.backup import report_counts


class Command(BaseCommand):
    help = (
        "Restaure une sauvegarde (manage.py backup) dans une base vide, juste migrée : tout "
        "ou rien. / Restores a backup (manage.py backup) into an empty, freshly migrated "
        "database: all or nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="La sauvegarde à restaurer / the backup to restore.")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args, file, database, **options):
        try:
            counts = restore_backup(file, using=database)
        except BackupError as error:
            raise CommandError(str(error)) from error
        total = report_counts(self, counts, options["verbosity"])
        self.stdout.write(
            self.style.SUCCESS(
                f"{total} objets restaurés depuis {file}. / {total} objects restored from {file}."
            )
        )
