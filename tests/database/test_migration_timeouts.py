"""`migrate` on PostgreSQL gives up on a lock it cannot get quickly instead of queueing behind a long transaction.

Queued DDL is the outage: every query on the table waits behind the ALTER TABLE, which waits behind the long
transaction. With DB_LOCK_TIMEOUT the migration fails in a second and the deploy can retry.
"""

from __future__ import annotations

import pytest
from django.test import override_settings

from apps.core.management.commands.migrate import migration_timeouts_sql
from harness.project import manage
from tests.database.conftest import site_env

pytestmark = pytest.mark.postgres


def word_count_column_exists(connection) -> bool:
    row = connection.execute(
        "SELECT count(*) FROM information_schema.columns WHERE table_name = 'content_essay' AND column_name = %s",
        ["word_count"],
    ).fetchone()
    return row[0] == 1


@override_settings(MIGRATION_LOCK_TIMEOUT=1.5, MIGRATION_STATEMENT_TIMEOUT=0)
def test_timeouts_are_set_in_milliseconds_and_zero_means_no_limit():
    assert migration_timeouts_sql() == ["SET lock_timeout = 1500", "SET statement_timeout = 0"]


def test_a_migration_queued_behind_an_open_transaction_fails_fast_and_succeeds_once_it_ends(server, make_database):
    name = make_database()
    env = site_env(server.url(name), DB_LOCK_TIMEOUT="1", DB_STATEMENT_TIMEOUT="30")
    assert manage("migrate", "--noinput", env=env).returncode == 0
    assert manage("migrate", "content", "0003", "--noinput", env=env).returncode == 0

    with server.connect(name) as reader, server.connect(name, autocommit=True) as observer:
        # A report reading essays in one long transaction: its ACCESS SHARE lock lasts until it ends.
        reader.execute("SELECT count(*) FROM content_essay").fetchone()

        blocked = manage("migrate", "content", "0004", "--noinput", env=env)

        assert blocked.returncode != 0
        assert "canceling statement due to lock timeout" in blocked.stderr
        assert not word_count_column_exists(observer)
        reader.rollback()

    retried = manage("migrate", "content", "0004", "--noinput", env=env)
    assert retried.returncode == 0, retried.stderr
    with server.connect(name) as observer:
        assert word_count_column_exists(observer)


def test_a_statement_running_past_the_statement_timeout_is_cancelled(server, make_database):
    name = make_database()
    env = site_env(server.url(name))
    assert manage("migrate", "--noinput", env=env).returncode == 0
    assert manage("seed_demo", env=env).returncode == 0
    assert manage("migrate", "content", "0004", "--noinput", env=env).returncode == 0, "0005 reversed: counts NULL"
    with server.connect(name, autocommit=True) as setup:
        # Makes the backfill's first batch take seconds per row, as a far bigger table would.
        setup.execute(
            """
            CREATE FUNCTION folio_slow() RETURNS trigger AS $$
            BEGIN PERFORM pg_sleep(5); RETURN NEW; END $$ LANGUAGE plpgsql;
            CREATE TRIGGER folio_slow BEFORE UPDATE ON content_essay FOR EACH ROW EXECUTE FUNCTION folio_slow();
            """
        )

    slow = manage("migrate", "content", "0005", "--noinput", env={**env, "DB_STATEMENT_TIMEOUT": "1"})

    assert slow.returncode != 0
    assert "canceling statement due to statement timeout" in slow.stderr
