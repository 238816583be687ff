"""The scheduling rules, one at a time, on the test database: when a job is due, what a lease recovers, what the
prune job deletes, and what a wrong SCHEDULED_JOBS says."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from apps.core.models import ScheduledRun
from apps.core.scheduling import keeper
from apps.core.scheduling.due import scheduled_jobs_enqueue_due
from apps.core.scheduling.leases import WorkerLost
from apps.core.scheduling.schedule import Job, scheduled_jobs
from apps.core.scheduling.tasks import prune_task_results
from tests.scheduling import jobs
from tests.scheduling.conftest import wait_for

DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
HOUR = timedelta(hours=1)
# The first second of an hourly slot, so "later in the slot" and "the next slot" are exact.
SLOT_START = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
HOURLY = (Job("linger", jobs.linger, HOUR),)


@pytest.fixture
def queue(settings):
    settings.TASKS = DATABASE_TASKS
    settings.TASKS_LEASE = 600.0
    return settings


def results(task_path: str = jobs.linger.module_path):
    return DBTaskResult.objects.filter(task_path=task_path)


def finish_all() -> None:
    DBTaskResult.objects.update(status=TaskResultStatus.SUCCESSFUL, finished_at=timezone.now())


def claim(result: DBTaskResult, *, at: datetime, worker: str = "worker-gone") -> None:
    result.claim(worker)
    DBTaskResult.objects.filter(id=result.id).update(started_at=at)


@pytest.mark.django_db
def test_a_due_job_is_enqueued_once_per_slot_and_again_in_the_next_slot(queue):
    assert scheduled_jobs_enqueue_due(now=SLOT_START, jobs=HOURLY) == ["linger"]
    finish_all()
    assert scheduled_jobs_enqueue_due(now=SLOT_START + HOUR - timedelta(seconds=1), jobs=HOURLY) == []
    assert scheduled_jobs_enqueue_due(now=SLOT_START + HOUR, jobs=HOURLY) == ["linger"]
    runs = list(ScheduledRun.objects.order_by("slot").values_list("slot", "task_id"))
    assert [slot for slot, _ in runs] == [HOURLY[0].slot(SLOT_START), HOURLY[0].slot(SLOT_START) + 1]
    assert {task_id for _, task_id in runs} == set(results().values_list("id", flat=True))


@pytest.mark.django_db
@pytest.mark.parametrize("status", [TaskResultStatus.READY, TaskResultStatus.RUNNING])
def test_a_job_whose_last_run_is_unfinished_waits_and_runs_late_in_the_slot_where_it_finishes(queue, status):
    scheduled_jobs_enqueue_due(now=SLOT_START, jobs=HOURLY)
    results().update(status=status, started_at=SLOT_START)
    assert scheduled_jobs_enqueue_due(now=SLOT_START + HOUR, jobs=HOURLY) == []
    assert scheduled_jobs_enqueue_due(now=SLOT_START + HOUR + timedelta(minutes=5), jobs=HOURLY) == []
    assert results().count() == 1
    finish_all()
    assert scheduled_jobs_enqueue_due(now=SLOT_START + HOUR + timedelta(minutes=10), jobs=HOURLY) == ["linger"]
    assert results().count() == 2


@pytest.mark.django_db
def test_a_scheduled_jobs_run_past_the_lease_is_queued_again_in_the_same_row_and_not_before(queue):
    scheduled_jobs_enqueue_due(now=SLOT_START, jobs=HOURLY)
    (result,) = results()
    claim(result, at=SLOT_START)
    scheduled_jobs_enqueue_due(now=SLOT_START + timedelta(seconds=600), jobs=HOURLY)  # exactly the lease: not yet
    result.refresh_from_db()
    assert result.status == TaskResultStatus.RUNNING
    scheduled_jobs_enqueue_due(now=SLOT_START + timedelta(seconds=601), jobs=HOURLY)
    result.refresh_from_db()
    assert (result.status, result.started_at, result.worker_ids) == (TaskResultStatus.READY, None, ["worker-gone"])
    assert results().count() == 1  # the slot keeps one result: the same row runs again
    assert DBTaskResult.objects.ready().filter(id=result.id).exists()  # and a worker will pick it up


@pytest.mark.django_db
def test_any_other_task_running_past_the_lease_is_marked_failed_with_the_reason_not_run_again(queue):
    other = jobs.noop.enqueue()
    (result,) = results(jobs.noop.module_path)
    claim(result, at=SLOT_START)
    scheduled_jobs_enqueue_due(now=SLOT_START + timedelta(seconds=601), jobs=HOURLY)
    finished = jobs.noop.get_result(other.id)
    assert finished.status == TaskResultStatus.FAILED
    assert finished.errors[0].exception_class_path == f"{WorkerLost.__module__}.WorkerLost"
    assert "TASKS_LEASE (600 s)" in finished.errors[0].traceback


@pytest.mark.django_db
def test_a_lease_of_zero_leaves_running_tasks_alone(queue):
    queue.TASKS_LEASE = 0.0
    jobs.noop.enqueue()
    (result,) = results(jobs.noop.module_path)
    claim(result, at=SLOT_START - timedelta(days=365))
    scheduled_jobs_enqueue_due(now=SLOT_START, jobs=HOURLY)
    result.refresh_from_db()
    assert result.status == TaskResultStatus.RUNNING


@pytest.mark.django_db
def test_prune_deletes_finished_results_past_the_retention_and_keeps_the_rest(queue):
    queue.TASK_RESULT_RETENTION_DAYS = 7
    now = timezone.now()

    def result(status: TaskResultStatus, finished_days_ago: float | None, queue_name: str = "default") -> str:
        row = DBTaskResult.objects.get(id=jobs.noop.using(queue_name=queue_name).enqueue().id)
        finished = None if finished_days_ago is None else now - timedelta(days=finished_days_ago)
        DBTaskResult.objects.filter(id=row.id).update(status=status, finished_at=finished)
        return str(row.id)

    queue.TASKS = {"default": {**DATABASE_TASKS["default"], "QUEUES": ["default", "mail"]}}
    gone = [
        result(TaskResultStatus.SUCCESSFUL, 7.01),
        result(TaskResultStatus.FAILED, 30),
        result(TaskResultStatus.SUCCESSFUL, 30, queue_name="mail"),  # every queue, not only the default one
    ]
    kept = {
        result(TaskResultStatus.SUCCESSFUL, 6.9),
        result(TaskResultStatus.FAILED, 1),
        result(TaskResultStatus.READY, None),
        result(TaskResultStatus.RUNNING, None),
    }
    prune_task_results.call()
    left = {str(pk) for pk in DBTaskResult.objects.values_list("id", flat=True)}
    assert left == kept, f"gone should be {gone}"


@pytest.mark.django_db
def test_prune_deletes_the_schedules_old_rows_but_each_jobs_newest(queue):
    queue.TASK_RESULT_RETENTION_DAYS = 7
    now = timezone.now()

    def run(job: str, slot: int, enqueued_days_ago: float) -> int:
        row = ScheduledRun.objects.create(job=job, slot=slot)
        ScheduledRun.objects.filter(id=row.id).update(enqueued_at=now - timedelta(days=enqueued_days_ago))
        return row.id

    gone = {run("daily", 1, 30), run("daily", 2, 8), run("monthly", 1, 40)}
    # A monthly job's current slot began 10 days ago: deleting its row would enqueue the job again this month.
    kept = {run("daily", 3, 6.9), run("daily", 4, 0), run("monthly", 2, 10)}
    prune_task_results.call()
    left = set(ScheduledRun.objects.values_list("id", flat=True))
    assert left == kept, f"gone should be {gone}"


def test_the_schedule_holds_clearsessions_and_pruning_daily_and_rendering_hourly(settings):
    assert {(job.name, job.task.module_path, job.every) for job in scheduled_jobs()} == {
        ("clearsessions", "apps.core.scheduling.tasks.clear_expired_sessions", timedelta(days=1)),
        ("prune_task_results", "apps.core.scheduling.tasks.prune_task_results", timedelta(days=1)),
        ("render_essays", "apps.content.tasks.render_stale_essays", timedelta(hours=1)),
    }


@pytest.mark.parametrize(
    ("entry", "said"),
    [
        ({"task": "apps.core.scheduling.tasks.nowhere", "every": 60}, "dotted path"),
        ({"every": 60}, "dotted path"),
        ({"task": "apps.core.scheduling.tasks.call_command", "every": 60}, "is not a django-tasks task"),
        ({"task": "tests.scheduling.jobs.noop", "every": 0}, "is not a period"),
        ({"task": "tests.scheduling.jobs.noop", "every": "daily"}, "`every` in seconds"),
        ({"task": "tests.scheduling.jobs.noop", "every": float("inf")}, "is not a period"),
    ],
)
def test_a_wrong_schedule_entry_is_an_error_naming_it(settings, entry, said):
    settings.SCHEDULED_JOBS = {"broken": entry}
    with pytest.raises(ImproperlyConfigured, match="SCHEDULED_JOBS\\['broken'\\]") as error:
        scheduled_jobs()
    assert said in str(error.value)


def test_the_worker_looks_at_the_schedule_ten_times_per_shortest_period_and_at_least_every_minute():
    assert keeper.check_interval((Job("a", jobs.noop, timedelta(seconds=3)), *HOURLY)) == pytest.approx(0.3)
    assert keeper.check_interval(HOURLY) == 60.0
    assert keeper.check_interval(()) == 60.0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_caller_in_the_next_slot_waits_for_one_still_deciding_and_then_enqueues_nothing(queue):
    # Two workers at a slot boundary: A, in the last second of a slot, has enqueued its run but not committed; B,
    # already in the next slot, would see no unfinished run (not committed yet) and enqueue a second, overlapping
    # one, unless it waits for A's lock first.
    a_decided, release = threading.Event(), threading.Event()
    answers: dict[str, list[str]] = {}

    def caller(name: str, now: datetime, hold: bool) -> None:
        try:
            with transaction.atomic():
                answers[name] = scheduled_jobs_enqueue_due(now=now, jobs=HOURLY)
                if hold:
                    a_decided.set()
                    release.wait(timeout=60)
        finally:
            connection.close()

    def b_waits_for_a_lock() -> bool:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            return cursor.fetchone()[0] == 1

    a = threading.Thread(target=caller, args=("a", SLOT_START + HOUR - timedelta(seconds=1), True))
    b = threading.Thread(target=caller, args=("b", SLOT_START + HOUR, False))
    a.start()
    try:
        assert a_decided.wait(timeout=60)
        b.start()
        # Bounded: a blocked backend shows in pg_stat_activity within milliseconds, seconds on a loaded machine.
        wait_for(b_waits_for_a_lock, timeout=30, what="the second caller waiting for the first one's lock")
    finally:
        release.set()  # never leave A holding its transaction open, whatever failed above
        a.join(timeout=60)
        if b.ident is not None:
            b.join(timeout=60)
    assert answers == {"a": ["linger"], "b": []}
    assert ScheduledRun.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db
def test_django_tasks_db_claims_a_task_with_for_update_skip_locked(queue):
    # What lets two workers poll one queue without running a task twice; checked here so a django-tasks-db
    # upgrade that changed it would show.
    jobs.noop.enqueue()
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        DBTaskResult.objects.ready().get_locked()
    (claim_query,) = [query["sql"] for query in queries.captured_queries if query["sql"].startswith("SELECT")]
    assert "FOR UPDATE SKIP LOCKED" in claim_query
