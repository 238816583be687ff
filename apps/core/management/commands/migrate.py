"""`migrate`, made safe for a live PostgreSQL behind a pooler.

- With DATABASE_DIRECT_URL set, the whole command runs with "default" pointed at that direct (session)
  connection: a transaction pooler would spread a non-atomic migration's statements and session settings over
  other clients, and a data migration that ignores the alias it is given would queue through the pooler behind
  the lock its own migration holds, forever.
- Through a transaction pooler without a direct URL it refuses to run, for the same reasons.
- On PostgreSQL every connection it opens gets `lock_timeout` and `statement_timeout` (DB_LOCK_TIMEOUT,
  DB_STATEMENT_TIMEOUT): an ALTER TABLE queued behind a long transaction would otherwise block every query
  that arrives after it, for as long as that transaction lasts. Failing fast lets the deploy retry later.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError
from django.core.management.commands import migrate
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created


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


@contextlib.contextmanager
def default_database_replaced_by(entry: dict[str, Any] | None) -> Iterator[None]:
    """Within the block, the "default" alias (and `django.db.connection`) connects with `entry` instead.

    What `migrate` needs: a migration, or a third-party data migration that ignores the alias it was given, must
    not reach the database through a transaction pooler while the migration's own transaction holds a lock.
    """
    if entry is None:
        yield
        return
    original = connections.settings[DEFAULT_DB_ALIAS]
    connections[DEFAULT_DB_ALIAS].close()
    connections.settings[DEFAULT_DB_ALIAS] = connections.configure_settings({DEFAULT_DB_ALIAS: copy.deepcopy(entry)})[
        DEFAULT_DB_ALIAS
    ]
    del connections[DEFAULT_DB_ALIAS]
    try:
        yield
    finally:
        connections[DEFAULT_DB_ALIAS].close()
        connections.settings[DEFAULT_DB_ALIAS] = original
        del connections[DEFAULT_DB_ALIAS]


@contextlib.contextmanager
def migration_timeouts(alias: str) -> Iterator[None]:
    """Every connection `alias` opens in the block (reconnects included) gets the migration timeouts."""
    connection = connections[alias]

    def on_connect(sender, connection: BaseDatabaseWrapper, **kwargs) -> None:
        if connection.alias == alias:
            _apply_timeouts(connection)

    connection_created.connect(on_connect, weak=False)
    try:
        if connection.connection is not None:
            _apply_timeouts(connection)
        yield
    finally:
        connection_created.disconnect(on_connect)
        # A pooled or persistent connection must not carry the migration's limits into other work.
        if connection.connection is not None and not connection.in_atomic_block:
            with contextlib.suppress(DatabaseError), connection.cursor() as cursor:
                cursor.execute("RESET lock_timeout; RESET statement_timeout")


class Command(migrate.Command):
    help = migrate.Command.help + " Uses DATABASE_DIRECT_URL when set; PostgreSQL gets lock and statement timeouts."

    def handle(self, *args: Any, **options: Any) -> None:
        alias = options["database"]
        direct = getattr(settings, "MIGRATION_DATABASE", None) if alias == DEFAULT_DB_ALIAS else None
        if alias == DEFAULT_DB_ALIAS and direct is None and getattr(settings, "DB_POOL", "none") == "pgbouncer":
            raise CommandError(
                "DATABASE_URL goes through a transaction pooler (DB_POOL=pgbouncer), which cannot run migrations "
                "safely; set DATABASE_DIRECT_URL to the database's direct URL."
            )
        with default_database_replaced_by(direct):
            if connections[alias].vendor != "postgresql":
                return super().handle(*args, **options)
            with migration_timeouts(alias):
                return super().handle(*args, **options)
