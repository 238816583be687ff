"""`make backup` / `make restore`: a pg_dump custom-format file restores into a fresh database, every essay in it;
dated sets are private, pruned only after a new dump succeeded, and a failure loses nothing."""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import subprocess
import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path

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


# ---- dated backup sets: modes, media, retention, failures (apps/core/dbops/backups.py)

OLD_SETS = ("20240101T030000.000000Z", "20240102T030000.000000Z", "20240103T030000.000000Z")


def backup_env(server, name: str, tmp_path: Path, **overrides: str) -> dict[str, str]:
    """Folio on database `name`, backing up into tmp_path/backups, with uploads on disk in tmp_path/media."""
    media = tmp_path / "media"
    (media / "covers").mkdir(parents=True, exist_ok=True)
    (media / "covers" / "cover.jpg").write_bytes(b"\xff\xd8 a cover")
    return site_env(server.url(name), BACKUP_DIR=str(tmp_path / "backups"), MEDIA_ROOT=str(media), **overrides)


def old_sets(directory: Path) -> dict[Path, bytes]:
    """Earlier dated sets (dump + media tar), each file with its own bytes: what a failure must leave as it was."""
    directory.mkdir(mode=0o700, exist_ok=True)
    files = {}
    for stamp in OLD_SETS:
        for suffix in (".dump", ".media.tar.gz"):
            path = directory / f"folio-{stamp}{suffix}"
            path.write_bytes(f"{stamp}{suffix}".encode())
            files[path] = path.read_bytes()
    return files


def files_in(directory: Path) -> set[str]:
    return {path.name for path in directory.iterdir()}


def one_line_error(result) -> str:
    """The command failed with one line of its own (Django's `CommandError: …` or the settings' refusal)."""
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_a_backup_set_is_0600_in_a_0700_directory_with_the_uploads_beside_the_dump(server, seeded, tmp_path):
    result = manage("db_backup", env=backup_env(server, seeded, tmp_path))
    assert result.returncode == 0, result.stderr
    directory = tmp_path / "backups"
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    (dump,) = directory.glob("folio-*.dump")
    (media,) = directory.glob("folio-*.media.tar.gz")
    assert media.name == dump.name.removesuffix(".dump") + ".media.tar.gz"
    for path in (dump, media):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, f"{path.name} is readable by others"
    assert dump.read_bytes()[:5] == b"PGDMP"
    with tarfile.open(media) as archive:
        assert archive.extractfile("./covers/cover.jpg").read() == b"\xff\xd8 a cover"
    assert not list(directory.glob("*.partial"))


@pytest.mark.parametrize("keep", [1, 2])
def test_retention_keeps_the_newest_sets_the_new_one_first_and_never_a_named_dump(server, seeded, tmp_path, keep):
    directory = tmp_path / "backups"
    old = old_sets(directory)
    (directory / "before-upgrade.dump").write_bytes(b"PGDMP named by hand")
    result = manage("db_backup", env=backup_env(server, seeded, tmp_path, BACKUP_KEEP=str(keep)))
    assert result.returncode == 0, result.stderr
    dumps = sorted(directory.glob("folio-*.dump"))
    assert len(dumps) == keep
    assert dumps[-1].read_bytes()[:5] == b"PGDMP", "the set just written is always kept"
    kept_old = [f"folio-{stamp}" for stamp in OLD_SETS[len(OLD_SETS) - (keep - 1) :]] if keep > 1 else []
    expected = {f"{stem}{suffix}" for stem in kept_old for suffix in (".dump", ".media.tar.gz")}
    new_stem = dumps[-1].name.removesuffix(".dump")
    expected |= {f"{new_stem}.dump", f"{new_stem}.media.tar.gz", "before-upgrade.dump"}
    assert files_in(directory) == expected
    assert all(path.read_bytes() == data for path, data in old.items() if path.exists())


def refusing_role(server, name: str) -> Iterator[str]:
    """A role that may connect to `name` but read none of its tables: pg_dump starts, then the database refuses."""
    role = f"folio_no_read_{uuid.uuid4().hex[:8]}"
    with server.connect("postgres", autocommit=True) as admin:
        admin.execute(f'CREATE ROLE "{role}" LOGIN')
    try:
        yield role
    finally:
        with server.connect(name, autocommit=True) as db:
            db.execute(f'DROP OWNED BY "{role}"')
        with server.connect("postgres", autocommit=True) as admin:
            admin.execute(f'DROP ROLE "{role}"')


