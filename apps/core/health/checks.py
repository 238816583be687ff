"""What the probes check: the database, migrations applied, the cache, media storage.

A failed database or unapplied migrations take the instance out of rotation (FAIL); a failed cache or media
storage only warns (WARN): pages still render without them, and pulling every instance at once would be a full
outage.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .runner import FAIL, WARN, Check, CheckFailed


@contextlib.contextmanager
def probe_connection() -> Iterator[Any]:
    """The default database connection of the check's long-lived thread (runner.py), kept between probes exactly
    as a request thread keeps its own: CONN_MAX_AGE decides (0, and pooled connections, are closed after each
    probe), a broken or expired connection is replaced first, and any failure closes it."""
    from django.db import connections

    connection = connections["default"]
    connection.close_if_unusable_or_obsolete()
    try:
        yield connection
    except BaseException:
        connection.close()
        raise
    connection.close_if_unusable_or_obsolete()


def check_database() -> None:
    with probe_connection() as connection, connection.cursor() as cursor:
        cursor.execute("SELECT 1")


_migrations_applied = False


def check_migrations() -> None:
    """No unapplied migration for the code this process runs (remembered once true: migrations don't un-apply)."""
    global _migrations_applied
    if _migrations_applied:
        return
    from django.db.migrations.executor import MigrationExecutor

    with probe_connection() as connection:
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        raise CheckFailed(f"{len(plan)} unapplied migration(s)")
    _migrations_applied = True


def check_cache() -> None:
    from django.core.cache import caches

    cache = caches["default"]
    key = f"folio:health:{uuid.uuid4().hex}"
    cache.set(key, "1", timeout=10)
    try:
        if cache.get(key) != "1":
            raise CheckFailed("value written was not read back")
    finally:
        cache.delete(key)


def check_media_storage() -> None:
    from django.core.files.storage import FileSystemStorage, storages

    storage = storages["default"]
    if isinstance(storage, FileSystemStorage):
        # FileSystemStorage creates MEDIA_ROOT on the first upload: the nearest existing folder must be writable.
        folder = Path(storage.location)
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        if not (folder.is_dir() and os.access(folder, os.W_OK)):
            raise CheckFailed("media folder is not writable")
        return
    # Object storage: a HEAD on a key that need not exist proves endpoint, credentials and bucket.
    storage.exists("health-probe")


READINESS = (
    Check("database", check_database, FAIL, "datastore"),
    Check("migrations", check_migrations, FAIL, "datastore"),
    Check("cache", check_cache, WARN, "datastore"),
    Check("storage", check_media_storage, WARN, "component"),
)
LIVENESS_DATABASE = (READINESS[0],)
