"""Running `manage.py rehearse` as an operator or CI job would (a fresh process of this checkout), against the
postgres tier's server, and seeing what it left behind."""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings

from harness.postgres import Cluster
from harness.project import PYTHON, ROOT, clean_env

from . import essay_releases, notes_releases
from .fixture_repo import FixtureRepo, git

# Phases as short as the rehearsal allows (each still waits for a write by every serving release).
PHASE_SECONDS = "2"
# Write waits on a busy 2-core CI machine (stress-ng beside the suite) pass 1 s without any lock involved; tests
# that are not about waits give them this much room, the lock test keeps the default 1 s.
GENEROUS_WAIT = "15"
# A guard for a hung rehearsal, not a budget: one takes about a minute on a loaded machine.
HUNG_AFTER = 900


def server() -> Cluster:
    return Cluster.from_settings(settings.DATABASES["default"])


# A scratch database's name ends in the pid of the rehearsal that made it (apps/core/rehearsal/scratch.py).
MADE_BY = re.compile(r"_p(\d+)_[0-9a-f]+$")


def scratch_databases(pid: int | None = None) -> set[str]:
    """The rehearsals' scratch databases on the server: every one, or those of the rehearsal process `pid`."""
    with server().connect() as connection:
        names = {
            name
            for (name,) in connection.execute("SELECT datname FROM pg_database WHERE datname LIKE 'folio_rehearse%'")
        }
    return names if pid is None else {name for name in names if (made := MADE_BY.search(name)) and int(made[1]) == pid}


def left_behind(before: set[str]) -> set[str]:
    """Scratch databases made since `before` by rehearsals that have ended. Another run's rehearsal on the same
    server, still running, is not this test's: two runs on one machine share the server."""

    def running(name: str) -> bool:
        made = MADE_BY.search(name)
        if made is None:
            return False
        try:
            os.kill(int(made[1]), 0)
        except ProcessLookupError:
            return False
        return True

    return {name for name in scratch_databases() - before if not running(name)}


@dataclass
class Rehearsal:
    returncode: int
    stdout: str
    stderr: str

    @property
    def report(self) -> dict:
        return json.loads(self.stdout)

    def explain(self) -> str:
        return f"exit {self.returncode}\n{self.stdout[-6000:]}\n{self.stderr[-4000:]}"


def rehearse_env(**overrides: str) -> dict[str, str]:
    defaults = {
        "DJANGO_SETTINGS_MODULE": "config.settings.development",
        "READ_DOT_ENV": "false",
        "DATABASE_URL": server().url("postgres"),
    }
    return clean_env(**{**defaults, **overrides})


def run_rehearse(*args: str, repo: Path | None = None, env: dict[str, str] | None = None) -> Rehearsal:
    command = [PYTHON, str(ROOT / "manage.py"), "rehearse", *args]
    if repo is not None:
        command += ["--repo", str(repo)]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env or rehearse_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        out, err = process.communicate(timeout=HUNG_AFTER)
    except BaseException:
        # SIGTERM unwinds the rehearsal like Ctrl-C (its servers, scratch database and worktrees removed);
        # a SIGKILL would leave them behind.
        process.terminate()
        try:
            process.communicate(timeout=120)
        finally:
            process.kill()
        raise
    return Rehearsal(process.returncode, out, err)


def worktrees(repo: Path) -> list[str]:
    return [line for line in git(repo, "worktree", "list", "--porcelain").splitlines() if line.startswith("worktree ")]


@pytest.fixture(scope="session")
def notes_repo(tmp_path_factory) -> tuple[FixtureRepo, dict[str, str]]:
    """Folio plus the notes app's releases (tests/rehearsal/notes_releases.py), built once per run."""
    repo = FixtureRepo.from_folio(tmp_path_factory.mktemp("rehearsal") / "notes")
    return repo, notes_releases.build(repo)


@pytest.fixture(scope="session")
def essay_repo(tmp_path_factory) -> tuple[FixtureRepo, dict[str, str]]:
    """Folio with its essays' releases (tests/rehearsal/essay_releases.py), built once per run."""
    repo = FixtureRepo.from_folio(tmp_path_factory.mktemp("rehearsal") / "essays")
    return repo, essay_releases.build(repo)
