"""Scratch databases on a PostgreSQL server: what tests and benchmarks use instead of the shared test database."""

from __future__ import annotations

import pytest

from harness.postgres import Cluster


def test_a_server_read_from_a_url_gives_urls_for_its_other_databases():
    server = Cluster.from_url("postgres://folio:s3cret@db.internal:6543/folio")
    assert server == Cluster("db.internal", 6543, "folio", "s3cret")
    assert server.url("scratch") == "postgres://folio:s3cret@db.internal:6543/scratch"
    assert Cluster.from_url("postgres://127.0.0.1/x").url("y") == "postgres://postgres@127.0.0.1:5432/y"


def test_a_server_read_from_django_settings_ignores_the_database_name():
    entry = {"NAME": "test_folio", "HOST": "", "PORT": "", "USER": "", "PASSWORD": ""}
    assert Cluster.from_settings(entry) == Cluster("127.0.0.1", 5432, "postgres", "")


@pytest.mark.postgres
def test_a_scratch_database_exists_in_its_block_and_is_dropped_after_even_with_a_connection_open(settings):
    server = Cluster.from_settings(settings.DATABASES["default"])

    def exists(name: str) -> bool:
        with server.connect() as admin:
            return admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None

    with server.scratch_database(prefix="folio_harness_test") as url:
        name = url.rsplit("/", 1)[1]
        assert name.startswith("folio_harness_test_") and exists(name)
        left_open = server.connect(name)  # as a server a test forgot to stop would hold it
    assert not exists(name)
    left_open.close()
