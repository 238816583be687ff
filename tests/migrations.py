"""What the migration tests share: the two databases a migration must work on, and a schema migrated back."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

# A test taking `vendor` runs once per database: SQLite in the first pass, PostgreSQL in the postgres tier.
both_databases = pytest.mark.parametrize(
    "vendor", [pytest.param("sqlite", id="sqlite"), pytest.param("postgresql", marks=pytest.mark.postgres)]
)


@contextmanager
def migrated_back_to(targets: list[tuple[str, str]]) -> Iterator[MigrationExecutor]:
    """The schema at `targets` for the block, then at the latest state again, whatever the block did."""
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    try:
        yield executor
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
