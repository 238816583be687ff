"""Bad input to `manage.py rehearse`: one line on stderr, exit status 2, and no scratch database or worktree left
behind, also when the run is interrupted."""

from __future__ import annotations

import signal
import subprocess
import time

import pytest

from harness.ports import free_port
from harness.project import PYTHON, ROOT

from .conftest import left_behind, rehearse_env, run_rehearse, scratch_databases, worktrees
from .fixture_repo import git
from .notes_releases import TEXT

pytestmark = [pytest.mark.postgres, pytest.mark.services]


def refused(result, *expected: str) -> str:
    assert result.returncode == 2, result.explain()
    assert result.stdout == ""
    first = result.stderr.splitlines()[0]
    assert first.startswith("rehearse: ")
    for words in expected:
        assert words in first, result.stderr
    return first


@pytest.fixture
def nothing_left(notes_repo):
    repo, _ = notes_repo
    before = scratch_databases()
    yield
    assert not left_behind(before)
    assert len(worktrees(repo.path)) == 1


def test_a_ref_that_does_not_exist(notes_repo, nothing_left):
    repo, _ = notes_repo
    refused(run_rehearse("--previous", "v9.9.9", "--next", "notes-base", repo=repo.path), "'v9.9.9' is not a commit")


def test_a_ref_missing_from_a_shallow_clone_names_git_fetch_unshallow(notes_repo, tmp_path):
    repo, tags = notes_repo
    shallow = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", "--no-tags", f"file://{repo.path}", str(shallow)],
                   check=True, timeout=120)  # fmt: skip

    result = run_rehearse("--previous", tags["base"], "--next", "HEAD", repo=shallow)

    refused(result, "shallow clone", "git fetch --unshallow")
    assert len(worktrees(shallow)) == 1


def test_a_dirty_working_tree_needs_allow_dirty(notes_repo, nothing_left, tmp_path):
    repo, tags = notes_repo
    clone = tmp_path / "clone"
    git(repo.path, "worktree", "add", "-q", "--detach", str(clone), tags["base"])
    try:
        (clone / "apps/notes/models.py").write_text("# half-edited\n", encoding="utf-8")
        result = run_rehearse("--previous", tags["base"], repo=clone)
    finally:
        git(repo.path, "worktree", "remove", "--force", str(clone))
    refused(result, "uncommitted change", "--allow-dirty")


def test_no_postgresql(notes_repo, nothing_left):
    repo, tags = notes_repo
    closed = f"postgres://postgres@127.0.0.1:{free_port()}/postgres"

    unreachable = run_rehearse("--previous", tags["base"], "--next", tags["expand"], repo=repo.path,
                               env=rehearse_env(DATABASE_URL=closed))  # fmt: skip
    sqlite = run_rehearse("--previous", tags["base"], "--next", tags["expand"], repo=repo.path,
                          env=rehearse_env(DATABASE_URL="sqlite:///unused.sqlite3"))  # fmt: skip

    refused(unreachable, "Cannot reach PostgreSQL at 127.0.0.1")
    refused(sqlite, "needs PostgreSQL", "DATABASE_URL")


def test_a_previous_release_with_model_changes_but_no_migration(notes_repo, nothing_left):
    repo, tags = notes_repo
    unmigrated = repo.release(
        "notes-unmigrated",
        on=tags["base"],
        edits={"apps/notes/models.py": [(TEXT, TEXT + "    pinned = models.BooleanField(default=False)\n")]},
    )

    result = run_rehearse("--previous", unmigrated, "--next", tags["expand"], repo=repo.path)

    refused(result, "model changes without a migration in notes", "pinned")


def test_a_lock_that_cannot_be_installed(notes_repo, nothing_left, tmp_path):
    repo, tags = notes_repo
    broken = repo.release(
        "notes-unpinnable",
        on=tags["base"],
        files={"requirements/production.txt": "folio-no-such-package==0.0.1 --hash=sha256:" + "0" * 64 + "\n"},
    )

    # A cache of the test's own: the venv that fails to build must not touch the user's.
    result = run_rehearse("--previous", tags["base"], "--next", broken, repo=repo.path,
                          env=rehearse_env(HOME=str(tmp_path)))  # fmt: skip

    refused(result, "cannot be installed")
    assert not list((tmp_path / ".cache" / "folio" / "rehearse").glob("venv-*"))


def test_a_previous_release_that_cannot_start_says_why(notes_repo, nothing_left):
    repo, tags = notes_repo
    crashing = repo.release(
        "notes-crashing-settings",
        on=tags["base"],
        edits={"config/settings/production.py": [("from .base import *\n",
                                                  "from .base import *\n\nimport apps.no_such_module\n")]},
    )  # fmt: skip

    result = run_rehearse("--previous", crashing, "--next", tags["expand"], repo=repo.path)

    refused(result, "No module named 'apps.no_such_module'")


def test_interrupted_with_ctrl_c_leaves_nothing_behind(notes_repo, nothing_left):
    repo, tags = notes_repo
    process = subprocess.Popen(
        [PYTHON, str(ROOT / "manage.py"), "rehearse", "--previous", tags["base"], "--next", tags["expand"],
         "--repo", str(repo.path)],
        cwd=ROOT, env=rehearse_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        # Interrupted once it has made its scratch database (seconds; a minute is the margin for a loaded machine).
        deadline = time.monotonic() + 120
        while not scratch_databases(process.pid) and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert process.poll() is None, "the rehearsal ended before it could be interrupted"
        assert len(worktrees(repo.path)) > 1, "its worktrees exist while it runs"
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=300)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 2, err
    assert err.splitlines()[0] == "rehearse: Interrupted: the scratch database, worktrees and servers were removed."
