"""Each database system check fires on its misconfiguration and stays quiet on the right one."""

from __future__ import annotations

import pytest

from apps.core.checks.database import DatabaseSetup, database_problems, sqlite_in_production
from config.database import database_entry
from harness.project import manage, production_env

PG = "postgres://folio@127.0.0.1:5432/folio"
PGBOUNCER = "postgres://folio@127.0.0.1:6432/folio"


def ids(module: str = "config.settings.production", pool: str = "none", direct=None, **databases) -> set[str]:
    problems = database_problems(databases, pool_mode=pool, settings_module=module, migration_database=direct)
    return {problem.id for problem in problems}


def bouncer(**changes) -> dict:
    entry = database_entry(PGBOUNCER, pool="pgbouncer")
    options = changes.pop("OPTIONS", {})
    return {**entry, **changes, "OPTIONS": {**entry["OPTIONS"], **options}}


def test_correct_configurations_of_each_mode_pass():
    assert ids(default=database_entry(PG, pool="none")) == set()
    assert ids(pool="native", default=database_entry(PG, pool="native")) == set()
    assert ids(pool="pgbouncer", default=bouncer(), direct=database_entry(PG)) == set()


def test_e001_native_pool_with_persistent_connections():
    entry = database_entry(PG, pool="native")
    assert ids(pool="native", default={**entry, "CONN_MAX_AGE": 60}) == {"folio.E001"}


def test_e002_pgbouncer_with_server_side_cursors():
    assert ids(pool="pgbouncer", default=bouncer(DISABLE_SERVER_SIDE_CURSORS=False), direct=database_entry(PG)) == {
        "folio.E002"
    }


def test_e003_pgbouncer_with_server_side_parameter_binding():
    default = bouncer(OPTIONS={"server_side_binding": True})
    assert ids(pool="pgbouncer", default=default, direct=database_entry(PG)) == {"folio.E003"}


def test_e004_pgbouncer_with_prepared_statements():
    default = bouncer(OPTIONS={"prepare_threshold": 5})
    assert ids(pool="pgbouncer", default=default, direct=database_entry(PG)) == {"folio.E004"}


@pytest.mark.parametrize("module", ["config.settings.production", "config.settings.vercel"])
def test_e005_sqlite_in_production_or_on_vercel(module):
    assert ids(module, default=database_entry("sqlite:///db.sqlite3", conn_max_age=0)) == {"folio.E005"}


def test_e005_sqlite_is_refused_for_a_vercel_check_run_whatever_the_settings():
    """preflight --target vercel under development settings: the one SQLite rule knows the target."""
    setup = DatabaseSetup(
        {"default": database_entry("sqlite:///db.sqlite3")}, "none", "config.settings.development", None, "vercel"
    )
    assert [problem.id for problem in sqlite_in_production.messages(setup)] == ["folio.E005"]


def test_sqlite_in_development_is_fine():
    assert ids("config.settings.development", default=database_entry("sqlite:///db.sqlite3")) == set()


def test_e006_persistent_connection_on_vercel():
    assert ids("config.settings.vercel", default=database_entry(PG, conn_max_age=60)) == {"folio.E006"}


def test_e007_direct_url_naming_another_database():
    other = database_entry(PG.replace("/folio", "/other"))
    assert ids(pool="pgbouncer", default=bouncer(), direct=other) == {"folio.E007"}


def test_w001_pgbouncer_without_a_direct_url():
    assert ids(pool="pgbouncer", default=bouncer()) == {"folio.W001"}


def test_w002_native_pool_on_vercel():
    assert ids("config.settings.vercel", pool="native", default=database_entry(PG, pool="native")) == {"folio.W002"}


def test_manage_py_check_reports_the_database_checks():
    result = manage("check", env=production_env(DATABASE_URL=PGBOUNCER, DB_POOL="pgbouncer"))
    assert "folio.W001" in result.stdout + result.stderr
