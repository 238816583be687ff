"""The word-count backfill behind migration 0005, batched so a big table never sits under one long lock.

PostgreSQL runs the reference's UPDATE over primary-key ranges, each range its own short transaction: a row is
locked only for its batch, a failure keeps the batches already done, and a re-run picks up where it stopped
(only rows still NULL are touched). Other databases (SQLite in development) take a portable Python path with
the same rule and the same definition of a word.
"""

from __future__ import annotations

from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from .words import count_words, postgres_word_count

# Small enough that a row waits at most one short batch (~0.2 s at 2,000 rows) for a concurrent update.
BATCH_SIZE = 2_000

# The rows the reference backfills: never counted, with a body to count.
PENDING = "word_count IS NULL AND body IS NOT NULL AND body <> ''"


def fill_range_sql(expression: str) -> str:
    """One batch: `expression` written into the pending rows of an id range (the last two parameters)."""
    return f"UPDATE content_essay SET word_count = {expression} WHERE id >= %s AND id < %s AND {PENDING}"  # noqa: S608 - built from constants; values travel as parameters


CLEAR_RANGE_SQL = "UPDATE content_essay SET word_count = NULL WHERE id >= %s AND id < %s"


def _id_range(connection: BaseDatabaseWrapper, where: str) -> tuple[int, int] | None:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT min(id), max(id) FROM content_essay WHERE {where}")  # noqa: S608 - constant SQL
        low, high = cursor.fetchone()
    return None if low is None else (low, high)


def _in_batches(connection: BaseDatabaseWrapper, where: str, sql: str, params: list, batch_size: int) -> int:
    """Run `sql` once per primary-key range of `batch_size`, each in its own transaction."""
    bounds = _id_range(connection, where)
    if bounds is None:
        return 0
    low, high = bounds
    touched = 0
    for start in range(low, high + 1, batch_size):
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute(sql, [*params, start, start + batch_size])
            touched += cursor.rowcount
    return touched


def fill_word_counts(connection: BaseDatabaseWrapper, *, batch_size: int | None = None) -> int:
    """Count words for every pending row; returns how many rows were filled."""
    batch_size = batch_size or BATCH_SIZE
    if connection.vendor == "postgresql":
        return fill_pending_with(connection, *postgres_word_count("body"), batch_size=batch_size)
    return _fill_portably(connection, batch_size)


def fill_pending_with(connection: BaseDatabaseWrapper, expression: str, params: list, *, batch_size: int) -> int:
    """The PostgreSQL backfill with any expression: the word count, or a constant for the cost of the writes."""
    return _in_batches(connection, PENDING, fill_range_sql(expression), params, batch_size)


def clear_word_counts(connection: BaseDatabaseWrapper, *, batch_size: int | None = None) -> int:
    """The reverse of the backfill: word_count back to NULL, in the same short batches."""
    return _in_batches(connection, "word_count IS NOT NULL", CLEAR_RANGE_SQL, [], batch_size or BATCH_SIZE)


def _fill_portably(connection: BaseDatabaseWrapper, batch_size: int) -> int:
    filled = 0
    last_id = 0
    while True:
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id, body FROM content_essay WHERE id > %s AND {PENDING} ORDER BY id LIMIT %s",  # noqa: S608
                [last_id, batch_size],
            )
            rows = cursor.fetchall()
            if not rows:
                return filled
            cursor.executemany(
                "UPDATE content_essay SET word_count = %s WHERE id = %s",
                [(count_words(body), pk) for pk, body in rows],
            )
        filled += len(rows)
        last_id = rows[-1][0]
