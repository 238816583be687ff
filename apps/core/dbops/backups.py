"""pg_dump / pg_restore for the configured PostgreSQL, behind `make backup` and `make restore`.

Custom format (-Fc): compressed, and pg_restore can restore it into a fresh database, in parallel or selectively.
Both use the direct URL when there is one: a dump is one long transaction that a transaction pooler would cut.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError

from config.database import POSTGRESQL
from config.env import BASE_DIR

BACKUP_DIR = BASE_DIR / "backups"


def backup_database() -> dict[str, Any]:
    """The direct connection when there is one (DATABASE_DIRECT_URL), else the site's."""
    return getattr(settings, "MIGRATION_DATABASE", None) or settings.DATABASES["default"]


def _libpq(database: dict[str, Any]) -> tuple[list[str], dict[str, str]]:
    """Connection arguments and environment for pg_dump/pg_restore; the password travels in the environment."""
    if database["ENGINE"] != POSTGRESQL:
        raise CommandError(f"Backups need PostgreSQL; the database is {database['ENGINE']}.")
    args = ["--dbname", database["NAME"]]
    if database.get("HOST"):
        args += ["--host", str(database["HOST"])]
    if database.get("PORT"):
        args += ["--port", str(database["PORT"])]
    if database.get("USER"):
        args += ["--username", str(database["USER"])]
    env = {**os.environ}
    if database.get("PASSWORD"):
        env["PGPASSWORD"] = str(database["PASSWORD"])
    if sslmode := database.get("OPTIONS", {}).get("sslmode"):
        env["PGSSLMODE"] = str(sslmode)
    return args, env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise CommandError(f"{name} is not installed: apt-get install postgresql-client (same major as the server).")
    return path


def default_backup_path() -> Path:
    return BACKUP_DIR / f"folio-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.dump"


def backup(path: Path) -> Path:
    """Dump the database to `path` (written under a temporary name first, so a failed dump leaves no file)."""
    args, env = _libpq(backup_database())
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    result = subprocess.run(
        [_tool("pg_dump"), "--format=custom", "--no-owner", "--no-acl", "--file", str(partial), *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        partial.unlink(missing_ok=True)
        raise CommandError(f"pg_dump failed: {result.stderr.strip()}")
    partial.replace(path)
    return path


def restore(path: Path) -> None:
    """Restore `path` into the database, replacing what is there, all or nothing (one transaction)."""
    if not path.is_file():
        raise CommandError(f"No backup at {path}; pass BACKUP=path/to/file.dump.")
    args, env = _libpq(backup_database())
    result = subprocess.run(
        [
            _tool("pg_restore"),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-acl",
            "--single-transaction",
            "--exit-on-error",
            *args,
            str(path),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise CommandError(f"pg_restore failed, nothing was changed: {result.stderr.strip()}")
