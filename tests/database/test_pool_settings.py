"""DB_POOL and friends: what each pooling mode puts in DATABASES, and the mistakes that stop start-up."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.database import database_entry, direct_entry
from harness.project import clean_env, production_env, run_python

POSTGRES_URL = "postgres://folio:secret@db.example.org:5432/folio"
PRINT_DATABASES = "import json, django; django.setup(); from django.conf import settings; " \
    "print(json.dumps({**settings.DATABASES, 'migration': settings.MIGRATION_DATABASE}, default=str))"  # fmt: skip


def databases_from(env: dict[str, str]) -> dict:
    result = run_python(PRINT_DATABASES, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_none_mode_keeps_connections_for_conn_max_age():
    entry = database_entry(POSTGRES_URL, pool="none", conn_max_age=60)
    assert entry["CONN_MAX_AGE"] == 60
    assert "pool" not in entry.get("OPTIONS", {})
    assert not entry.get("DISABLE_SERVER_SIDE_CURSORS")


def test_native_mode_uses_djangos_pool_and_never_a_persistent_connection():
    entry = database_entry(
        POSTGRES_URL, pool="native", conn_max_age=60, pool_min_size=1, pool_max_size=5, pool_timeout=1.5
    )
    assert entry["OPTIONS"]["pool"] == {"min_size": 1, "max_size": 5, "timeout": 1.5}
    assert entry["CONN_MAX_AGE"] == 0


@pytest.mark.parametrize("mode", ["none", "native", "pgbouncer"])
def test_every_mode_bounds_a_new_connection_unless_the_url_says_otherwise(mode):
    assert database_entry(POSTGRES_URL, pool=mode, connect_timeout=3)["OPTIONS"]["connect_timeout"] == 3
    own = database_entry(f"{POSTGRES_URL}?connect_timeout=10", pool=mode, connect_timeout=3)
    assert int(own["OPTIONS"]["connect_timeout"]) == 10
    # SQLite has no connection to wait for, and would refuse an option it does not know.
    assert "OPTIONS" not in database_entry("sqlite:///folio.db", connect_timeout=3)


def test_pgbouncer_mode_keeps_nothing_beyond_a_transaction():
    entry = database_entry(POSTGRES_URL, pool="pgbouncer", conn_max_age=60)
    assert entry["CONN_MAX_AGE"] == 0
    assert entry["DISABLE_SERVER_SIDE_CURSORS"] is True
    assert entry["OPTIONS"]["server_side_binding"] is False
    assert entry["OPTIONS"]["prepare_threshold"] is None
    assert "pool" not in entry["OPTIONS"]


@pytest.mark.parametrize("mode", ["native", "pgbouncer"])
def test_pooling_modes_refuse_sqlite(mode):
    with pytest.raises(ImproperlyConfigured, match=f"DB_POOL={mode} needs a PostgreSQL DATABASE_URL"):
        database_entry("sqlite:///db.sqlite3", pool=mode)


@pytest.mark.parametrize(("low", "high"), [(5, 2), (0, 0), (-1, 3)])
def test_pool_sizes_that_make_no_pool_are_refused(low, high):
    with pytest.raises(ImproperlyConfigured, match="DB_POOL_MIN_SIZE"):
        database_entry(POSTGRES_URL, pool="native", pool_min_size=low, pool_max_size=high)


def test_direct_url_is_the_same_database_without_any_pooling():
    default = database_entry(POSTGRES_URL.replace("5432", "6432"), pool="pgbouncer")
    direct = direct_entry(POSTGRES_URL, default)
    assert (direct["PORT"], direct["CONN_MAX_AGE"]) == (5432, 0)
    assert not direct.get("DISABLE_SERVER_SIDE_CURSORS")
    assert "pool" not in direct.get("OPTIONS", {})


def test_production_reads_the_pool_from_the_environment():
    databases = databases_from(
        production_env(
            DATABASE_URL=POSTGRES_URL,
            DB_POOL="native",
            DB_POOL_MIN_SIZE="1",
            DB_POOL_MAX_SIZE="7",
            DB_POOL_TIMEOUT="0.5",
            DATABASE_DIRECT_URL=POSTGRES_URL,
        )
    )
    assert databases["default"]["OPTIONS"]["pool"] == {"min_size": 1, "max_size": 7, "timeout": 0.5}
    assert databases["default"]["CONN_MAX_AGE"] == 0
    assert databases["migration"]["NAME"] == "folio"
    assert set(databases) == {"default", "migration"}, "the direct URL is no DATABASES alias of its own"


def test_pool_timeout_defaults_to_two_seconds_so_health_checks_stay_fast():
    databases = databases_from(production_env(DATABASE_URL=POSTGRES_URL, DB_POOL="native"))
    assert databases["default"]["OPTIONS"]["pool"]["timeout"] <= 2


def test_an_unknown_pool_mode_stops_start_up_naming_db_pool():
    result = run_python(PRINT_DATABASES, env=production_env(DATABASE_URL=POSTGRES_URL, DB_POOL="pgpool"))
    assert result.returncode != 0
    assert "DB_POOL='pgpool' is not a pooling mode: use one of none, native, pgbouncer" in result.stderr


def test_the_test_settings_ignore_pooling_and_direct_urls_left_in_the_shell():
    env = clean_env(
        DJANGO_SETTINGS_MODULE="config.settings.test",
        DATABASE_URL=POSTGRES_URL,
        DB_POOL="pgbouncer",
        DATABASE_DIRECT_URL=POSTGRES_URL,
    )
    result = run_python(
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.DB_POOL, settings.MIGRATION_DATABASE)",
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["none", "None"]
