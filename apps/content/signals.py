"""The process that saves or deletes an essay sees the change at its next request; every other process, and any
write that sends no signal (QuerySet.update, raw SQL), within PAGE_CACHE_STALE_SECONDS through the database's
page generation (pagecache/generation.py)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from . import pagecache


def essay_changed(sender: type, **kwargs: Any) -> None:
    pagecache.invalidate()
    # Again once the transaction commits: a reader who rendered the old row in between must not keep it cached.
    transaction.on_commit(pagecache.invalidate)
