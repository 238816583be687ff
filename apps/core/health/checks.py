"""What the probes check: the database, migrations applied, the cache, media storage.

A failed database or unapplied migrations take the instance out of rotation (FAIL); a failed cache or media
storage only warns (WARN): pages still render without them, and pulling every instance at once would be a full
outage.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from .runner import FAIL, WARN, Check, CheckFailed


def check_database() -> None:
    from django.db import connections

    connection = connections["default"]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    finally:
        # This thread's connection must not linger (or, pooled, stay checked out) after the probe.
        connection.close()


_migrations_applied = False


def check_migrations() -> None:
    """No unapplied migration for the code this process runs (remembered once true: migrations don't un-apply)."""
    global _migrations_applied
    if _migrations_applied:
        return
    from django.db import connections
    from django.db.migrations.executor import MigrationExecutor

    connection = connections["default"]
    try:
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    finally:
        connection.close()
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
