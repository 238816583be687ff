"""Cached pages go stale the moment an essay is saved or deleted, whoever saved it (admin, shell, command)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from . import pagecache


def essay_changed(sender: type, **kwargs: Any) -> None:
    pagecache.invalidate()
    # Again once the transaction commits: a reader who rendered the old row in between must not keep it cached.
    transaction.on_commit(pagecache.invalidate)
