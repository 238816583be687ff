"""The baseline for bench_gunicorn: the least a WSGI app can do, served by the same gunicorn.conf.py as Folio."""

from __future__ import annotations

from collections.abc import Callable, Iterable

BODY = b"Hello, world!\n"


def application(environ: dict, start_response: Callable) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(BODY)))])
    return [BODY]
