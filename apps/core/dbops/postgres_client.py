"""PostgreSQL's client programs (pg_dump, pg_restore) pointed at the database backups use, and the version rule.

pg_dump refuses a server newer than itself, but only after connecting, in words that name neither what to install
nor which version; checking the majors first turns that into one line an operator can act on.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from typing import Any

import psycopg
from django.conf import settings
from django.core.management.base import CommandError
from psycopg import conninfo, pq

from config.database import POSTGRESQL

INSTALL_HINT = "apt-get install postgresql-client-{major} (Debian/Ubuntu: from apt.postgresql.org when too new)"
VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?")


@dataclass(frozen=True)
class Connection:
    """libpq's connection string (every option the URL carried, sslmode included) and the password apart from it:
    the string goes on the command line, where `ps` shows it, the password only into the environment."""

    dsn: str
    password: str

    def env(self) -> dict[str, str]:
        env = {**os.environ}
        if self.password:
            env["PGPASSWORD"] = self.password
        return env


def backup_database() -> dict[str, Any]:
    """The direct connection when there is one (DATABASE_DIRECT_URL): a dump is one long transaction that a
    transaction pooler would cut."""
    return getattr(settings, "MIGRATION_DATABASE", None) or settings.DATABASES["default"]


def connection(database: dict[str, Any] | None = None) -> Connection:
    database = database or backup_database()
    if database["ENGINE"] != POSTGRESQL:
        raise CommandError(f"Backups need PostgreSQL; the database is {database['ENGINE']} (set DATABASE_URL).")
    # Only libpq's own keywords: OPTIONS also holds Django's (pool, server_side_binding), which libpq would refuse.
    known = {option.keyword.decode() for option in pq.Conninfo.get_defaults()}
    keywords = {key: value for key, value in database.get("OPTIONS", {}).items() if key in known}
    for key, setting in (("dbname", "NAME"), ("host", "HOST"), ("port", "PORT"), ("user", "USER")):
        if database.get(setting):
            keywords[key] = str(database[setting])
    keywords.pop("password", None)
    return Connection(dsn=conninfo.make_conninfo(**keywords), password=str(database.get("PASSWORD") or ""))


def tool(name: str, major: str = "") -> str:
    path = shutil.which(name)
    if path is None:
        raise CommandError(f"{name} is not installed: {INSTALL_HINT.format(major=major or '<server major>')}.")
    return path


def major_of(number: int) -> str:
    """server_version_num (150020, 90624) as the major version people name (15, 9.6)."""
    return str(number // 10000) if number >= 100000 else f"{number // 10000}.{number // 100 % 100}"


def client_major(program: str) -> str:
    """The major version of `program` (pg_dump, pg_restore) as it reports it."""
    result = subprocess.run([program, "--version"], capture_output=True, text=True, timeout=30, check=False)
    found = VERSION.search(result.stdout)
    if result.returncode != 0 or found is None:
        raise CommandError(f"{program} --version did not say its version: {(result.stdout + result.stderr).strip()}")
    first = int(found.group(1))
    return str(first) if first >= 10 else f"{first}.{found.group(2) or 0}"


def server_major(target: Connection) -> str:
    try:
        with psycopg.connect(target.dsn, password=target.password or None) as db:
            return major_of(db.info.server_version)
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CommandError(f"Cannot reach the database to back it up: {reason}") from None


def as_tuple(major: str) -> tuple[int, ...]:
    return tuple(int(part) for part in major.split("."))


def pg_dump_for(target: Connection) -> str:
    """pg_dump's path, once it is known to be able to dump this server (its major is the server's or newer)."""
    program = tool("pg_dump")
    server, client = server_major(target), client_major(program)
    if as_tuple(client) < as_tuple(server):
        raise CommandError(
            f"pg_dump {client} ({program}) is older than the PostgreSQL {server} server and cannot dump it: "
            f"install the server's client, {INSTALL_HINT.format(major=server)}, and put its pg_dump first on PATH."
        )
    return program
