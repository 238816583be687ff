"""The image's HEALTHCHECK: exit 0 when this container's Gunicorn answers the liveness endpoint with 200.

Python, because python:3.12-slim has no curl or wget. It reads the environment directly instead of importing
Django: Docker runs it every 30 seconds, and loading settings each time would cost more than the check.
"""

from __future__ import annotations

import http.client
import os
import sys
from collections.abc import Mapping

LIVENESS_PATH = "/health/live"
DEFAULT_BIND = "0.0.0.0:8000"
TIMEOUT_SECONDS = 3.0


def target(bind: str) -> tuple[str, int]:
    """Where to connect for a GUNICORN_BIND value: a wildcard address is reached on loopback."""
    first = bind.replace(",", " ").split()[0]
    host, _, port = first.rpartition(":")
    host = host.strip("[]")
    if host in ("", "0.0.0.0"):  # noqa: S104 - recognising the wildcard, not binding to it
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return host, int(port)


def host_header(allowed_hosts: str) -> str:
    """A Host Django accepts: the first ALLOWED_HOSTS entry, because 127.0.0.1 is rarely one and would get a 400."""
    for entry in allowed_hosts.split(","):
        name = entry.strip().lstrip(".")
        if name and name != "*":
            return name
    return "localhost"


def check(environ: Mapping[str, str]) -> str | None:
    """None when live; otherwise what went wrong, for `docker inspect`'s health log."""
    host, port = target(environ.get("GUNICORN_BIND", DEFAULT_BIND))
    connection = http.client.HTTPConnection(host, port, timeout=TIMEOUT_SECONDS)
    try:
        # X-Forwarded-Proto: https, as nginx sends it, so an HTTPS redirect does not turn the probe into a 301.
        connection.request(
            "GET",
            LIVENESS_PATH,
            headers={"Host": host_header(environ.get("ALLOWED_HOSTS", "")), "X-Forwarded-Proto": "https"},
        )
        status = connection.getresponse().status
    except OSError as exc:
        return f"{host}:{port}{LIVENESS_PATH}: {exc}"
    finally:
        connection.close()
    return None if status == 200 else f"{host}:{port}{LIVENESS_PATH} answered {status}"


if __name__ == "__main__":
    problem = check(os.environ)
    if problem:
        sys.exit(f"unhealthy: {problem}")
