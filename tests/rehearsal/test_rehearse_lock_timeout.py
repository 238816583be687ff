"""A migration that cannot get its lock: `migrate` gives up after DB_LOCK_TIMEOUT, as Folio runs it, and the
rehearsal reports the failed migration with the statement that blocked it."""

from __future__ import annotations

import contextlib
import json
import subprocess
import time

import psycopg
import pytest

from harness.project import PYTHON, ROOT

from .conftest import rehearse_env, scratch_databases, server

pytestmark = [pytest.mark.postgres, pytest.mark.services]

BLOCKER = "LOCK TABLE notes_note IN ACCESS SHARE MODE"
# Generous bounds for a loaded machine; the rehearsal reaches its traffic within a minute or two.
WITHIN = 300


def wait_for(condition, what: str, process: subprocess.Popen):
    deadline = time.monotonic() + WITHIN
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        assert process.poll() is None, f"the rehearsal ended before {what}: {process.communicate()}"
        time.sleep(0.1)
    raise AssertionError(f"not within {WITHIN} s: {what}")


def test_a_migration_blocked_past_the_lock_timeout_is_reported_with_its_blocker(notes_repo, tmp_path):
    repo, tags = notes_repo
    # The next release's own setting, as its deploy would have it (2 s instead of 5: a shorter test).
    env_file = tmp_path / "next.env"
    env_file.write_text("DB_LOCK_TIMEOUT=2\n", encoding="utf-8")
    process = subprocess.Popen(
        [PYTHON, str(ROOT / "manage.py"), "rehearse", "--previous", tags["base"], "--next", tags["expand"],
         "--repo", str(repo.path), "--apps", "notes", "--phase-seconds", "3", "--max-wait", "30", "--json"],
        cwd=ROOT, env=rehearse_env(DB_LOCK_TIMEOUT="2"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    blocker = None
    try:
        # The pre-check copies the scratch database (no one else may be connected then); the lock is taken after.
        ours = process.pid
        wait_for(lambda: any("precheck" in name for name in scratch_databases(ours)), "the pre-check", process)
        wait_for(lambda: not any("precheck" in name for name in scratch_databases(ours)), "its end", process)
        (database,) = scratch_databases(ours)
        blocker = server().connect(database)
        wait_for(lambda: blocker.execute("SELECT to_regclass('notes_note')").fetchone()[0], "the table", process)
        blocker.execute(BLOCKER)  # held, in the open transaction, until the rehearsal has given up
        out, err = process.communicate(timeout=900)
    finally:
        if blocker is not None:
            with contextlib.suppress(psycopg.Error):  # the rehearsal dropped its database under it (FORCE)
                blocker.rollback()
            blocker.close()
        if process.poll() is None:
            process.terminate()
            process.communicate(timeout=120)
    assert process.returncode == 1, err
    failure = json.loads(out)["migrate_failure"]
    assert failure["migration"] == "notes.0002_body"
    assert "lock timeout" in failure["error"]
    assert BLOCKER in failure["blocked_by"]
