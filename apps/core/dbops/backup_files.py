"""The files a backup is made of: their names, their modes, their atomic appearance and their retention.

A dated backup is `folio-<UTC time>.dump` plus, when uploads are on disk, `folio-<UTC time>.media.tar.gz`. Each
file is written as `<name>.partial`, created 0600 before the first byte, flushed to disk, then renamed: a crash or
a failed pg_dump leaves no file that looks like a backup, and no reader ever sees a half-written one.
"""

from __future__ import annotations

import contextlib
import os
import re
import tarfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from django.core.management.base import CommandError

# The fraction of a second keeps two backups in one second apart; names sort in time order as plain strings.
STAMP_FORMAT = "%Y%m%dT%H%M%S.%fZ"
DATED = re.compile(r"^folio-(\d{8}T\d{6}\.\d{6}Z)\.dump$")
MEDIA_SUFFIX = ".media.tar.gz"
PARTIAL_SUFFIX = ".partial"
FILE_MODE = 0o600
DIRECTORY_MODE = 0o700


def dated_dump_path(directory: Path, now: datetime | None = None) -> Path:
    return directory / f"folio-{(now or datetime.now(UTC)):{STAMP_FORMAT}}.dump"


def media_path_for(dump: Path) -> Path:
    return dump.with_name(dump.name.removesuffix(".dump") + MEDIA_SUFFIX)


def private_directory(directory: Path, *, variable: str) -> Path:
    """BACKUP_DIR, created 0700 if missing (tightened to 0700 if not), and writable by us; else a one-line error."""
    try:
        directory.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)
        directory.chmod(DIRECTORY_MODE)
    except OSError as exc:
        raise CommandError(f"{variable}={directory} cannot be used for backups: {exc.strerror}.") from None
    if not os.access(directory, os.W_OK | os.X_OK):
        raise CommandError(f"{variable}={directory} is not writable by this user; backups cannot be written there.")
    return directory


def existing_directory(path: Path, *, variable: str) -> Path:
    """The directory of a path the operator named: it must exist and be writable (a typo must not create one)."""
    directory = path.parent
    if not directory.is_dir():
        raise CommandError(f"{variable}={path}: the directory {directory} does not exist; create it or pick another.")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise CommandError(f"{variable}={path}: the directory {directory} is not writable by this user.")
    return directory


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


@contextlib.contextmanager
def private_file(path: Path) -> Iterator[BinaryIO]:
    """Write `path` 0600 through a partial file; it appears (atomically, durably) only if the block succeeds."""
    partial = path.with_name(path.name + PARTIAL_SUFFIX)
    partial.unlink(missing_ok=True)  # a crashed run's leftover
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        with os.fdopen(descriptor, "wb") as output:
            yield output
            output.flush()
            os.fsync(output.fileno())
        partial.replace(path)
        _fsync_directory(path.parent)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def write_media_archive(media_root: Path, destination: Path) -> Path:
    """A gzip tar of MEDIA_ROOT's contents (restore with `tar -xzf <file> -C <MEDIA_ROOT>`)."""
    with private_file(destination) as output, tarfile.open(fileobj=output, mode="w:gz") as archive:
        archive.add(media_root, arcname=".")
    return destination


def dated_dumps(directory: Path) -> list[Path]:
    """Completed dated dumps, oldest first (by the time in their name, which copying does not change)."""
    return sorted((path for path in directory.iterdir() if DATED.match(path.name)), key=lambda path: path.name)


def prune(directory: Path, *, keep: int) -> list[Path]:
    """Delete all but the newest `keep` dated backups (dump and media tar); call only after a new dump succeeded."""
    if keep < 1:
        raise CommandError(f"BACKUP_KEEP={keep} would keep no backup: use 1 or more.")
    removed = []
    for dump in dated_dumps(directory)[:-keep]:
        for path in (dump, media_path_for(dump)):
            if path.exists():
                path.unlink()
                removed.append(path)
    return removed
