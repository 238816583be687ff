"""`manage.py worker` processes, two at once as a VM or Compose may run them, on a real PostgreSQL: scheduled jobs
run once per period, a job whose worker was SIGKILLed runs again, and a job longer than its period never overlaps.

Periods are seconds (tests/scheduling/settings_*.py), so every wait below is bounded by periods plus a margin for
a loaded 2-core machine, where a fresh Django process may take a minute to start (harness/project.py HUNG_AFTER).
"""

from __future__ import annotations

import itertools
import os
import signal
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from harness.processes import KILL_WAIT, stop_process_group
from tests.scheduling import jobs, periods
from tests.scheduling.conftest import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.services]

# Two fresh Django processes starting on a loaded machine, then the periods the test needs.
START_MARGIN = 120.0
SCHEDULED_JOBS = ("clearsessions", "prune_task_results", "render_essays")
TASK_PATHS = {
    "clearsessions": "apps.core.scheduling.tasks.clear_expired_sessions",
    "prune_task_results": "apps.core.scheduling.tasks.prune_task_results",
    "render_essays": "apps.content.tasks.render_stale_essays",
}


def add_session(workers, key: str, expires: datetime) -> None:
    workers.execute(
        "INSERT INTO django_session (session_key, session_data, expire_date) VALUES (%s, 'e30:1', %s)", (key, expires)
    )


def add_result(workers, status: str, finished: datetime) -> str:
    """A finished task result as django-tasks-db writes one, `finished` long ago or not."""
    rows = workers.query(
        "INSERT INTO django_tasks_database_dbtaskresult"
        " (id, status, enqueued_at, started_at, finished_at, args_kwargs, priority, task_path,"
        " worker_ids, queue_name, backend_name, run_after, return_value, exception_class_path, traceback)"
        " VALUES (gen_random_uuid(), %s, %s, %s, %s, '{\"args\": [], \"kwargs\": {}}', 0, 'tests.scheduling.jobs.noop',"
        " '[\"gone\"]', 'default', 'default', '9999-01-01T00:00:00Z', NULL, '', '') RETURNING id::text",
        (status, finished, finished, finished),
    )
    return rows[0][0]


def scheduled_runs(workers) -> list[tuple[str, int, str | None, list[str] | None]]:
    """Every slot's run: (job, slot, status of its task result, the workers that claimed it)."""
    return workers.query(
        "SELECT run.job, run.slot, result.status, result.worker_ids FROM core_scheduledrun run"
        " LEFT JOIN django_tasks_database_dbtaskresult result ON result.id = run.task_id ORDER BY run.job, run.slot"
    )


def test_two_workers_run_each_scheduled_job_once_per_period_and_clear_sessions_and_old_results(workers_for):
    workers = workers_for("tests.scheduling.settings_periods")
    now = datetime.now(UTC)
    for number in range(3):
        add_session(workers, f"expired{number:026d}", now - timedelta(days=1, minutes=number))
    add_session(workers, "live" + "0" * 28, now + timedelta(days=14))
    # TASK_RESULT_RETENTION_DAYS is 7 (the default): a month-old result of either outcome goes, an hour-old stays.
    old = [
        add_result(workers, "SUCCESSFUL", now - timedelta(days=30)),
        add_result(workers, "FAILED", now - timedelta(days=30)),
    ]
    recent = add_result(workers, "SUCCESSFUL", now - timedelta(hours=1))

    first, second = workers.start("worker-a"), workers.start("worker-b")

    def periods_done() -> bool:
        finished = Counter(job for job, _, status, _ in scheduled_runs(workers) if status == "SUCCESSFUL")
        return all(finished[job] >= 3 for job in SCHEDULED_JOBS)

    # Three periods of 3 s after both processes have started.
    wait_for(periods_done, timeout=START_MARGIN + 3 * periods.PRODUCTION_JOBS_EVERY, what="three periods of each job")
    assert first.process.poll() is None and second.process.poll() is None, first.output() + second.output()
    for worker in (first, second):
        assert stop_process_group(worker.process, grace=60.0)

    runs = scheduled_runs(workers)
    for job in SCHEDULED_JOBS:
        slots = [(slot, status, claimed) for name, slot, status, claimed in runs if name == job]
        numbers = [slot for slot, _, _ in slots]
        # One row per slot, and no slot skipped: every period ran the job. A slot is skipped only if the previous
        # run was still unfinished for a whole period (3 s); these jobs take milliseconds.
        assert numbers == list(range(numbers[0], numbers[0] + len(numbers))), (job, numbers)
        # Each slot's task ran once, by one worker; only a slot opened as the workers stopped may be left READY.
        for slot, status, claimed in slots[:-1]:
            assert status == "SUCCESSFUL" and len(claimed) == 1, (job, slot, status, claimed)
        assert slots[-1][1] in ("SUCCESSFUL", "READY"), slots[-1]
        # No run of the job outside the schedule's slots.
        (count,) = workers.query(
            "SELECT count(*) FROM django_tasks_database_dbtaskresult WHERE task_path = %s", (TASK_PATHS[job],)
        )[0]
        assert count == len(slots), (job, count, len(slots))

    sessions = {key for (key,) in workers.query("SELECT session_key FROM django_session")}
    assert sessions == {"live" + "0" * 28}
    left = {result for (result,) in workers.query("SELECT id::text FROM django_tasks_database_dbtaskresult")}
    assert recent in left
    assert not set(old) & left


