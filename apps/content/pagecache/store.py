"""The page cache for anonymous readers of the list, the essays and the feed.

Why not Django's cache_page: it keys on the full URL (any junk query string makes a new entry), stores every
header (a request id or a CSP nonce of the first reader would be replayed to the next), and cannot be invalidated
as a whole. Here a view names its own key, only the body and content type are stored, and a generation token
makes every entry stale at once when an essay is saved or deleted.

Each entry also carries the moment it stops being valid, checked against `timezone.now()` on every read: an
essay scheduled for 09:00 appears at 09:00 even though nothing runs then, whatever the backend's TTL precision.

A cache that fails (Redis down or hanging) is logged once and left alone for RETRY_AFTER seconds; pages are
rendered uncached meanwhile.

Under the WSGI app of config/wsgi.py, hits for readers without a session are answered by apps/content/front.py
before Django's handler runs, and the front stores what the views here render, with the final response headers.
Anywhere else (the test client, an ASGI server) this module serves and stores on its own.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import math
import re
import time
import uuid
from collections.abc import Callable
from typing import Any, NamedTuple

from django.conf import settings
from django.core.cache import caches
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

logger = logging.getLogger(__name__)

CACHE_ALIAS = "default"
# Part of every key: bump it when Entry changes, so a deploy never unpickles the previous release's entries.
ENTRY_VERSION = 2
GENERATION_KEY = f"content:v{ENTRY_VERSION}:generation"
HEADER = "X-Folio-Cache"
# Long enough that a dead Redis costs one slow request per worker per half minute, short enough to recover soon.
RETRY_AFTER = 30.0
# The only spelling of a page number: "01", "+1" or "1.0" would each be another cache entry.
PAGE_NUMBER = re.compile(r"[1-9][0-9]{0,5}")

_skip_until = 0.0

View = Callable[..., HttpResponse]


class Entry(NamedTuple):
    generation: str
    valid_until: float
    content_type: str
    content: bytes
    # The page-level headers the whole middleware stack gave the response, when the front stored it (front.py).
    headers: tuple[tuple[str, str], ...] | None = None


class Pending(NamedTuple):
    """A rendered page for the front to store once the rest of the stack has added its headers."""

    name: str
    entry: Entry
    timeout: int


# WSGI environ keys shared with the front: it marks the requests it will store for, the view leaves a Pending.
FRONT_KEY = "folio.page_cache.front"
PENDING_KEY = "folio.page_cache.pending"


class CacheUnavailable(Exception):
    pass


def _cache_call(method: str, *args: Any, **kwargs: Any) -> Any:
    global _skip_until
    if time.monotonic() < _skip_until:
        raise CacheUnavailable
    try:
        return getattr(caches[CACHE_ALIAS], method)(*args, **kwargs)
    except Exception as exc:  # every backend fails differently (redis, pymemcache, ...); all mean "no cache"
        _skip_until = time.monotonic() + RETRY_AFTER
        logger.warning(
            "page cache unavailable (%s: %s); serving pages uncached for %.0f s", type(exc).__name__, exc, RETRY_AFTER
        )
        raise CacheUnavailable from exc


def store(pending: Pending) -> None:
    with contextlib.suppress(CacheUnavailable):
        _cache_call("set", pending.name, pending.entry, timeout=pending.timeout)


def invalidate() -> None:
    """Make every cached page stale at once: entries of older generations are never served again."""
    global _skip_until
    # Tried even while the cache is being skipped: a save must not leave stale pages behind when it comes back.
    _skip_until = 0.0
    with contextlib.suppress(CacheUnavailable):
        _cache_call("set", GENERATION_KEY, uuid.uuid4().hex, timeout=None)


def page_key(request: HttpRequest, name: str) -> str:
    # Scheme and host are part of the page: the feed and canonical links are absolute.
    raw = f"{request.scheme}://{request.get_host()}|{name}"
    return f"content:v{ENTRY_VERSION}:page:" + hashlib.sha256(raw.encode()).hexdigest()[:32]


def seconds_valid(now: float) -> float:
    """How long a page rendered now may be served: PAGE_CACHE_SECONDS, or less if an essay is due sooner."""
    from .models import Essay

    seconds = float(settings.PAGE_CACHE_SECONDS)
    if (due := Essay.objects.next_scheduled_at()) is not None:
        seconds = min(seconds, due.timestamp() - now)
    return seconds


def _storable(response: HttpResponse) -> bool:
    # A cookie (CSRF, session, messages) is per reader; a streamed or error response is not worth keeping.
    return response.status_code == 200 and not response.streaming and not response.cookies


def lookup(name: str, now: float) -> tuple[str | None, Entry | None]:
    """The current generation and the entry stored under `name` if it is still valid, else None."""
    found = _cache_call("get_many", [GENERATION_KEY, name])
    generation, entry = found.get(GENERATION_KEY), found.get(name)
    if entry is not None and entry.generation == generation and now < entry.valid_until:
        return generation, entry
    return generation, None


def _hit(entry: Entry) -> HttpResponse:
    response = HttpResponse(entry.content, content_type=entry.content_type)
    response[HEADER] = "hit"
    return response


def page_variant(request: HttpRequest) -> str | None:
    """The part of the query that selects another page of the same path: "" for the first, "page=N" after it;
    None when `page` is not a canonical number ("01", "1.0" and "abc" would each be one more entry)."""
    if not request.META.get("QUERY_STRING"):
        return ""  # the common case, without parsing a query string
    raw = request.GET.get("page", "1")
    if not PAGE_NUMBER.fullmatch(raw):
        return None
    return "" if raw == "1" else f"page={raw}"


def cached_for_readers(key: Callable[..., str]) -> Callable[[View], View]:
    """Serve anonymous GETs of the decorated view from the cache. An entry is named by the path and
    `key(request, **kwargs)` — the page variant, "" for a view with one page per path — which may raise Http404
    for input that names no page. Logged-in users are neither served nor stored."""

    def decorator(view: View) -> View:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method != "GET" or request.user.is_authenticated:
                response = view(request, *args, **kwargs)
                response[HEADER] = "bypass"
                return response
            name = page_key(request, f"{request.path}|{key(request, **kwargs)}")
            now = timezone.now().timestamp()
            try:
                generation, entry = lookup(name, now)
            except CacheUnavailable:
                response = view(request, *args, **kwargs)
                response[HEADER] = "unavailable"
                return response
            if entry is not None:
                return _hit(entry)
            # Generation and lifetime are taken before rendering: a save or a due essay during the render
            # then makes this entry stale instead of letting it hide the change.
            generation = generation or _first_generation()
            valid_for = seconds_valid(now) if generation is not None else 0.0
            response = view(request, *args, **kwargs)
            response[HEADER] = "miss"
            if generation is not None and valid_for > 0 and _storable(response):
                entry = Entry(generation, now + valid_for, response["Content-Type"], response.content)
                pending = Pending(name, entry, math.ceil(valid_for))
                if FRONT_KEY in request.META:
                    request.META[PENDING_KEY] = pending
                else:
                    store(pending)
            return response

        wrapper.folio_page_cache = True  # the front answers only for paths that resolve to a cached view
        return wrapper

    return decorator


def _first_generation() -> str | None:
    """The generation token, created if the cache has none yet (fresh start, or evicted)."""
    try:
        # Whoever adds first wins; everyone reads back the same token.
        _cache_call("add", GENERATION_KEY, uuid.uuid4().hex, timeout=None)
        return _cache_call("get", GENERATION_KEY)
    except CacheUnavailable:
        return None
