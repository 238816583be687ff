"""`make backup` / `make restore`: a pg_dump custom-format file restores into a fresh database, every essay in it."""

from __future__ import annotations

import pytest

from harness.project import manage
from tests.database.conftest import site_env

pytestmark = pytest.mark.postgres


def essays(server, name: str) -> list[tuple[str, str, int | None]]:
    with server.connect(name) as connection:
        return connection.execute("SELECT slug, body, word_count FROM content_essay ORDER BY slug").fetchall()


def test_a_backup_restores_into_a_fresh_database_with_every_essay(server, make_database, tmp_path):
    source, fresh = make_database(), make_database()
    source_env = site_env(server.url(source))
    assert manage("migrate", "--noinput", env=source_env).returncode == 0
    assert manage("seed_demo", env=source_env).returncode == 0
    dump = tmp_path / "folio.dump"

    backed_up = manage("db_backup", str(dump), env=source_env)
    assert backed_up.returncode == 0, backed_up.stderr
    assert dump.read_bytes()[:5] == b"PGDMP", "pg_dump's custom format"

    restored = manage("db_restore", str(dump), env=site_env(server.url(fresh)))
    assert restored.returncode == 0, restored.stderr

    expected = essays(server, source)
    assert len(expected) >= 12
    assert essays(server, fresh) == expected
    pending = manage("migrate", "--check", "--noinput", env=site_env(server.url(fresh)))
    assert pending.returncode == 0, "the restored database knows its migrations are applied"


def test_backups_prefer_the_direct_url(server, make_database, tmp_path):
    name = make_database()
    env = site_env(server.url(name), DATABASE_DIRECT_URL=server.url(name))
    env["DATABASE_URL"] = f"postgres://{server.user}@{server.host}:1/{name}"  # nothing listens on port 1
    assert manage("migrate", "--noinput", env=env).returncode == 0
    result = manage("db_backup", str(tmp_path / "direct.dump"), env=env)
    assert result.returncode == 0, result.stderr


def test_restore_of_a_missing_file_says_what_to_pass(tmp_path, server):
    result = manage("db_restore", str(tmp_path / "nope.dump"), env=site_env(server.url("postgres")))
    assert result.returncode != 0
    assert "pass BACKUP=path/to/file.dump" in result.stderr
