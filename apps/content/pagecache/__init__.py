"""The page cache for anonymous readers of the list, the essays, the feed and the sitemap.

Public API: `cached_for_readers` (the view decorator) with its keys `one_page` and `numbered_pages`, `invalidate`
(on every essay save or delete in this process) and `PageCacheFront` (the WSGI front door config/wsgi.py puts
around Django).

- entry.py: what is stored (Entry) and the one way a hit is answered, by the decorator and the front alike;
- generation.py: the database's page generation, read at most once per PAGE_CACHE_STALE_SECONDS per process;
- store.py: Django's cache, entries checked against that generation, and a breaker for a cache that fails;
- readers.py: the view decorator, which serves and stores on its own anywhere (test client, ASGI server);
- handoff.py: the one contract between the front door and the decorator for a request the front will store;
- front.py: the front door, answering whole-stack entries before Django's handler runs.

Responses say `X-Folio-Cache: hit`, `miss`, `bypass` or `unavailable`.
"""

from __future__ import annotations

from .front import PageCacheFront
from .readers import cached_for_readers, numbered_pages, one_page
from .store import pages

invalidate = pages.invalidate

__all__ = ["PageCacheFront", "cached_for_readers", "invalidate", "numbered_pages", "one_page"]
