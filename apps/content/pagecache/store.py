"""Where pages live: Django's cache, checked against the database's page generation, and a breaker.

Why not Django's cache_page: it keys on the full URL (any junk query string makes a new entry), stores every
header (a request id or a CSP nonce of the first reader would be replayed to the next), and cannot be invalidated
as a whole. Here a view names its own key, only the page-level headers are stored (entry.py), and each entry
carries the page generation it was rendered under (generation.py): once the database's generation changes, which
its triggers do on every write to essays or author names, no process serves the entry for longer than
PAGE_CACHE_STALE_SECONDS.

Each entry also carries the moment it stops being valid, checked against `timezone.now()` on every read: an
essay scheduled for 09:00 appears at 09:00 even though nothing runs then, whatever the backend's TTL precision.

A cache that fails (Redis down or hanging) is logged once and left alone for RETRY_AFTER seconds; pages are
rendered uncached meanwhile.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import time
from typing import Any

from django.core.cache import caches
from django.http import HttpRequest

from .entry import Entry, Pending
from .generation import GenerationReader, generation

logger = logging.getLogger(__name__)

CACHE_ALIAS = "default"
# Part of every key: bump it when Entry changes, so a deploy never unpickles the previous release's entries.
ENTRY_VERSION = 4
# Long enough that a dead Redis costs one slow request per worker per half minute, short enough to recover soon.
RETRY_AFTER = 30.0


class CacheUnavailable(Exception):
    pass


class PageStore:
    """The cache as the pages see it. After a failure every call raises CacheUnavailable for RETRY_AFTER seconds
    without touching the backend, so a hanging Redis costs one timeout per process, not one per request."""

    def __init__(self, alias: str = CACHE_ALIAS, reader: GenerationReader = generation) -> None:
        self.alias = alias
        self.generation = reader
        self.skip_until = 0.0

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        if time.monotonic() < self.skip_until:
            raise CacheUnavailable
        try:
            return getattr(caches[self.alias], method)(*args, **kwargs)
        except Exception as exc:  # every backend fails differently (redis, pymemcache, ...); all mean "no cache"
            self.skip_until = time.monotonic() + RETRY_AFTER
            logger.warning(
                "page cache unavailable (%s: %s); serving pages uncached for %.0f s",
                type(exc).__name__,
                exc,
                RETRY_AFTER,
            )
            raise CacheUnavailable from exc

    def lookup(self, name: str, now: float) -> tuple[int, Entry | None]:
        """The generation this process serves under, and the entry stored under `name` if it was rendered under
        that generation and is still valid, else None. CacheUnavailable when the page must be rendered uncached:
        the cache fails, or the generation is unknown (generation.py)."""
        current = self.generation.current()
        if current is None:
            raise CacheUnavailable
        entry = self._call("get", name)
        if entry is not None and entry.generation == current and now < entry.valid_until:
            return current, entry
        return current, None

    def store(self, pending: Pending) -> None:
        with contextlib.suppress(CacheUnavailable):
            self._call("set", pending.name, pending.entry, timeout=pending.timeout)

    def invalidate(self) -> None:
        """After a save in this process: read the generation again at the next request, so the editor sees the
        edit at once. Every other process sees it within PAGE_CACHE_STALE_SECONDS through the database."""
        self.generation.forget()


# One per process, as Django's own `caches`: the breaker must remember a failure across requests and threads.
pages = PageStore()


def page_key(request: HttpRequest, name: str) -> str:
    # Scheme and host are part of the page: the feed and canonical links are absolute.
    raw = f"{request.scheme}://{request.get_host()}|{name}"
    return f"content:v{ENTRY_VERSION}:page:" + hashlib.sha256(raw.encode()).hexdigest()[:32]
