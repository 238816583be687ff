"""Answer HEAD with the headers GET would get and no body.

Django's handler renders a HEAD like a GET, body included, and leaves dropping the body to the server. Gunicorn
does drop it, but logs a WARNING ("WSGI app sent body bytes on a no-body response") for every HEAD: anyone can
fill the log with them. The body is dropped here instead; Content-Length still says what a GET would carry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.types import WSGIApplication


class NoBodyForHead:
    """WSGI middleware: a HEAD's response is closed unread (Django's request_finished still runs) and sent empty."""

    def __init__(self, app: WSGIApplication) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        response = self.app(environ, start_response)
        if environ.get("REQUEST_METHOD") != "HEAD":
            return response
        if hasattr(response, "close"):
            response.close()
        return []