def test_a_job_whose_worker_is_killed_mid_run_completes_on_a_later_run_by_the_other_worker(workers_for):
    # A lease far above the time between the job starting and the kill below (milliseconds, seconds when loaded),
    # so the survivor cannot take the job over while its first worker still lives.
    lease = 10.0
    workers = workers_for("tests.scheduling.settings_hold", TASKS_LEASE=str(lease))
    started = {worker.pid: worker for worker in (workers.start("worker-a"), workers.start("worker-b"))}

    def first_start() -> list[tuple[str, int]]:
        return [event for event in jobs.events(workers.directory) if event[0] == "started"]

    # The first slot's run starts once a worker is up.
    ((_, pid),) = wait_for(first_start, timeout=START_MARGIN, what="the hold job starting")
    victim = started.pop(pid)
    ((survivor),) = started.values()
    os.kill(victim.pid, signal.SIGKILL)
    victim.process.wait(timeout=KILL_WAIT)
    assert victim.process.returncode == -signal.SIGKILL

    # It was running when killed: its row still says so, claimed by the victim alone, and nothing else started.
    ((job, slot, status, claimed),) = scheduled_runs(workers)
    assert (status, claimed) == ("RUNNING", [victim.worker_id])
    assert jobs.events(workers.directory) == [("started", victim.pid)]
    (workers.directory / "release").touch()

    def recovered() -> bool:
        rows = scheduled_runs(workers)
        return rows[0][2] == "SUCCESSFUL"

    # The lease, then the survivor's next look at the schedule (a tenth of the 2 s period) and its next poll.
    wait_for(recovered, timeout=lease + 60.0, what="the killed run completing")
    first_run = scheduled_runs(workers)[0]
    assert (first_run[0], first_run[1]) == (job, slot)
    assert first_run[3] == [victim.worker_id, survivor.worker_id]  # the same row, queued again, run by the survivor
    events = jobs.events(workers.directory)
    assert events[:3] == [("started", victim.pid), ("started", survivor.pid), ("done", survivor.pid)]
    assert ("done", victim.pid) not in events
    assert survivor.process.poll() is None, survivor.output()
    assert lease > periods.HOLD_EVERY  # the slot stayed blocked: the lease, not a new slot, brought the job back


def test_a_job_longer_than_its_period_never_runs_beside_itself(workers_for):
    period, length = periods.LINGER_EVERY, 2.5 * periods.LINGER_EVERY
    workers = workers_for("tests.scheduling.settings_overlap", LINGER_SECONDS=str(length))
    workers.start("worker-a"), workers.start("worker-b")
    task_path = "tests.scheduling.jobs.linger"

    def running() -> int:
        return workers.query(
            "SELECT count(*) FROM django_tasks_database_dbtaskresult WHERE task_path = %s AND status = 'RUNNING'",
            (task_path,),
        )[0][0]

    def finished() -> int:
        return workers.query(
            "SELECT count(*) FROM django_tasks_database_dbtaskresult WHERE task_path = %s AND status = 'SUCCESSFUL'",
            (task_path,),
        )[0][0]

    wait_for(running, timeout=START_MARGIN, what="the first linger run")
    window_start = time.time()
    samples = []
    # Sampled until two runs have finished (≥ 5 s, five periods); each run takes 2.5 s, so two of them must end
    # within a minute even on a loaded machine.
    deadline = time.monotonic() + 60.0 + 2 * length
    while finished() < 2:
        assert time.monotonic() < deadline, "two linger runs did not finish in time"
        samples.append(running())
    window_end = time.time()

    assert max(samples) == 1, Counter(samples)
    assert window_end - window_start >= 2 * period, "the window must cover at least two periods"
    assert int(window_end // period) - int(window_start // period) >= 2
    # Not only where sampled: no run's start falls between another's start and end.
    spans = workers.query(
        "SELECT started_at, finished_at FROM django_tasks_database_dbtaskresult"
        " WHERE task_path = %s AND status = 'SUCCESSFUL' ORDER BY started_at",
        (task_path,),
    )
    for (_, previous_end), (next_start, _) in itertools.pairwise(spans):
        assert next_start >= previous_end, spans
    # Slots passed without a run: the schedule waited for the long run instead of queueing one per period.
    slots = [slot for _, slot, _, _ in scheduled_runs(workers)]
    assert slots[-1] - slots[0] + 1 > len(slots), slots
