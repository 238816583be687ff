"""Django's test client, with every request sent through the WSGI stack of config/wsgi.py instead of the test
handler: the page cache's front door (apps/content/pagecache/front.py) around Django's WSGIHandler, as Gunicorn
runs it."""

from __future__ import annotations

from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.http import HttpResponse
from django.test import Client

from apps.content.pagecache import PageCacheFront


class FrontClient(Client):
    """Logins, cookies and the get/post helpers are the test client's; the request itself is real WSGI."""

    def __init__(self, **defaults) -> None:
        super().__init__(**defaults)
        self._app: PageCacheFront | None = None

    def request(self, **request) -> HttpResponse:
        # Built at the first request, so a test's settings (middleware included) are the ones in force.
        self._app = self._app or PageCacheFront(WSGIHandler())
        environ = self._base_environ(**request)
        started: list = []
        # As Django's own test client does: a request must not close the test's database connection, or on
        # PostgreSQL the test's transaction (and with it every row the test made) is gone at the next query.
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:
            body = self._app(environ, lambda status, headers, *exc_info: started.extend([status, headers]))
            try:
                content = b"".join(body)
            finally:
                if hasattr(body, "close"):
                    body.close()
        finally:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)
        status, headers = started
        response = HttpResponse(content, status=int(status.split()[0]))
        del response["Content-Type"]
        for name, value in headers:
            if name.lower() == "set-cookie":
                response.cookies.load(value)
            else:
                response.headers[name] = value
        self.cookies.update(response.cookies)
        return response
