"""The page cache's front door: a WSGI wrapper (config/wsgi.py) that answers a cached page before Django runs.

Why outside Django: on a hit the page is one cache read, but Django's handler still builds a request, sends the
request_started/finished signals and walks a dozen middleware on the way in and out; profiled, that was four
fifths of a hit's cost, and the essay page under Gunicorn stayed below half of a hello-world app's throughput.

A hit is answered with the entry's body and headers (entry.hit_headers, as the decorator answers its own hits),
a request id and one access line, both made by apps.core.http.request_id as for every other request. Only entries the
front stored itself are answered here: their headers are the whole stack's.

Which requests: GETs of a path that resolves to a view decorated with `cached_for_readers`, without a session
cookie (a session may be logged in), under the page name the view computes — its own key, and store.page_key from
Django's own scheme and host logic, so an untrusted Host never matches. Everything else goes to Django untouched.
A name is worked out once per shape of request (NAME_INPUTS) and remembered.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.types import WSGIApplication

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.core.handlers.wsgi import get_path_info
from django.core.signals import setting_changed
from django.http import Http404, HttpResponse
from django.http.cookie import parse_cookie
from django.urls import Resolver404, resolve
from django.utils import timezone

from apps.core.http import request_id
from apps.core.http.unreadable import ReadableRequest

from . import handoff
from .entry import Pending, hit_headers, page_headers
from .store import CacheUnavailable, page_key, pages

# What a page name is made of besides the settings and the proxy's scheme header (SECURE_PROXY_SSL_HEADER): every
# key Django reads to build the path (get_script_name, get_path_info), decode the query string (the Content-Type's
# charset), and find the host and scheme (HttpRequest.get_host, .scheme).
NAME_INPUTS = (
    "PATH_INFO",
    "SCRIPT_NAME",
    "SCRIPT_URL",
    "REDIRECT_URL",
    "QUERY_STRING",
    "CONTENT_TYPE",
    "HTTP_HOST",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
    "SERVER_NAME",
    "SERVER_PORT",
    "wsgi.url_scheme",
)


class PageCacheFront:
    """Wraps Django's WSGI handler: serves stored pages, and stores what the views hand off."""

    def __init__(self, app: WSGIApplication) -> None:
        self.app = app
        # Which paths are cached pages, with their view's key and arguments, remembered per URLconf, so a hit does
        # not route and a test's own URLconf never sees another's answers.
        self._cached_view = functools.lru_cache(maxsize=2048)(self._resolve_cached_view)
        # Each page name, remembered by what it is made of (NAME_INPUTS), so a hit builds no request: that was a
        # third of a hit. Forgotten when a setting changes (a test's ALLOWED_HOSTS, say); production never does.
        # 1,024 names: room for every page readers keep hitting, and at most some 20 MB per worker if a client sends
        # nothing but the longest request lines and headers Gunicorn accepts.
        self._names = functools.lru_cache(maxsize=1024)(self._name_from)
        setting_changed.connect(self._forget_names)

    def _forget_names(self, **kwargs: Any) -> None:
        self._names.cache_clear()

    @staticmethod
    def _resolve_cached_view(urlconf: str, path_info: str) -> tuple[Callable[..., str], dict[str, Any]] | None:
        try:
            match = resolve(path_info, urlconf)
        except Resolver404:
            return None
        key = getattr(match.func, "folio_page_cache", None)
        return (key, match.kwargs) if key else None

    def _page_name(self, environ: dict[str, Any]) -> tuple[str, str] | None:
        """The request's path and the cache name its view stores the page under; None when the front stays out."""
        if environ.get("REQUEST_METHOD") != "GET":
            return None
        proxy_ssl_header = settings.SECURE_PROXY_SSL_HEADER
        page = self._names(
            settings.ROOT_URLCONF,  # a test's own URLconf may be set without a setting_changed signal
            environ.get(proxy_ssl_header[0]) if proxy_ssl_header else None,
            *(environ.get(name) for name in NAME_INPUTS),
        )
        if page is None:
            return None
        cookies = environ.get("HTTP_COOKIE")
        if cookies and settings.SESSION_COOKIE_NAME in parse_cookie(cookies):
            return None
        return page

    def _name_from(self, urlconf: str, proxy_scheme: str | None, *inputs: str | None) -> tuple[str, str] | None:
        """_page_name's answer worked out from its inputs alone: from a request rebuilt of exactly them, so nothing
        else a request carries can change it."""
        environ: dict[str, Any] = {
            name: value for name, value in zip(NAME_INPUTS, inputs, strict=True) if value is not None
        }
        if proxy_scheme is not None:
            environ[settings.SECURE_PROXY_SSL_HEADER[0]] = proxy_scheme
        environ.update({"REQUEST_METHOD": "GET", "wsgi.input": io.BytesIO(b"")})
        # Routed first, from the path alone: a static file or a probe costs one remembered lookup, no request object.
        view = self._cached_view(urlconf, get_path_info(environ) or "/")
        if view is None:
            return None
        key, kwargs = view
        request = ReadableRequest(environ)
        if request.unreadable:
            return None  # Django answers it 400 (apps/core/http/unreadable.py), as it does on any other path
        try:
            return request.path, page_key(request, f"{request.path}|{key(request, **kwargs)}")
        except Http404:
            return None  # no such page: Django answers it
        except SuspiciousOperation:
            # A Host not in ALLOWED_HOSTS, a query string with too many fields: Django answers (400) and logs it,
            # as it does for any other request.
            return None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        page = self._page_name(environ)
        if page is None:
            return self.app(environ, start_response)
        path, name = page
        # The request's id from here on: the cache's own warnings carry it too, and RequestIdMiddleware keeps it
        # for a page Django renders.
        with request_id.serving("GET", path, request_id.adopt(environ)) as served:
            try:
                _, entry = pages.lookup(name, timezone.now().timestamp())
            except CacheUnavailable:
                return self.app(environ, start_response)
            if entry is not None and entry.whole_stack:
                start_response("200 OK", [*hit_headers(entry), served.header])
                served.answered(200)
                return [entry.content]
            return self._render_and_store(environ, start_response)

    def _render_and_store(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        final: list[Any] = []

        def capture(status: str, headers: list[tuple[str, str]], *exc_info: Any) -> Callable[..., Any]:
            final[:] = [status, headers]
            return start_response(status, headers, *exc_info)

        with handoff.opened() as handed:
            response = self.app(environ, capture)
        pending: Pending | None = handed.pending
        if pending is not None and final and final[0].startswith("200 ") and isinstance(response, HttpResponse):
            headers = page_headers(final[1])
            if headers is not None:
                # The body as sent: middleware below the view may have changed it after the view rendered.
                entry = pending.entry._replace(content=response.content, headers=headers, whole_stack=True)
                pages.store(pending._replace(entry=entry))
        return response
