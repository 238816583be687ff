"""`make backup`: a backup set (apps/core/dbops/backups.py) in BACKUP_DIR, or one dump where BACKUP= says."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from apps.core.dbops import backups


class Command(BaseCommand):
    help = (
        "Dump the PostgreSQL database (pg_dump custom format) and MEDIA_ROOT into BACKUP_DIR, keeping BACKUP_KEEP "
        "sets and copying each to BACKUP_BUCKET when set; or write one dump to PATH."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("path", nargs="?", type=Path, help="Write a single dump here instead (never pruned).")

    def handle(self, *args: Any, **options: Any) -> None:
        made = backups.backup_set(options["path"])
        for path in [made.dump, made.media, *made.pruned]:
            if path is not None:
                self.stdout.write(f"{'removed' if path in made.pruned else 'wrote'} {path}")
        for key in made.uploaded:
            self.stdout.write(f"copied to s3://{settings.BACKUP_BUCKET}/{key}")
