"""A release whose lock differs from the running project's gets a virtualenv of its own, built once from its
lock and cached by the lock's hash (here under a home of the test's own; uv's cache stays the machine's)."""

from __future__ import annotations

import subprocess

import pytest

from harness.project import ROOT

from .conftest import rehearse_env, run_rehearse

pytestmark = [pytest.mark.postgres, pytest.mark.services]


def test_a_release_with_another_lock_runs_in_a_venv_built_for_that_lock(notes_repo, tmp_path):
    repo, tags = notes_repo
    other_lock = repo.release(
        "notes-other-lock",
        on=tags["base"],
        edits={"requirements/production.txt": [("\n", "\n# the same pins, another hash\n")]},
    )
    uv = ROOT / ".venv" / "bin" / "uv"
    uv_cache = subprocess.run([str(uv), "cache", "dir"], capture_output=True, text=True, check=True).stdout
    env = rehearse_env(HOME=str(tmp_path), UV_CACHE_DIR=uv_cache.strip())

    first = run_rehearse("--previous", other_lock, "--next", tags["expand"], "--precheck-only", repo=repo.path, env=env)
    built = list((tmp_path / ".cache" / "folio" / "rehearse").glob("venv-*"))
    again = run_rehearse("--previous", other_lock, "--next", tags["expand"], "--precheck-only", repo=repo.path, env=env)

    assert first.returncode == 0, first.explain()
    assert len(built) == 1 and (built[0] / ".installed").exists() and (built[0] / "bin" / "gunicorn").exists()
    assert again.returncode == 0, again.explain()
    assert list((tmp_path / ".cache" / "folio" / "rehearse").glob("venv-*")) == built
