"""`--from-dump`: the rehearsal starts from a `make backup` dump (the production data's shape) instead of the demo
essays, restored into its scratch database with the backup tools' own pg_restore."""

from __future__ import annotations

import subprocess

import pytest

from harness.project import SITE_STEPS, manage_steps, production_env

from .conftest import GENEROUS_WAIT, PHASE_SECONDS, run_rehearse, server

pytestmark = [pytest.mark.postgres, pytest.mark.services]

MARKED = 321


def test_a_rehearsal_from_a_dump_serves_the_dumped_rows(essay_repo, tmp_path):
    repo, _ = essay_repo
    dump = tmp_path / "folio.dump"
    with server().scratch_database(prefix="rehearse_dump_source") as url:
        env = production_env(DATABASE_URL=url, ALLOWED_HOSTS="localhost", STATIC_ROOT=str(tmp_path / "static"))
        manage_steps(*SITE_STEPS[:2], env=env)
        name = url.rsplit("/", 1)[1]
        with server().connect(name) as connection:
            connection.execute(
                "INSERT INTO content_essay (title, slug, body, status, author_id, created_at, updated_at) "
                "SELECT 'Dumped ' || i, 'dumped-' || i, 'a b c', 'draft', (SELECT min(id) FROM users_user), now(), "
                "now() FROM generate_series(1, %s) AS i",
                [MARKED],
            )
            expected = connection.execute("SELECT count(*) FROM content_essay").fetchone()[0]
        subprocess.run(["pg_dump", "-Fc", "--file", str(dump), "--dbname", url.replace("postgres://", "postgresql://")],
                       check=True, timeout=300)  # fmt: skip

    result = run_rehearse("--previous", "folio", "--next", "folio", "--from-dump", str(dump), "--apps", "content",
                          "--phase-seconds", PHASE_SECONDS, "--max-wait", GENEROUS_WAIT, "--json",
                          repo=repo.path)  # fmt: skip

    assert result.returncode == 0, result.explain()
    assert result.report["essays"] == expected > MARKED


def test_a_dump_that_is_not_one_is_refused(essay_repo, tmp_path):
    repo, _ = essay_repo
    bogus = tmp_path / "notes.txt"
    bogus.write_text("not a dump\n", encoding="utf-8")

    result = run_rehearse("--previous", "folio", "--next", "folio", "--from-dump", str(bogus), repo=repo.path)

    assert result.returncode == 2, result.explain()
    assert "--from-dump" in result.stderr and "not a pg_dump custom-format file" in result.stderr.splitlines()[0]
