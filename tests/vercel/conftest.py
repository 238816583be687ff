"""Fixtures for the Vercel tests: a migrated, seeded PostgreSQL database the harness's fresh processes share."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from django.conf import settings

from tests.conftest import postgres_problem
from tests.helpers import manage
from tests.services.availability import unavailable
from tests.services.vercel_harness import vercel_env

ADMIN_USERNAME = "vercel-admin"
ADMIN_PASSWORD = "a-long-harness-password-9731"


def _server_url(database: dict, name: str) -> str:
    password = f":{database['PASSWORD']}" if database["PASSWORD"] else ""
    return f"postgres://{database['USER']}{password}@{database['HOST']}:{database['PORT'] or 5432}/{name}"


@pytest.fixture(scope="session")
def vercel_database_url() -> Iterator[str]:
    """A database of its own (the harness's processes are not inside pytest-django's test transaction), migrated
    and seeded the way a deploy would do it: `migrate`, `seed_demo`, `createsuperuser --noinput`."""
    if problem := postgres_problem():
        unavailable(problem)
    database = settings.DATABASES["default"]
    name = f"{database['NAME'].removeprefix('test_')}_vercel"
    admin = psycopg.connect(_server_url(database, "postgres"), autocommit=True)
    try:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
        url = _server_url(database, name)
        env = vercel_env(
            DATABASE_URL=url,
            DJANGO_SETTINGS_MODULE="config.settings.vercel",
            DJANGO_SUPERUSER_USERNAME=ADMIN_USERNAME,
            DJANGO_SUPERUSER_EMAIL="admin@example.org",
            DJANGO_SUPERUSER_PASSWORD=ADMIN_PASSWORD,
        )
        for command in (["migrate", "--noinput"], ["seed_demo"], ["createsuperuser", "--noinput"]):
            result = manage(*command, env=env)
            assert result.returncode == 0, f"{command}: {result.stderr}"
        yield url
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
