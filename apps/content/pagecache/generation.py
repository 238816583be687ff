"""The page generation as this process knows it: read from the database (PageGeneration, changed by triggers on
every write to what pages show) at most once per PAGE_CACHE_STALE_SECONDS.

Why the database and not the cache: without Redis the cache is each process's own memory (each Gunicorn worker,
each Vercel instance), so a token kept there reached only the process that saved; and no cache sees a
QuerySet.update, raw SQL or another process's write, which the database's triggers all see. One indexed
single-row SELECT per interval per process is the whole cost; a hit in between reads nothing.

When the read fails (database down) PAGE_CACHE_STALE_IF_ERROR decides: keep the value this process last read,
so cached pages stay served through the outage, or know none, so pages are rendered (and with the database down
answered 503). Either way the database is tried again only once per interval, so an outage costs no more reads.
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from django.db import DatabaseError, connections

logger = logging.getLogger(__name__)

DATABASE_ALIAS = "default"
# The generation while content_pagegeneration has no row.
EMPTY = 0


class GenerationReader:
    """The last generation read and when; thread-safe, so a process's threads share one read per interval."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._value: int | None = None
        # Monotonic time of the last attempt, successful or not; set after _value, so a reader without the lock
        # never pairs a fresh time with the previous value.
        self._read_at: float | None = None
        self._failing = False

    def current(self) -> int | None:
        """The generation to serve and store pages under; None when pages must be rendered uncached."""
        read_at = self._read_at
        if read_at is not None and time.monotonic() - read_at < settings.PAGE_CACHE_STALE_SECONDS:
            return self._value  # a hit's whole cost here: no lock, no query
        # While one thread reads, the others of the process serve the value it replaces rather than queue behind
        # a database that may hang; with PAGE_CACHE_STALE_IF_ERROR off they wait, as a failure would end in None.
        wait = not (settings.PAGE_CACHE_STALE_IF_ERROR and self._value is not None)
        if not self._lock.acquire(blocking=wait):
            return self._value
        try:
            now = time.monotonic()
            if self._read_at is None or now - self._read_at >= settings.PAGE_CACHE_STALE_SECONDS:
                self._refresh()
                self._read_at = now  # the attempt, successful or not: an outage costs one read per interval too
            return self._value
        finally:
            self._lock.release()

    def forget(self) -> None:
        """Read again at the next request: this process has just written, and its editor should see the edit."""
        self._read_at = None

    def _refresh(self) -> None:
        connection = connections[DATABASE_ALIAS]
        opened_here = connection.connection is None
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT value FROM content_pagegeneration WHERE id = 1")
                row = cursor.fetchone()
        except DatabaseError as exc:
            if not self._failing:
                keep = settings.PAGE_CACHE_STALE_IF_ERROR and self._value is not None
                logger.warning(
                    "page cache: cannot read the page generation (%s: %s); %s",
                    type(exc).__name__,
                    exc,
                    "serving the pages cached before (PAGE_CACHE_STALE_IF_ERROR)"
                    if keep
                    else "rendering pages uncached",
                )
            self._failing = True
            if not settings.PAGE_CACHE_STALE_IF_ERROR:
                self._value = None
        else:
            if self._failing:
                logger.warning("page cache: page generation readable again")
            self._failing = False
            # No row (`flush` emptied the table): a generation of its own, which the next write ends by upserting
            # the row with a random value.
            self._value = EMPTY if row is None else row[0]
        finally:
            # Outside a transaction, a connection this read opened follows the rule Django applies at a request's
            # end (CONN_MAX_AGE; 0 on Vercel closes it): the front door reads outside Django's request cycle.
            if opened_here and not connection.in_atomic_block:
                connection.close_if_unusable_or_obsolete()


# One per process: every thread of a worker shares the read.
generation = GenerationReader()
