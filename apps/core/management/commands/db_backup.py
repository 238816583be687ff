"""`make backup`: pg_dump -Fc of the configured database (DATABASE_DIRECT_URL when set)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand

from apps.core.dbops import backups


class Command(BaseCommand):
    help = "Dump the PostgreSQL database in pg_dump's custom format (default: backups/folio-<UTC time>.dump)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("path", nargs="?", type=Path, help="Where to write the dump.")

    def handle(self, *args: Any, **options: Any) -> None:
        path = backups.backup(options["path"] or backups.default_backup_path())
        self.stdout.write(str(path))
