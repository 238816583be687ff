"""Fixtures for the operations tests: collected static files, a raw HTTP client, a production Folio under Gunicorn."""

from __future__ import annotations

import contextlib
import http.client
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

import pytest

from harness.gunicorn import Gunicorn, running_gunicorn
from harness.project import manage, production_env

ADMIN_URL = "desk-7q2x/"


@dataclass
class Reply:
    status: int
    headers: Message
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def cookies(self) -> list[str]:
        return self.headers.get_all("Set-Cookie") or []


def fetch(
    server: Gunicorn,
    path: str,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    timeout: float = 30,
) -> Reply:
    """One request, redirects not followed, any Host header: what a probe or a browser's first hop sees."""
    connection = http.client.HTTPConnection(server.host, server.port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers={"Host": "127.0.0.1", **(headers or {})})
        response = connection.getresponse()
        return Reply(response.status, response.headers, response.read())
    finally:
        connection.close()


@pytest.fixture(scope="session")
def collected_static(tmp_path_factory) -> Path:
    """STATIC_ROOT with the manifest, built as the Docker image and Vercel's builder do (DJANGO_BUILD=1)."""
    root = tmp_path_factory.mktemp("staticfiles")
    result = manage(
        "collectstatic", "--noinput", env=production_env(DJANGO_BUILD="1", STATIC_ROOT=str(root)), timeout=180
    )
    assert result.returncode == 0, result.stderr
    assert (root / "staticfiles.json").is_file()
    return root


def folio_env(collected_static: Path, tmp_path: Path, **overrides: str) -> dict[str, str]:
    """Production settings for one Gunicorn worker on loopback; plain HTTP unless a test says otherwise."""
    return production_env(
        **{
            "STATIC_ROOT": str(collected_static),
            "MEDIA_ROOT": str(tmp_path / "media"),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "ADMIN_URL": ADMIN_URL,
            "SECURE_SSL_REDIRECT": "false",
            "WEB_CONCURRENCY": "1",
            "GUNICORN_THREADS": "4",
            "GUNICORN_TIMEOUT": "60",
            **overrides,
        }
    )


@contextlib.contextmanager
def folio(env: dict[str, str], tmp_path: Path, name: str = "gunicorn") -> Iterator[Gunicorn]:
    with running_gunicorn(env=env, log=tmp_path / f"{name}.log") as server:
        yield server
