"""Each release runs with what its own `.env.example` gives: a variable the next release starts to require
comes with it, and the operator's own Folio variables never stand in for it."""

from __future__ import annotations

import pytest

from .conftest import rehearse_env, run_rehearse

pytestmark = [pytest.mark.postgres, pytest.mark.services]

ADMIN_URL = 'ADMIN_URL = env.str("ADMIN_URL", default="admin/")\n'
REQUIRES_GREETING = {"config/settings/base.py": [(ADMIN_URL, ADMIN_URL + 'GREETING = env.str("FOLIO_GREETING")\n')]}


def test_a_variable_the_next_release_requires_comes_from_its_own_env_example(notes_repo):
    repo, tags = notes_repo
    unexplained = repo.release("greeting-unexplained", on=tags["base"], edits=REQUIRES_GREETING)
    explained = repo.release("greeting", on=tags["base"], edits={
        **REQUIRES_GREETING, ".env.example": [("\nDJANGO_BUILD=", "\nFOLIO_GREETING=hello\nDJANGO_BUILD=")],
    })  # fmt: skip

    missing = run_rehearse("--previous", tags["base"], "--next", unexplained, "--precheck-only", repo=repo.path,
                           env=rehearse_env(FOLIO_GREETING="the operator's"))  # fmt: skip
    given = run_rehearse("--previous", tags["base"], "--next", explained, "--precheck-only", repo=repo.path)

    assert missing.returncode == 2, missing.explain()
    assert "FOLIO_GREETING" in missing.stderr.splitlines()[0]
    assert given.returncode == 0, given.explain()
