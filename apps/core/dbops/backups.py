"""Backups and restores of the configured PostgreSQL, behind `make backup`/`make restore`, the VM's
folio-backup.timer and the worker's `backup_database` job: all three run `backup_set()`.

Custom format (-Fc): compressed, and pg_restore can restore it into a fresh database, in parallel or selectively.
A backup set is the dump, the uploads when they are on disk (MEDIA_ROOT as a tar), an off-site copy when
BACKUP_BUCKET is set, then the retention (BACKUP_KEEP): older sets go only once the new one is complete.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.storage import FileSystemStorage, storages
from django.core.management.base import CommandError

from . import backup_files, backup_offsite, postgres_client

DUMP_MAGIC = b"PGDMP"  # the first bytes of every pg_dump custom-format file


@dataclass
class BackupSet:
    dump: Path
    media: Path | None = None
    uploaded: list[str] = field(default_factory=list)
    pruned: list[Path] = field(default_factory=list)


def dump(path: Path) -> Path:
    """pg_dump -Fc into `path`, 0600, appearing only once complete; a failure leaves no file and says why."""
    target = postgres_client.connection()
    pg_dump = postgres_client.pg_dump_for(target)
    with backup_files.private_file(path) as output:
        result = subprocess.run(
            [pg_dump, "--format=custom", "--no-owner", "--no-acl", "--dbname", target.dsn],
            env=target.env(),
            stdout=output,
            stderr=subprocess.PIPE,
            text=False,
            check=False,
        )
        if result.returncode != 0:
            reason = " ".join(result.stderr.decode(errors="replace").split())
            raise CommandError(f"pg_dump failed, no backup written and none removed: {reason}")
    return path


def media_on_disk() -> Path | None:
    """MEDIA_ROOT when uploads are stored there (not in a bucket) and it exists."""
    storage = storages["default"]
    if isinstance(storage, FileSystemStorage) and Path(storage.location).is_dir():
        return Path(storage.location)
    return None


def backup_set(path: Path | None = None) -> BackupSet:
    """One backup: a dated set in BACKUP_DIR (pruned to BACKUP_KEEP), or a single dump at `path`, never pruned."""
    if path is None:
        directory = backup_files.private_directory(Path(settings.BACKUP_DIR), variable="BACKUP_DIR")
        made = BackupSet(dump=dump(backup_files.dated_dump_path(directory)))
        if media_root := media_on_disk():
            made.media = backup_files.write_media_archive(media_root, backup_files.media_path_for(made.dump))
        made.pruned = backup_files.prune(directory, keep=settings.BACKUP_KEEP)
    else:
        backup_files.existing_directory(path, variable="BACKUP")
        made = BackupSet(dump=dump(path))
    if settings.BACKUP_BUCKET:
        files = [made.dump] + ([made.media] if made.media else [])
        made.uploaded = backup_offsite.upload(files, bucket=settings.BACKUP_BUCKET)
    return made


def restore(path: Path, database: dict[str, Any] | None = None) -> None:
    """Restore `path` into the database (or `database`, a DATABASES entry: the rehearsal's scratch one), replacing
    what is there, all or nothing (one transaction)."""
    if not path.is_file():
        raise CommandError(f"No backup at {path}; pass BACKUP=path/to/file.dump.")
    with path.open("rb") as source:
        if source.read(len(DUMP_MAGIC)) != DUMP_MAGIC:
            raise CommandError(
                f"{path} is not a pg_dump custom-format file (a .dump from `make backup`); nothing was changed."
            )
    target = postgres_client.connection(database)
    result = subprocess.run(
        [
            postgres_client.tool("pg_restore"),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-acl",
            "--single-transaction",
            "--exit-on-error",
            "--dbname",
            target.dsn,
            str(path),
        ],
        env=target.env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise CommandError(f"pg_restore failed, nothing was changed: {' '.join(result.stderr.split())}")
