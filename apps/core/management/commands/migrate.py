"""`migrate`, made safe for a live PostgreSQL behind a pooler.

- With DATABASE_DIRECT_URL set, migrations run over that direct (session) connection by default: a transaction
  pooler would spread a non-atomic migration's statements and its session settings over other clients.
- Through a transaction pooler without a direct URL it refuses to run, for the same reason.
- On PostgreSQL every connection it opens gets `lock_timeout` and `statement_timeout` (DB_LOCK_TIMEOUT,
  DB_STATEMENT_TIMEOUT): an ALTER TABLE queued behind a long transaction would otherwise block every query
  that arrives after it, for as long as that transaction lasts. Failing fast lets the deploy retry later.
"""

from __future__ import annotations

import contextlib
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError
from django.core.management.commands import migrate
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created

from config.database import DIRECT_DB_ALIAS


def migration_timeouts_sql() -> list[str]:
    """The SET statements for the migration timeouts in settings (seconds; 0 means no limit)."""
    return [
        f"SET lock_timeout = {round(settings.MIGRATION_LOCK_TIMEOUT * 1000)}",
        f"SET statement_timeout = {round(settings.MIGRATION_STATEMENT_TIMEOUT * 1000)}",
    ]


def _apply_timeouts(connection: BaseDatabaseWrapper) -> None:
    with connection.cursor() as cursor:
        for statement in migration_timeouts_sql():
            cursor.execute(statement)


class Command(migrate.Command):
    help = migrate.Command.help + " Uses DATABASE_DIRECT_URL when set; PostgreSQL gets lock and statement timeouts."

    def add_arguments(self, parser) -> None:
        super().add_arguments(parser)
        if DIRECT_DB_ALIAS in settings.DATABASES:
            parser.set_defaults(database=DIRECT_DB_ALIAS)

    def handle(self, *args: Any, **options: Any) -> None:
        alias = options["database"]
        if alias == DEFAULT_DB_ALIAS and getattr(settings, "DB_POOL", "none") == "pgbouncer":
            raise CommandError(
                "DATABASE_URL goes through a transaction pooler (DB_POOL=pgbouncer), which cannot run migrations "
                "safely; set DATABASE_DIRECT_URL to the database's direct URL."
            )
        connection = connections[alias]
        if connection.vendor != "postgresql":
            return super().handle(*args, **options)

        def on_connect(sender, connection: BaseDatabaseWrapper, **kwargs) -> None:
            if connection.alias == alias:
                _apply_timeouts(connection)

        # Every connection the migration opens, including reconnects, not just the current one.
        connection_created.connect(on_connect, weak=False)
        try:
            if connection.connection is not None:
                _apply_timeouts(connection)
            return super().handle(*args, **options)
        finally:
            connection_created.disconnect(on_connect)
            # A pooled or persistent connection must not carry the migration's limits into other work.
            if connection.connection is not None and not connection.in_atomic_block:
                with contextlib.suppress(DatabaseError), connection.cursor() as cursor:
                    cursor.execute("RESET lock_timeout; RESET statement_timeout")
