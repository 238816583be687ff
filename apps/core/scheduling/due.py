"""Putting due scheduled jobs in the task queue: the one rule the worker and the cron endpoint both follow.

A job is enqueued when its current slot has no run yet and no earlier run of it is still waiting or running, so a
job longer than its period never overlaps itself; it then runs once, late, in the slot where the long run ends.
Every caller takes one lock first, so two workers (or a worker and cron) can never each see "nothing unfinished"
and enqueue two slots at once at a slot boundary; the unique (job, slot) row stays as the last guard.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction

from ..models import ScheduledRun
from .leases import task_runs_recover_stale
from .schedule import Job, scheduled_jobs

logger = logging.getLogger(__name__)

UNFINISHED = (TaskResultStatus.READY, TaskResultStatus.RUNNING)


def _lock_the_schedule() -> None:
    """Until this transaction ends, the only one deciding what is due. On SQLite the exclusive transaction already
    is; on PostgreSQL a table lock that conflicts with itself, held for milliseconds, and transaction-scoped so
    PgBouncer's transaction pooling keeps it (a session advisory lock would not survive it)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {ScheduledRun._meta.db_table} IN SHARE ROW EXCLUSIVE MODE")


def scheduled_jobs_enqueue_due(*, now: datetime | None = None, jobs: tuple[Job, ...] | None = None) -> list[str]:
    """Recover runs whose worker died, then enqueue every due job; the names of those enqueued by this call."""
    now = now or timezone.now()
    jobs = scheduled_jobs() if jobs is None else jobs
    enqueued = []
    with exclusive_transaction():
        _lock_the_schedule()
        recovery = task_runs_recover_stale(
            now=now, lease=settings.TASKS_LEASE, idempotent_paths=[job.task.module_path for job in jobs]
        )
        if recovery.requeued or recovery.failed:
            logger.warning(
                "schedule: tasks RUNNING past TASKS_LEASE, worker presumed dead: queued again %s, failed %s",
                recovery.requeued,
                recovery.failed,
            )
        for job in jobs:
            slot = job.slot(now)
            if ScheduledRun.objects.filter(job=job.name, slot=slot).exists():
                continue
            if DBTaskResult.objects.filter(task_path=job.task.module_path, status__in=UNFINISHED).exists():
                continue
            result = job.task.enqueue()
            ScheduledRun.objects.create(job=job.name, slot=slot, task_id=result.id)
            enqueued.append(job.name)
    return enqueued
