"""Migration content.0007 on each vendor, in a fresh process on a database of its own: forwards it creates the
triggers and the row, backwards it removes them, and forwards again it works as the first time."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator

import pytest

from harness.postgres import Cluster
from harness.project import manage, production_env

SQLITE_TRIGGERS = {
    "content_essay_pages_insert",
    "content_essay_pages_update",
    "content_essay_pages_delete",
    "users_user_pages",
}
POSTGRESQL_TRIGGERS = {"content_essay_pages", "users_user_pages"}


def migrate(database_url: str, *target: str) -> None:
    # --skip-checks: production's checks rightly refuse SQLite (folio.E005); the migration is the subject here.
    result = manage("migrate", *target, "--noinput", "--skip-checks", env=production_env(DATABASE_URL=database_url))
    assert result.returncode == 0, result.stdout + result.stderr


def check_round_trip(database_url: str, triggers, expected: set[str]) -> None:
    migrate(database_url)
    assert triggers() == expected
    migrate(database_url, "content", "0006")
    assert triggers() == set()
    migrate(database_url)
    assert triggers() == expected


def test_the_sqlite_triggers_come_and_go_with_the_migration(tmp_path):
    path = tmp_path / "folio.sqlite3"

    def triggers() -> set[str]:
        with contextlib.closing(sqlite3.connect(path)) as database:
            return {name for (name,) in database.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}

    check_round_trip(f"sqlite:///{path}", triggers, SQLITE_TRIGGERS)
    with contextlib.closing(sqlite3.connect(path)) as database:
        assert database.execute("SELECT count(*) FROM content_pagegeneration").fetchone() == (1,)


@pytest.fixture
def postgres_url() -> Iterator[tuple[Cluster, str]]:
    from django.conf import settings

    cluster = Cluster.from_settings(settings.DATABASES["default"])
    with cluster.scratch_database(prefix="folio_inval_migration") as url:
        yield cluster, url


@pytest.mark.postgres
def test_the_postgresql_triggers_come_and_go_with_the_migration(postgres_url):
    cluster, url = postgres_url

    def triggers() -> set[str]:
        with cluster.connect(url.rsplit("/", 1)[1]) as database:
            rows = database.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal").fetchall()
        return {name for (name,) in rows}

    check_round_trip(url, triggers, POSTGRESQL_TRIGGERS)
    with cluster.connect(url.rsplit("/", 1)[1]) as database:
        assert database.execute("SELECT count(*) FROM content_pagegeneration").fetchone() == (1,)
