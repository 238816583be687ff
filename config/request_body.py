"""Read what the application left of a request body before the server closes the connection.

Django answers some requests without reading their body: a CSRF 403, a 400 for a bad Host, an admin login refused
early. Gunicorn then closes the connection with the rest of the body unread, and the kernel answers unread input
with a reset. nginx, still sending the body, can see that reset before the answer and give the client a 502 instead
of Django's answer — at random, more often on a busy machine (gunicorn issues #872 and #2622 describe it). Reading
the rest after the answer has been written lets the connection close cleanly.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from wsgiref.types import WSGIApplication

# The most a request may carry: nginx's client_max_body_size in the rendered site (20 MB) refuses anything larger
# before it reaches Gunicorn. Past this, the connection is simply closed.
MAX_DRAIN_BYTES = 20 * 1024 * 1024
CHUNK = 64 * 1024


def _has_body(environ: dict[str, Any]) -> bool:
    length = environ.get("CONTENT_LENGTH") or ""
    if length.isdigit():
        return int(length) > 0
    return "chunked" in (environ.get("HTTP_TRANSFER_ENCODING") or "").lower()


def drain(stream: Any, limit: int = MAX_DRAIN_BYTES) -> int:
    """Read and drop up to `limit` bytes of `stream`; returns how many were read."""
    read = 0
    while read < limit:
        chunk = stream.read(min(CHUNK, limit - read))
        if not chunk:
            break
        read += len(chunk)
    return read


class _ThenDrain:
    """The application's response, which drains the request body once the server has written it and closes it."""

    def __init__(self, response: Iterable[bytes], stream: Any) -> None:
        self.response = response
        self.stream = stream

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.response)

    def close(self) -> None:
        try:
            if hasattr(self.response, "close"):
                self.response.close()
        finally:
            # A client that went away mid-body leaves nothing more to read: that is not the app's error.
            with contextlib.suppress(OSError):
                drain(self.stream)


class DrainUnreadBody:
    """WSGI middleware: requests with a body get it drained after their answer; the rest pass untouched (a static
    file keeps its `wsgi.file_wrapper`, which Gunicorn sends with sendfile)."""

    def __init__(self, app: WSGIApplication) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        response = self.app(environ, start_response)
        if not _has_body(environ) or "wsgi.input" not in environ:
            return response
        return _ThenDrain(response, environ["wsgi.input"])
