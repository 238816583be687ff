"""Throwaway databases on the postgres tier's server, for tests that run Folio in a fresh process against them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from harness.availability import unavailable
from harness.pgbouncer import PgBouncer, running_pgbouncer
from harness.postgres import Cluster
from harness.processes import ServiceDidNotStart
from harness.project import clean_env, manage


@pytest.fixture
def pgbouncer(settings) -> Iterator[PgBouncer]:
    """PgBouncer (transaction mode) in front of the PostgreSQL that TEST_DATABASE_URL names."""
    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.postgresql":
        unavailable("PgBouncer needs the postgres tier: set TEST_DATABASE_URL to a PostgreSQL server")
    server = Cluster.from_settings(database)
    try:
        with running_pgbouncer(upstream_host=server.host, upstream_port=server.port, user=server.user) as bouncer:
            yield bouncer
    except ServiceDidNotStart as exc:
        unavailable(str(exc))


@pytest.fixture
def server(settings) -> Cluster:
    """The postgres tier's server (TEST_DATABASE_URL)."""
    return Cluster.from_settings(settings.DATABASES["default"])


@pytest.fixture
def make_database(server) -> Iterator:
    """Create empty databases on demand; every one is dropped afterwards, whatever the test did to it."""
    created: list[str] = []

    def create() -> str:
        name = f"folio_scratch_{uuid.uuid4().hex[:12]}"
        server.create_database(name)
        created.append(name)
        return name

    yield create
    for name in created:
        server.drop_database(name)


def site_env(database_url: str, **overrides: str) -> dict[str, str]:
    """Development settings (DEBUG, static files from the apps) on `database_url`: the pooling code is base.py's."""
    return clean_env(DJANGO_SETTINGS_MODULE="config.settings.development", DATABASE_URL=database_url, **overrides)


@pytest.fixture
def seeded(server, make_database) -> str:
    """A scratch database migrated and seeded with the demo essays, by name."""
    name = make_database()
    env = site_env(server.url(name))
    assert manage("migrate", "--noinput", env=env).returncode == 0
    assert manage("seed_demo", env=env).returncode == 0
    return name
