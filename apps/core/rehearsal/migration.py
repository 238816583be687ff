"""The next release's `migrate`, run as Folio runs it in a deploy (its own migrate command: lock and statement
timeouts, the direct URL), watched: each migration's duration from the command's progress lines, and the locks its
session holds, sampled from pg_locks, with whatever blocks it when it waits."""

from __future__ import annotations

import re
import subprocess
import threading
import time
from dataclasses import dataclass, field

import psycopg

from .releases import Release
from .scratch import Server

APPLICATION_NAME = "folio-rehearse-migrate"
SAMPLE_EVERY = 0.05
# Lock modes that make writers (RowExclusiveLock) wait, the ones a deploy feels.
BLOCKS_WRITES = {"ShareLock", "ShareRowExclusiveLock", "ExclusiveLock", "AccessExclusiveLock"}
APPLYING = re.compile(r"Applying (\S+?)\.\.\.")
DONE = re.compile(r"(OK|FAKED)(?: \((\d+\.\d+)s\))?")

LOCKS_SQL = """
    SELECT l.granted, l.mode, l.relation::regclass::text, a.query,
           (SELECT string_agg(b.query, ' | ') FROM pg_stat_activity b WHERE b.pid = ANY(pg_blocking_pids(l.pid)))
    FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
    WHERE a.application_name = %s AND a.datname = current_database() AND l.locktype = 'relation'
      AND l.relation IS NOT NULL AND l.relation::regclass::text NOT LIKE 'pg\\_%%'
"""


@dataclass
class Lock:
    relation: str
    mode: str
    first: float
    last: float
    statement: str

    @property
    def held(self) -> float:
        return self.last - self.first + SAMPLE_EVERY

    @property
    def blocks_writes(self) -> bool:
        # A relation the watcher can name only by its oid was made by the migration's own, uncommitted transaction
        # (CREATE INDEX's new index): no other session sees it, so its lock makes no one wait.
        return self.mode in BLOCKS_WRITES and not self.relation.isdigit()

    def as_dict(self) -> dict[str, object]:
        return {
            "relation": self.relation,
            "mode": self.mode,
            "held_seconds": round(self.held, 2),
            "from": self.first,
            "until": self.last + SAMPLE_EVERY,
            "statement": self.statement[:300],
            "blocks_writes": self.blocks_writes,
        }


@dataclass
class Applied:
    name: str
    started: float
    seconds: float | None = None
    locks: dict[tuple[str, str], Lock] = field(default_factory=dict)
    waited_on: str = ""  # the statement that blocked this migration's session, last seen


@dataclass
class MigrateRun:
    applied: list[Applied] = field(default_factory=list)
    output: str = ""
    returncode: int | None = None
    started: float = 0.0
    finished: float = 0.0

    @property
    def current(self) -> Applied | None:
        return self.applied[-1] if self.applied and self.applied[-1].seconds is None else None


def _sample(server: Server, database: str, run: MigrateRun, stop: threading.Event) -> None:
    try:
        _sample_until(server, database, run, stop)
    except psycopg.Error as exc:  # the report says the samples stopped rather than the rehearsal failing
        run.output += f"\n(pg_locks sampling stopped: {exc})"


def _sample_until(server: Server, database: str, run: MigrateRun, stop: threading.Event) -> None:
    with server.connect(database, autocommit=True) as watcher:
        while not stop.is_set():
            now = time.time()
            current = run.current
            for granted, mode, relation, statement, blockers in watcher.execute(LOCKS_SQL, [APPLICATION_NAME]):
                if current is None:
                    break
                if not granted:
                    current.waited_on = blockers or current.waited_on
                    continue
                lock = current.locks.get((relation, mode))
                if lock is None:
                    current.locks[(relation, mode)] = Lock(relation, mode, now, now, statement or "")
                else:
                    lock.last = now
            stop.wait(SAMPLE_EVERY)


def _read_progress(process: subprocess.Popen, run: MigrateRun) -> None:
    """Django writes "  Applying app.0004_x..." and flushes, then " OK (0.012s)" when done (verbosity 2)."""
    pending = ""
    assert process.stdout is not None
    while chunk := process.stdout.read1(4096):
        text = chunk.decode("utf-8", errors="replace")
        run.output += text
        pending += text
        while True:
            current = run.current
            if current is None:
                found = APPLYING.search(pending)
                if not found:
                    break
                run.applied.append(Applied(found.group(1), time.time()))
                pending = pending[found.end() :]
            else:
                found = DONE.search(pending)
                if not found:
                    break
                current.seconds = float(found.group(2)) if found.group(2) else time.time() - current.started
                pending = pending[found.end() :]


def migrate(release: Release, env: dict[str, str], server: Server, database: str) -> MigrateRun:
    run = MigrateRun(started=time.time())
    stop = threading.Event()
    sampler = threading.Thread(target=_sample, args=(server, database, run, stop), daemon=True)
    sampler.start()
    process = subprocess.Popen(
        [str(release.python), "manage.py", "migrate", "--noinput", "--verbosity", "2"],
        cwd=release.root,
        env={**env, "PGAPPNAME": APPLICATION_NAME},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        _read_progress(process, run)
        run.returncode = process.wait()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        stop.set()
        sampler.join(timeout=10)
        run.finished = time.time()
    current = run.current
    if current is not None:  # the one that failed
        current.seconds = run.finished - current.started
    return run
