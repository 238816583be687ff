"""Test tiers (DESIGN.md): unit always runs; postgres, services and browser need real components.

`make test` runs the suite twice: everything but the postgres tier on SQLite, then the postgres tier against
TEST_DATABASE_URL. A tier whose service is missing is skipped with the reason, or fails under
FOLIO_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import functools
from pathlib import Path

import psycopg
import pytest
from django.conf import settings

from harness.availability import unavailable

TIERS = ("postgres", "services", "browser")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def pytest_collection_modifyitems(config, items):
    for item in items:
        if not any(item.get_closest_marker(tier) for tier in TIERS):
            item.add_marker(pytest.mark.unit)


@functools.cache
def postgres_problem() -> str | None:
    """Why the postgres tier cannot run in this session, or None when it can."""
    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.postgresql":
        return "the postgres tier needs TEST_DATABASE_URL pointing at a PostgreSQL server"
    try:
        psycopg.connect(
            host=database["HOST"],
            port=database["PORT"] or 5432,
            user=database["USER"],
            password=database["PASSWORD"],
            dbname="postgres",
            connect_timeout=3,
        ).close()
    except psycopg.Error as exc:
        return f"PostgreSQL at {database['HOST']}:{database['PORT']} is not reachable: {exc}"
    return None


def pytest_runtest_setup(item):
    if item.get_closest_marker("postgres") and (problem := postgres_problem()):
        unavailable(problem)


@pytest.fixture
def artifacts_dir() -> Path:
    """Where tests keep what a person may want to look at afterwards (screenshots, rendered configs)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
