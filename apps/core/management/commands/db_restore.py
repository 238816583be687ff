"""`make restore BACKUP=file.dump`: pg_restore into the configured database, in one transaction."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from apps.core.dbops import backups


class Command(BaseCommand):
    help = "Restore a pg_dump custom-format file into the PostgreSQL database, replacing its objects."

    def add_arguments(self, parser) -> None:
        parser.add_argument("path", nargs="?", type=Path, help="The .dump file written by `make backup`.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["path"] is None:
            raise CommandError("Which backup? `make restore BACKUP=backups/folio-....dump`.")
        backups.restore(options["path"])
        self.stdout.write(f"Restored {options['path']}.")
