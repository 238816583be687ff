"""The rehearsal's database: a scratch database on the PostgreSQL server DATABASE_URL names (never that database
itself unless `--database` says so), dropped afterwards whatever happened, and the rows it is filled with."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import psycopg
from psycopg import sql

from config.database import POSTGRESQL

from .errors import RehearsalError

CONNECT_TIMEOUT = 10
PREFIX = "folio_rehearse"


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    user: str
    password: str

    @classmethod
    def from_settings(cls, database: dict[str, Any]) -> Server:
        if database.get("ENGINE") != POSTGRESQL:
            raise RehearsalError(
                "The rehearsal needs PostgreSQL: set DATABASE_URL to a PostgreSQL server (a scratch database is "
                f"made beside the one it names); it is {database.get('ENGINE')}."
            )
        return cls(
            host=database.get("HOST") or "127.0.0.1",
            port=int(database.get("PORT") or 5432),
            user=database.get("USER") or "postgres",
            password=str(database.get("PASSWORD") or ""),
        )

    def entry(self, name: str) -> dict[str, Any]:
        """`name` on this server as a DATABASES entry (what apps/core/dbops's backup tools take)."""
        return {"ENGINE": POSTGRESQL, "NAME": name, "HOST": self.host, "PORT": self.port, "USER": self.user,
                "PASSWORD": self.password}  # fmt: skip

    def url(self, name: str) -> str:
        credentials = quote(self.user, safe="") + (f":{quote(self.password, safe='')}" if self.password else "")
        return f"postgres://{credentials}@{self.host}:{self.port}/{name}"

    def connect(self, name: str = "postgres", **kwargs: Any) -> psycopg.Connection:
        try:
            return psycopg.connect(
                host=self.host,
                port=self.port,
                user=self.user,
                password=self.password or None,
                dbname=name,
                connect_timeout=CONNECT_TIMEOUT,
                **kwargs,
            )
        except psycopg.OperationalError as exc:
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[-1]
            raise RehearsalError(f"Cannot reach PostgreSQL at {self.host}:{self.port}: {reason}") from None

    def create(self, name: str, *, template: str | None = None) -> None:
        # CREATE DATABASE refuses to run in a transaction.
        with self.connect(autocommit=True) as admin:
            statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
            if template:
                statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
            admin.execute(statement)

    def drop(self, name: str) -> None:
        """Dropped even while a server the rehearsal started is still connected (an interrupted run)."""
        with self.connect(autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    @contextlib.contextmanager
    def scratch(self, *, purpose: str = "", template: str | None = None) -> Iterator[str]:
        """A fresh database for the block (a copy of `template` if given); its name is yielded."""
        # The pid names the rehearsal that made it: two rehearsals on one server (two CI jobs, two test runs) can
        # each tell their own from the other's.
        name = f"{PREFIX}_{purpose + '_' if purpose else ''}p{os.getpid()}_{secrets.token_hex(4)}"
        self.create(name, template=template)
        try:
            yield name
        finally:
            self.drop(name)


# Generated essays: bodies of a known number of words (3 + i mod 50), so the count can be written by SQL when the
# previous release has the column, and checked later whichever release computed it.
GENERATED_BODY = "'Generated essay ' || i || '. ' || repeat('word ', i %% 50)"
GENERATED_WORDS = "3 + i %% 50"


def generate_essays(connection: psycopg.Connection, rows: int, *, author: str) -> int:
    """`rows` published essays in one INSERT … SELECT (100k in seconds), written for the columns this schema has."""
    if rows <= 0:
        return 0
    columns = {
        name
        for (name,) in connection.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'content_essay'"
        )
    }
    values = {
        "title": "'Generated essay ' || i",
        "slug": "'generated-' || i",
        "body": GENERATED_BODY,
        "status": "'published'",
        "published_at": "now() - make_interval(mins => i)",
        "author_id": "(SELECT id FROM users_user WHERE username = %(author)s)",
        "created_at": "now()",
        "updated_at": "now()",
    }
    if "word_count" in columns:
        values["word_count"] = GENERATED_WORDS
    chosen = {name: expression for name, expression in values.items() if name in columns}
    statement = (
        f"INSERT INTO content_essay ({', '.join(chosen)}) "  # noqa: S608 - column names and expressions are constants
        f"SELECT {', '.join(chosen.values())} FROM generate_series(1, %(rows)s) AS i"
    )
    with connection.transaction():
        connection.execute(statement, {"rows": rows, "author": author})
    connection.execute("ANALYZE content_essay")
    return rows
