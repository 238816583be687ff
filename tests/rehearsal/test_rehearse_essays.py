"""Folio's own essays rehearsed: 0004/0005 as shipped leave word counts the next release would not have written, the
same change split as the reference says passes, and a plain CREATE INDEX is reported as the lock writers waited on."""

from __future__ import annotations

import pytest

from . import essay_releases
from .conftest import GENEROUS_WAIT, PHASE_SECONDS, run_rehearse

pytestmark = [pytest.mark.postgres, pytest.mark.services]

ARGS = ("--apps", "content", "--phase-seconds", PHASE_SECONDS, "--json")
# Enough essays for the backfill to have work in batches; few enough for a CI minute.
ROWS = "3000"
# A table the (title, body) index takes a while to build on: about 3 s on a busy 2-core machine, but 0.98 s at
# load 6 (make test-under-load), so under the default --max-wait of 1 s there it was not "long" and the test failed.
INDEX_ROWS = "500000"
# What counts as a long lock is --max-wait (the writers' limit). A quarter of the default keeps the build long on a
# quiet or fast machine too; the point is the lock the build holds and the write it makes wait, not its length.
INDEX_MAX_WAIT = "0.25"


def test_0004_0005_as_shipped_leave_corrupted_word_counts(essay_repo):
    repo, tags = essay_repo

    result = run_rehearse("--previous", tags["without"], "--next", tags["shipped"], "--rows", ROWS,
                          "--max-wait", GENEROUS_WAIT, *ARGS, repo=repo.path)  # fmt: skip

    assert result.returncode == 1, result.explain()
    report = result.report
    assert report["precheck"] == []  # the schema is compatible; the data is what goes wrong
    assert sum(sum(p["failures"].values()) for p in report["phases"]) == 0, result.explain()
    corrupted = [p for p in report["writes"]["problems"] if p["kind"] == "corrupted"]
    assert corrupted, result.explain()
    assert {p["field"] for p in corrupted} == {"word_count"}
    # Every one was left by the release that does not know the column, after the migration began.
    assert {p["release"] for p in corrupted} == {"previous"}
    assert {p["phase"] for p in corrupted} <= {"migrate", "both"}
    assert all(p["read"] != p["written"] for p in corrupted)


def test_word_count_split_as_the_reference_says_passes(essay_repo):
    repo, tags = essay_repo
    for previous, following in (("without", "expand"), ("expand", "backfill")):
        result = run_rehearse("--previous", tags[previous], "--next", tags[following], "--rows", ROWS,
                              "--max-wait", GENEROUS_WAIT, *ARGS, repo=repo.path)  # fmt: skip
        assert result.returncode == 0, f"{previous} → {following}: {result.explain()}"
        report = result.report
        assert report["writes"]["recorded"] and report["writes"]["corrupted"] == 0
        assert [m["name"] for m in report["migrations"]], "the deploy ran a migration under the traffic"


def test_a_plain_create_index_is_reported_as_a_long_lock_with_the_write_wait_it_caused(essay_repo):
    repo, tags = essay_repo

    result = run_rehearse("--previous", "folio", "--next", tags["index"], "--rows", INDEX_ROWS,
                          "--max-wait", INDEX_MAX_WAIT, *ARGS, repo=repo.path)  # fmt: skip

    assert result.returncode == 1, result.explain()
    report = result.report
    locks = [lock for lock in report["long_locks"] if lock["migration"] == f"content.{essay_releases.INDEX_MIGRATION}"]
    # The table writers wait on, and only it: the new index's own lock (named by its oid while uncommitted) blocks
    # no one.
    assert [(lock["relation"], lock["mode"]) for lock in locks] == [("content_essay", "ShareLock")], result.explain()
    assert locks[0]["held_seconds"] >= report["max_wait"]
    # A write arrived while the index was being built and waited for it.
    assert locks[0]["write_wait"] > 0, result.explain()
    assert "CREATE INDEX" in locks[0]["statement"]
