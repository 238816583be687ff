"""Throwaway databases on the postgres tier's server, for tests that run Folio in a fresh process against them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest

from harness.availability import unavailable
from harness.pgbouncer import PgBouncer, running_pgbouncer
from harness.processes import ServiceDidNotStart
from harness.project import clean_env


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    user: str

    def url(self, name: str) -> str:
        return f"postgres://{self.user}@{self.host}:{self.port}/{name}"

    def connect(self, name: str = "postgres", **kwargs) -> psycopg.Connection:
        return psycopg.connect(host=self.host, port=self.port, user=self.user, dbname=name, **kwargs)


@pytest.fixture
def pgbouncer(settings) -> Iterator[PgBouncer]:
    """PgBouncer (transaction mode) in front of the PostgreSQL that TEST_DATABASE_URL names."""
    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.postgresql":
        unavailable("PgBouncer needs the postgres tier: set TEST_DATABASE_URL to a PostgreSQL server")
    try:
        with running_pgbouncer(
            upstream_host=database["HOST"] or "127.0.0.1",
            upstream_port=int(database["PORT"] or 5432),
            user=database["USER"] or "postgres",
        ) as bouncer:
            yield bouncer
    except ServiceDidNotStart as exc:
        unavailable(str(exc))


@pytest.fixture
def server(settings) -> Server:
    database = settings.DATABASES["default"]
    return Server(database["HOST"] or "127.0.0.1", int(database["PORT"] or 5432), database["USER"] or "postgres")


@pytest.fixture
def make_database(server) -> Iterator:
    """Create empty databases on demand; every one is dropped afterwards, whatever the test did to it."""
    created: list[str] = []

    def create() -> str:
        name = f"folio_scratch_{uuid.uuid4().hex[:12]}"
        with server.connect(autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        created.append(name)
        return name

    yield create
    with server.connect(autocommit=True) as admin:
        for name in created:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def site_env(database_url: str, **overrides: str) -> dict[str, str]:
    """Development settings (DEBUG, static files from the apps) on `database_url`: the pooling code is base.py's."""
    return clean_env(DJANGO_SETTINGS_MODULE="config.settings.development", DATABASE_URL=database_url, **overrides)
