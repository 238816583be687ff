"""Folio's own history rehearsed, from before `0006_essay_cover` to the committed tree.

The parent of the commit that added 0006 (and that commit itself) name `apps.core.logging.JsonFormatter` in their
settings before the module existed, so neither can start: the rehearsal says so in one line. The newest commit
before 0006 that starts is the one before the settings named that module (it has no gunicorn.conf.py yet, so it
runs under Gunicorn's defaults); from there to HEAD — 0006 and every migration since — the deploy must pass. CI
runs it with a few thousand essays; the 100,000-essay run is `manage.py rehearse --previous <that commit> --next
HEAD --rows 100000` by hand (README "Rehearse a deploy").
"""

from __future__ import annotations

import pytest

from harness.project import ROOT

from .conftest import GENEROUS_WAIT, PHASE_SECONDS, run_rehearse
from .fixture_repo import git

pytestmark = [pytest.mark.postgres, pytest.mark.services]

ROWS = "1000"  # the newest startable release lists every essay on its home page: 1,000 is a long page


def first_commit(*selection: str) -> str:
    """The oldest commit `git log` selects with `selection`, or skip where that history is not there (an
    adopter's copy, or a shallow clone)."""
    if git(ROOT, "rev-parse", "--is-shallow-repository").strip() == "true":
        pytest.skip("a shallow clone has no history to rehearse (git fetch --unshallow)")
    commits = git(ROOT, "log", "--format=%H", *selection).split()
    if not commits:
        pytest.skip(f"nothing in this repository's history matches {selection}")
    return commits[-1]


def added(path: str) -> str:
    return first_commit("--diff-filter=A", "--", path)


def test_the_parent_of_0006_cannot_start_and_the_rehearsal_says_why():
    parent = added("apps/content/migrations/0006_essay_cover.py") + "^"

    result = run_rehearse("--previous", parent, "--next", "HEAD", "--phase-seconds", PHASE_SECONDS)

    assert result.returncode == 2, result.explain()
    assert "No module named 'apps.core.logging'" in result.stderr.splitlines()[0]


def test_folio_history_since_0006_deploys_without_a_failure_or_a_corrupted_write():
    newest_startable = first_commit("-S", "apps.core.logging.JsonFormatter", "--", "config/settings/base.py") + "^"

    result = run_rehearse("--previous", newest_startable, "--next", "HEAD", "--rows", ROWS, "--max-wait",
                          GENEROUS_WAIT, "--phase-seconds", PHASE_SECONDS, "--json")  # fmt: skip

    assert result.returncode == 0, result.explain()
    report = result.report
    assert "content.0006_essay_cover" in {m["name"] for m in report["migrations"]}, "0006 ran under the traffic"
    assert sum(sum(p["failures"].values()) for p in report["phases"]) == 0
    assert report["writes"]["recorded"] and report["writes"]["lost"] == report["writes"]["corrupted"] == 0
    assert {p["release"] for p in report["phases"] if p["phase"] == "both" and p["writes"]} == {"previous", "next"}
