"""Requests whose headers Django cannot read become a 400, never a bare 500.

Django builds its request object before its own error handling starts, and some headers make that raise: a
`Content-Type` whose charset names a codec that is not a text encoding (`charset=hex`, `rot13`, `base64`,
`zlib`: LookupError once a query string is decoded), or an RFC 2231 parameter it cannot parse
(`charset*=BOGUS''x`: ValueError). Without this, Gunicorn answers its own 500 with a traceback at ERROR (and a
Sentry event) for any path, /health/live included, so anyone can flood the log and the error tracker.

`ReadableRequest` catches whatever building the request raises, builds it again from the request minus its body's
headers, and marks it; `RefuseUnreadableRequests`, right after the request-id middleware, answers it 400 with one
WARNING line. Used by config/wsgi.py's handler and by the page cache's front door, which builds requests too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.core.handlers.wsgi import WSGIHandler, WSGIRequest
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest

logger = logging.getLogger("apps.core.requests")

# What the request is rebuilt without: the headers that describe the body are all that Django parses eagerly.
BODY_HEADERS = ("CONTENT_TYPE", "CONTENT_LENGTH")


class ReadableRequest(WSGIRequest):
    """A WSGIRequest that does not raise while it is built; `unreadable` says why Django could not read it."""

    unreadable: str | None = None

    def __init__(self, environ: dict[str, Any]) -> None:
        try:
            # Setting a request's charset re-decodes its query string: a non-text codec fails right here.
            super().__init__(environ)
        except (LookupError, ValueError, UnicodeError) as exc:
            problem = f"{type(exc).__name__}: {exc}"
            super().__init__({key: value for key, value in environ.items() if key not in BODY_HEADERS})
            self.unreadable = problem


class ReadableWSGIHandler(WSGIHandler):
    request_class = ReadableRequest


class RefuseUnreadableRequests:
    """Middleware: 400 for a request ReadableRequest marked, with one WARNING line and no traceback."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        problem = getattr(request, "unreadable", None)
        if problem is None:
            return self.get_response(request)
        logger.warning("refused %s %s: its headers cannot be read (%s)", request.method, request.path, problem)
        return HttpResponseBadRequest(
            "Bad request: the Content-Type header cannot be read.\n", content_type="text/plain; charset=utf-8"
        )
