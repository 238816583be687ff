"""Worker processes on a database of their own: `manage.py worker`, started and stopped as systemd would."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from harness.availability import unavailable
from harness.postgres import LOCAL
from harness.processes import read_log, stop_process_group
from harness.project import PYTHON, ROOT, manage_steps, production_env

# What systemd's TimeoutStopSec (60 s) allows a worker to finish its task after SIGTERM; our jobs take seconds.
STOP_GRACE = 60.0


@dataclass
class WorkerProcess:
    worker_id: str
    process: subprocess.Popen
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return read_log(self.log)()


@dataclass
class Workers:
    """The worker processes of one test, on one database, all stopped by their pids when the test ends."""

    url: str
    env: dict[str, str]
    directory: Path
    stack: ExitStack

    def start(self, worker_id: str) -> WorkerProcess:
        log = self.directory / f"{worker_id}.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                # The command deploy/systemd and docker-compose.production.yml run, with a short idle poll so the
                # test's 1-3 s periods are not dwarfed by db_worker's default 1 s.
                [PYTHON, "manage.py", "worker", "--worker-id", worker_id, "--interval", "0.1", "--no-startup-delay"],
                cwd=ROOT, env=self.env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        self.stack.callback(stop_process_group, process, stop_signal=signal.SIGTERM, grace=STOP_GRACE)
        return WorkerProcess(worker_id, process, log)

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.url, autocommit=True) as db:
            return db.execute(sql, params).fetchall()

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        with psycopg.connect(self.url, autocommit=True) as db:
            db.execute(sql, params)


@pytest.fixture(scope="package")
def migrated_template() -> Iterator[str]:
    """One migrated database the tests copy from: `migrate` once, not per test."""
    if not LOCAL.accepts_connections():
        unavailable(f"PostgreSQL at {LOCAL.host}:{LOCAL.port} is not reachable")
    with LOCAL.scratch_database(prefix="folio_sched_template") as url:
        manage_steps(("migrate", "--noinput"), env=production_env(DATABASE_URL=url))
        yield url.rsplit("/", 1)[1]


@pytest.fixture
def workers_for(migrated_template, tmp_path) -> Iterator[Callable[..., Workers]]:
    """workers_for(settings_module, **env) -> Workers on a fresh copy of the migrated database."""
    with ExitStack() as stack:

        def make(settings_module: str, **env: str) -> Workers:
            url = stack.enter_context(LOCAL.scratch_database(prefix="folio_sched", template=migrated_template))
            worker_env = production_env(
                DATABASE_URL=url, DJANGO_SETTINGS_MODULE=settings_module, JOB_DIR=str(tmp_path), **env
            )
            return Workers(url=url, env=worker_env, directory=tmp_path, stack=stack)

        yield make


def wait_for(condition: Callable[[], Any], *, timeout: float, what: str, interval: float = 0.05) -> Any:
    """Poll until `condition()` is truthy and return it; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout:.0f} s")
        time.sleep(interval)
    return value
