"""Fixtures for the operations tests: collected static files, a raw HTTP client, a production Folio under Gunicorn."""

from __future__ import annotations

import contextlib
import http.client
import time
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
    result = manage("collectstatic", "--noinput", env=production_env(DJANGO_BUILD="1", STATIC_ROOT=str(root)))
    assert result.returncode == 0, result.stderr
    assert (root / "staticfiles.json").is_file()
    return root


@pytest.fixture(scope="module")
def site_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("site")


@pytest.fixture(scope="module")
def sqlite_url(site_dir, collected_static) -> str:
    """A migrated SQLite file: enough for HTTP behaviour (PostgreSQL faults live in test_faults.py)."""
    tmp_path = site_dir
    url = f"sqlite:///{tmp_path / 'folio.sqlite3'}"
    # --skip-checks: folio.E005 rightly refuses SQLite for production settings; these tests only need a database.
    env = folio_env(collected_static, tmp_path, DATABASE_URL=url)
    result = manage("migrate", "--noinput", "--skip-checks", env=env)
    assert result.returncode == 0, result.stderr
    return url


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


def wait_until_ready(server: Gunicorn, *, within: float = 120.0) -> None:
    """Until /health/ready answers 200, as a load balancer waits before it sends traffic. A worker's first
    readiness check loads the migration graph; on a loaded machine that alone can outlast the 1.5 s deadline, so
    tests about what a ready instance answers wait for readiness first (bounded; the bound is the test's, not the
    product's)."""
    deadline = time.monotonic() + within
    while (reply := fetch(server, "/health/ready")).status != 200:
        assert time.monotonic() < deadline, f"not ready within {within:.0f} s: {reply.status} {reply.text}"
        time.sleep(0.5)


@pytest.fixture(scope="module")
def plain_site(site_dir, collected_static, sqlite_url):
    """Production settings over plain HTTP on loopback, ready: what Gunicorn answers before any proxy."""
    with folio(folio_env(collected_static, site_dir, DATABASE_URL=sqlite_url), site_dir, "plain") as server:
        wait_until_ready(server)
        yield server
