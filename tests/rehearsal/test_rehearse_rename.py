"""A column rename rehearsed the two ways (tests/rehearsal/notes_releases.py): in one step it breaks the release still
serving, and the rehearsal says where; in the reference's five steps every deploy passes; the contract step
shipped before the code stopped reading the old column breaks again."""

from __future__ import annotations

import itertools

import pytest

from .conftest import GENEROUS_WAIT, PHASE_SECONDS, left_behind, run_rehearse, scratch_databases, worktrees

pytestmark = [pytest.mark.postgres, pytest.mark.services]

ARGS = ("--apps", "notes", "--phase-seconds", PHASE_SECONDS, "--max-wait", GENEROUS_WAIT, "--json")


def failures_of(report: dict, release: str) -> dict[str, dict]:
    """{phase: first failures} for `release`."""
    return {p["phase"]: p["first_failures"] for p in report["phases"] if p["release"] == release and p["failures"]}


def missing_column(error: str) -> bool:
    """PostgreSQL's words for notes_note.text being gone: `column notes_note.text does not exist` (a SELECT) or
    `column "text" of relation "notes_note" does not exist` (an INSERT)."""
    return "does not exist" in error and ("notes_note.text" in error or '"text" of relation "notes_note"' in error)


def test_one_step_rename_fails_naming_phase_release_request_and_column(notes_repo):
    repo, tags = notes_repo
    before = scratch_databases()

    result = run_rehearse("--previous", tags["base"], "--next", tags["one_step"], *ARGS, repo=repo.path)

    assert result.returncode == 1, result.explain()
    report = result.report
    assert any("notes_note.text is gone" in finding and "body" in finding for finding in report["precheck"])
    broken = failures_of(report, "previous")
    # The previous release serves alone while the migration runs; it fails from the rename on, never before it.
    assert "before" not in broken, result.explain()
    phase = next(name for name in ("migrate", "both") if name in broken)
    first = broken[phase]["5xx"]
    assert "notes" in first["request"] or "Note" in first["request"], first
    assert first["status"] == 500
    assert missing_column(first["error_line"]), first
    assert not failures_of(report, "next"), result.explain()
    assert not left_behind(before)
    assert len(worktrees(repo.path)) == 1


def test_the_five_steps_each_pass(notes_repo):
    repo, tags = notes_repo
    steps = ["base", "expand", "write_both", "backfill", "read_new", "contract"]
    for previous, following in itertools.pairwise(steps):
        result = run_rehearse("--previous", tags[previous], "--next", tags[following], *ARGS, repo=repo.path)
        assert result.returncode == 0, f"{previous} → {following}: {result.explain()}"
        report = result.report
        # Proof the deploy happened under the traffic: both releases took requests and writes in the split phase.
        both = {p["release"]: p for p in report["phases"] if p["phase"] == "both"}
        assert both["previous"]["writes"] and both["next"]["writes"], result.explain()
        assert report["writes"]["lost"] == report["writes"]["corrupted"] == 0


def test_dropping_the_old_column_before_the_code_stops_reading_it_fails(notes_repo):
    repo, tags = notes_repo

    precheck = run_rehearse(
        "--previous", tags["backfill"], "--next", tags["drop_early"], "--precheck-only", "--json", repo=repo.path
    )
    result = run_rehearse("--previous", tags["backfill"], "--next", tags["drop_early"], *ARGS, repo=repo.path)

    assert precheck.returncode == 1, precheck.explain()
    assert not precheck.report["phases"], "the pre-check alone sends no traffic"
    assert any("notes_note.text is gone" in finding for finding in precheck.report["precheck"])
    assert result.returncode == 1, result.explain()
    broken = failures_of(result.report, "previous")
    assert "before" not in broken
    errors = [first.get("5xx", {}).get("error_line", "") for first in broken.values()]
    assert any(missing_column(error) for error in errors), result.explain()
