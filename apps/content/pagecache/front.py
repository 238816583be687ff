"""The page cache's front door: a WSGI wrapper (config/wsgi.py) that answers a cached page before Django runs.

Why outside Django: on a hit the page is one cache read, but Django's handler still builds a request, sends the
request_started/finished signals and walks a dozen middleware on the way in and out; profiled, that was four
fifths of a hit's cost, and the essay page under Gunicorn stayed below half of a hello-world app's throughput.

What a hit replays: the body and the page-level headers the whole stack gave the response when it was stored
(content type, security headers, CSP, Vary), named in PAGE_HEADERS. Nothing else is kept, because anything else
may belong to the first reader; a response that sets a cookie or carries a CSP nonce is not stored at all. The
request id and the access line are made fresh per hit, as RequestIdMiddleware makes them for everything else.

Which requests: GETs of a path that resolves to a view decorated with `cached_for_readers`, without a session
cookie (a session may be logged in), with the same page name the view computes (cache.page_key from Django's
own scheme and host logic, so an untrusted Host never matches). Everything else goes to Django untouched.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.core.handlers.wsgi import WSGIRequest, get_path_info
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpResponse
from django.http.cookie import parse_cookie
from django.urls import Resolver404, resolve
from django.utils import timezone

from apps.core import request_id

from . import cache

# Headers that describe the page or the site's policy: the same for every reader without a session.
PAGE_HEADERS = frozenset(
    {
        "content-type",
        "content-length",
        "content-language",
        "vary",
        "cache-control",
        "expires",
        "last-modified",
        "content-security-policy",
        "content-security-policy-report-only",
        "x-frame-options",
        "strict-transport-security",
        "x-content-type-options",
        "referrer-policy",
        "cross-origin-opener-policy",
        "cross-origin-resource-policy",
        "permissions-policy",
    }
)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
Headers = list[tuple[str, str]]


@functools.lru_cache(maxsize=2048)
def serves_cached_pages(path_info: str) -> bool:
    """Whether `path_info` resolves to a `cached_for_readers` view; remembered, so a hit does not route."""
    try:
        return getattr(resolve(path_info).func, "folio_page_cache", False)
    except Resolver404:
        return False


@receiver(setting_changed)
def _forget_routes(*, setting: str, **kwargs: Any) -> None:
    # Only tests change settings at run time; a test with its own URLconf must not see the previous one's routes.
    if setting == "ROOT_URLCONF":
        serves_cached_pages.cache_clear()


def _page_name(environ: dict[str, Any]) -> tuple[str, str] | None:
    """The request's path and the cache name its view stores the page under; None when the front stays out."""
    # Routed first, from the path alone: a static file or a probe costs one remembered lookup, no request object.
    if environ.get("REQUEST_METHOD") != "GET" or not serves_cached_pages(get_path_info(environ) or "/"):
        return None
    cookies = environ.get("HTTP_COOKIE")
    if cookies and settings.SESSION_COOKIE_NAME in parse_cookie(cookies):
        return None
    request = WSGIRequest(environ)
    try:
        variant = cache.page_variant(request)
        if variant is None:
            return None
        return request.path, cache.page_key(request, f"{request.path}|{variant}")
    except SuspiciousOperation:
        # A Host not in ALLOWED_HOSTS, a query string with too many fields: Django answers (400) and logs it,
        # as it does for any other request.
        return None


def storable_headers(headers: Headers) -> tuple[tuple[str, str], ...] | None:
    """The page-level headers of a final response, or None when it must not be stored for everyone."""
    for name, value in headers:
        lowered = name.lower()
        if lowered == "set-cookie" or (lowered.startswith("content-security-policy") and "'nonce-" in value):
            return None
    return tuple((name, value) for name, value in headers if name.lower() in PAGE_HEADERS)


class PageCacheFront:
    """Wraps Django's WSGI handler: serves stored pages, and stores what the views leave pending."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        started = time.perf_counter()
        page = _page_name(environ)
        if page is None:
            return self.app(environ, start_response)
        path, name = page
        # The request's id from here on: the cache's own warnings carry it too, and RequestIdMiddleware, finding
        # a well-formed id in the environ, keeps it for a page Django renders.
        rid = environ[request_id.META_KEY] = request_id.accept_or_make(environ.get(request_id.META_KEY))
        with request_id.request_scope(rid, path):
            try:
                _, entry = cache.lookup(name, timezone.now().timestamp())
            except cache.CacheUnavailable:
                return self.app(environ, start_response)
            if entry is not None and entry.headers is not None:
                start_response("200 OK", [*entry.headers, (cache.HEADER, "hit"), (request_id.HEADER, rid)])
                request_id.log_access("GET", path, 200, started)
                return [entry.content]
            return self._render_and_store(environ, start_response)

    def _render_and_store(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        environ[cache.FRONT_KEY] = True
        final: list[Any] = []

        def capture(status: str, headers: Headers, *exc_info: Any) -> Callable[..., Any]:
            final[:] = [status, headers]
            return start_response(status, headers, *exc_info)

        response = self.app(environ, capture)
        pending: cache.Pending | None = environ.get(cache.PENDING_KEY)
        if pending is not None and final and final[0].startswith("200 ") and isinstance(response, HttpResponse):
            headers = storable_headers(final[1])
            if headers is not None:
                # The body as sent: middleware below the view may have changed it after the view rendered.
                entry = pending.entry._replace(content=response.content, headers=headers)
                cache.store(pending._replace(entry=entry))
        return response