@pytest.mark.parametrize("failure", ["no such database", "a database that refuses pg_dump"])
def test_a_failing_dump_leaves_every_earlier_backup_as_it_was_and_no_partial_file(server, seeded, tmp_path, failure):
    directory = tmp_path / "backups"
    old = old_sets(directory)
    with contextlib.ExitStack() as stack:
        if failure == "no such database":
            url = server.url(f"folio_missing_{uuid.uuid4().hex[:8]}")
        else:
            role = stack.enter_context(contextlib.contextmanager(refusing_role)(server, seeded))
            url = f"postgres://{role}@{server.host}:{server.port}/{seeded}"
        env = backup_env(server, seeded, tmp_path, BACKUP_KEEP="1")
        env["DATABASE_URL"] = url
        result = manage("db_backup", env=env)
        line = one_line_error(result)
    assert ("does not exist" in line) if failure == "no such database" else ("pg_dump failed" in line), line
    assert {path: path.read_bytes() for path in directory.iterdir()} == old, "nothing added, removed or changed"


def fake_pg_dump(directory: Path, version: str) -> Path:
    """A pg_dump earlier on PATH that reports `version` and records any attempt to dump with it."""
    directory.mkdir()
    script = directory / "pg_dump"
    script.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = "--version" ]; then echo "pg_dump (PostgreSQL) {version}"; exit 0; fi\n'
        f'touch "{directory}/dumped"; exit 1\n'
    )
    script.chmod(0o755)
    return directory


def server_major(server) -> str:
    with server.connect("postgres") as db:
        number = db.info.server_version
    return str(number // 10000)


def test_a_pg_dump_older_than_the_server_is_refused_naming_both_versions(server, seeded, tmp_path):
    fake = fake_pg_dump(tmp_path / "bin", "9.6.24")
    env = backup_env(server, seeded, tmp_path)
    env["PATH"] = f"{fake}{os.pathsep}{env['PATH']}"
    line = one_line_error(manage("db_backup", env=env))
    major = server_major(server)
    assert f"pg_dump 9.6 ({fake / 'pg_dump'}) is older than the PostgreSQL {major} server" in line
    assert f"postgresql-client-{major}" in line, "says what to install"
    assert not (fake / "dumped").exists(), "refused before dumping"
    assert not (tmp_path / "backups").exists() or not list((tmp_path / "backups").iterdir())


def test_the_real_pg_dump_passes_the_version_check(server, seeded, tmp_path):
    real = shutil.which("pg_dump")
    version = subprocess.run([real, "--version"], capture_output=True, text=True, check=True).stdout
    assert int(version.split(")")[1].split(".")[0]) >= int(server_major(server)), "the machine's own is new enough"
    result = manage("db_backup", env=backup_env(server, seeded, tmp_path))
    assert result.returncode == 0, result.stderr
    assert len(list((tmp_path / "backups").glob("folio-*.dump"))) == 1


@pytest.mark.parametrize("keep", ["0", "-3", "two", "1.5", ""])
def test_a_backup_keep_that_is_not_a_whole_number_from_1_is_refused_and_deletes_nothing(server, seeded, tmp_path, keep):
    directory = tmp_path / "backups"
    old = old_sets(directory)
    line = one_line_error(manage("db_backup", env=backup_env(server, seeded, tmp_path, BACKUP_KEEP=keep)))
    assert f"BACKUP_KEEP={keep!r}" in line or f"BACKUP_KEEP={keep} " in line, line
    assert {path: path.read_bytes() for path in directory.iterdir()} == old


@pytest.mark.parametrize(
    ("where", "said"),
    [
        ("BACKUP=missing-directory/folio.dump", "does not exist; create it or pick another"),
        ("BACKUP_DIR=/sys/folio-backups", "BACKUP_DIR=/sys/folio-backups cannot be used for backups"),
    ],
)
def test_a_backup_path_that_cannot_be_written_is_one_line_naming_it(server, seeded, tmp_path, where, said):
    variable, _, value = where.partition("=")
    env = backup_env(server, seeded, tmp_path)
    if variable == "BACKUP":
        result = manage("db_backup", str(tmp_path / value), env=env)
    else:
        result = manage("db_backup", env={**env, variable: value})
    assert said in one_line_error(result)


def test_restoring_a_file_that_is_not_a_dump_or_a_cut_dump_changes_nothing(server, seeded, tmp_path):
    env = site_env(server.url(seeded))
    before = essays(server, seeded)
    not_a_dump = tmp_path / "notes.txt"
    not_a_dump.write_text("not a backup\n")
    assert "is not a pg_dump custom-format file" in one_line_error(manage("db_restore", str(not_a_dump), env=env))

    whole = tmp_path / "whole.dump"
    assert manage("db_backup", str(whole), env=env).returncode == 0
    cut = tmp_path / "cut.dump"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    assert "pg_restore failed, nothing was changed" in one_line_error(manage("db_restore", str(cut), env=env))
    assert essays(server, seeded) == before
