"""DB_POOL=pgbouncer and DB_POOL=native against the real PostgreSQL, PgBouncer in transaction mode in between.

Each test runs Folio in a fresh process on a throwaway database: migrations over DATABASE_DIRECT_URL, pages and
an .iterator() through PgBouncer.
"""

from __future__ import annotations

import json

import psycopg
import pytest

from config.database import database_entry
from harness.project import manage, run_python
from tests.database.conftest import site_env

pytestmark = [pytest.mark.postgres, pytest.mark.services]

VISIT = """
import json, django
django.setup()
from django.db import connection
from django.test import Client
from apps.content.models import Essay

client = Client(SERVER_NAME="localhost")
home = client.get("/")
essay = Essay.objects.published().first()
detail = client.get(essay.get_absolute_url())
slugs = [e.slug for e in Essay.objects.published().iterator(chunk_size=5)]
print(json.dumps({
    "home": home.status_code, "detail": detail.status_code, "title_shown": essay.title in detail.text,
    "iterated": len(slugs), "published": Essay.objects.published().count(),
    "port": connection.settings_dict["PORT"],
}))
"""


def visit(env: dict[str, str]) -> dict:
    result = run_python(VISIT, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def queries_through(bouncer, database: str) -> int:
    return sum(row["total_query_count"] for row in bouncer.show("STATS") if row["database"] == database)


@pytest.fixture
def bounced(pgbouncer, make_database):
    """A fresh database behind PgBouncer, and Folio's environment for it (DATABASE_DIRECT_URL set)."""
    name = make_database()
    env = site_env(pgbouncer.url(name), DB_POOL="pgbouncer", DATABASE_DIRECT_URL=pgbouncer.direct_url(name))
    return pgbouncer, name, env


def test_migrate_refuses_a_transaction_pooler_without_a_direct_url(bounced):
    bouncer, name, env = bounced
    del env["DATABASE_DIRECT_URL"]
    result = manage("migrate", "--noinput", env=env)
    assert result.returncode != 0
    assert "set DATABASE_DIRECT_URL" in result.stderr
    assert queries_through(bouncer, name) == 0


def test_migrations_take_the_direct_url_and_the_site_runs_through_pgbouncer(bounced):
    bouncer, name, env = bounced

    # django-tasks-db's data migrations ignore the alias they are given: through PgBouncer they would wait
    # forever behind the lock their own migration holds. `migrate` swaps "default" for the direct URL.
    migrated = manage("migrate", "--noinput", env=env)
    assert migrated.returncode == 0, migrated.stderr
    assert queries_through(bouncer, name) == 0, "migrate must bypass the transaction pooler"

    seeded = manage("seed_demo", env=env)
    assert seeded.returncode == 0, seeded.stderr
    page = visit(env)
    assert page["port"] == bouncer.port
    assert (page["home"], page["detail"], page["title_shown"]) == (200, 200, True)
    assert page["iterated"] == page["published"] > 0, ".iterator() reads every published essay through PgBouncer"
    assert queries_through(bouncer, name) > 0


def test_native_pool_serves_the_site_within_its_size(server, make_database):
    name = make_database()
    env = site_env(server.url(name), DB_POOL="native", DB_POOL_MIN_SIZE="1", DB_POOL_MAX_SIZE="2")
    assert manage("migrate", "--noinput", env=env).returncode == 0
    assert manage("seed_demo", env=env).returncode == 0
    code = VISIT.replace(
        "print(json.dumps({",
        "stats = connection.pool.get_stats()\nprint(json.dumps({'pool_size': stats['pool_size'], "
        "'pool_max': connection.pool.max_size,",
    )
    result = run_python(code, env=env)
    assert result.returncode == 0, result.stderr
    page = json.loads(result.stdout.strip().splitlines()[-1])
    assert (page["home"], page["detail"]) == (200, 200)
    assert page["iterated"] == page["published"] > 0
    assert page["pool_max"] == 2 and 1 <= page["pool_size"] <= 2


def queries_failing_through(bouncer, **connect_options) -> int:
    """Two clients taking turns through PgBouncer, each statement its own transaction; how many statements fail."""
    failures = 0
    with (
        psycopg.connect(bouncer.url("postgres"), autocommit=True, **connect_options) as first,
        psycopg.connect(bouncer.url("postgres"), autocommit=True, **connect_options) as second,
    ):
        for number in range(10):
            for client in (first, second):
                try:
                    client.execute("SELECT %s::int + 1", [number]).fetchone()
                except psycopg.Error:
                    failures += 1
    return failures


def test_prepared_statements_break_through_pgbouncer_and_folios_pgbouncer_options_do_not(pgbouncer):
    """Why folio.E004 exists: a named prepared statement stays on a server connection another client gets next."""
    assert queries_failing_through(pgbouncer, prepare_threshold=0) > 0
    folio = database_entry(pgbouncer.url("postgres"), pool="pgbouncer")["OPTIONS"]
    assert queries_failing_through(pgbouncer, prepare_threshold=folio["prepare_threshold"]) == 0
