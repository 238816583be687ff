"""One id per request: taken from nginx's X-Request-ID when it is well-formed, otherwise made here.

The id goes on the response (`X-Request-ID`) and, through a context variable that apps.core.http.logging's filter
reads, on every log line written while the request is handled — also from threads started with
`contextvars.copy_context()`. The middleware ends each request with one access line carrying status and duration.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import re
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse

HEADER = "X-Request-ID"
META_KEY = "HTTP_X_REQUEST_ID"
# Anything else (spaces, quotes, newlines, 4 KB of junk) could forge or break log lines: we make our own id.
VALID_ID = re.compile(r"[A-Za-z0-9._-]{1,200}")
# Load balancers and orchestrators poll these every few seconds; their access lines would drown the real ones.
QUIET_PREFIX = "/health/"

logger = logging.getLogger("apps.core.requests")


@dataclass(frozen=True)
class RequestContext:
    request_id: str
    path: str


current: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar("folio_request", default=None)


def accept_or_make(candidate: str | None) -> str:
    """The proxy's id when it is 1–200 characters of [A-Za-z0-9._-], else a fresh random one."""
    if candidate and VALID_ID.fullmatch(candidate):
        return candidate
    # 32 hex characters like uuid4().hex, without building a UUID: a quarter of the time, on every cache hit too.
    return secrets.token_hex(16)


def current_request_id() -> str | None:
    context = current.get()
    return context.request_id if context else None


@contextlib.contextmanager
def request_scope(request_id: str, path: str) -> Iterator[None]:
    """Every log line written inside carries `request_id` and `path` (apps.core.http.logging's filter reads them)."""
    token = current.set(RequestContext(request_id=request_id, path=path))
    try:
        yield
    finally:
        current.reset(token)


def log_access(method: str, path: str, status: int, started: float) -> None:
    """The one access line of a request, whoever answered it (this middleware, or the page cache's front door)."""
    level = logging.DEBUG if path.startswith(QUIET_PREFIX) else logging.INFO
    duration_ms = round((time.perf_counter() - started) * 1000, 1)
    logger.log(level, "%s %s %s", method, path, status, extra={"status": status, "duration": duration_ms})


def adopt(environ: dict[str, Any]) -> str:
    """The id of a request not yet in Django (a WSGI wrapper's), written back where RequestIdMiddleware looks."""
    environ[META_KEY] = accept_or_make(environ.get(META_KEY))
    return environ[META_KEY]


class Served:
    """A request being answered inside `serving()`: its id, the header that carries it, and its access line."""

    def __init__(self, request_id: str, method: str, path: str, started: float) -> None:
        self.request_id = request_id
        self.header = (HEADER, request_id)
        self._line = (method, path, started)

    def answered(self, status: int) -> None:
        method, path, started = self._line
        log_access(method, path, status, started)


@contextlib.contextmanager
def serving(method: str, path: str, candidate: str | None) -> Iterator[Served]:
    """The work of RequestIdMiddleware for whoever answers a request: the id (the proxy's when well-formed) on
    every log line inside; the caller puts `served.header` on its response and calls `served.answered(status)`."""
    started = time.perf_counter()
    served = Served(accept_or_make(candidate), method, path, started)
    with request_scope(served.request_id, path):
        yield served


class RequestIdMiddleware:
    """Outermost middleware: everything below it, including error pages, runs with the id set."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with serving(request.method, request.path, request.META.get(META_KEY)) as served:
            request.request_id = served.request_id
            response = self.get_response(request)
            response[HEADER] = served.request_id
            served.answered(response.status_code)
        return response
