"""Jobs the worker tests schedule: each run leaves a line in a log file, so who ran what, and when, shows.

JOB_DIR (set by the tests for the worker processes) is where the log and the release file live.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from django_tasks import task

# How long `hold` waits for its release file before giving up: a guard against a test that died without
# releasing it, far beyond any test's wait.
HOLD_GUARD = 300.0


def job_dir() -> Path:
    return Path(os.environ["JOB_DIR"])


def note(event: str) -> None:
    """One line per event; a single short O_APPEND write, so lines of two processes never interleave."""
    with (job_dir() / "log").open("a", encoding="utf-8") as log:
        log.write(f"{event} {os.getpid()}\n")


def events(directory: Path) -> list[tuple[str, int]]:
    """The log's lines as (event, pid)."""
    path = directory / "log"
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    return [(event, int(pid)) for event, pid in (line.split() for line in lines)]


@task()
def hold() -> None:
    """Runs until the test creates the release file: a job a worker can be killed in the middle of."""
    note("started")
    deadline = time.monotonic() + HOLD_GUARD
    while not (job_dir() / "release").exists():
        if time.monotonic() > deadline:
            raise TimeoutError("hold: never released")
        time.sleep(0.05)
    note("done")


@task()
def linger() -> None:
    """A job longer than its period (tests/scheduling/settings_overlap.py)."""
    note("started")
    time.sleep(float(os.environ["LINGER_SECONDS"]))
    note("done")


@task()
def noop() -> None:
    """The task the pruning test's hand-made results name; never scheduled."""
