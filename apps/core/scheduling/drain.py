"""Draining the task queue within a budget: the cron endpoint's worker, which lives only as long as one request."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from django_tasks import TaskResultStatus
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction

logger = logging.getLogger(__name__)

BACKEND_ALIAS = "default"


@dataclass
class DrainReport:
    ran: list[str] = field(default_factory=list)  # task result ids, in the order this call ran them
    failed: int = 0
    more: bool = False  # ready tasks were left for the next call because the budget ran out


def task_queue_drain(*, budget: float, worker_id: str) -> DrainReport:
    """Run ready tasks one by one until none is left or `budget` seconds have passed.

    Each task is claimed the way `db_worker` claims it (SELECT … FOR UPDATE SKIP LOCKED, then marked running in
    the same transaction), so concurrent cron calls and workers never run the same task twice. The budget is
    checked before each task: one that starts in time may run past it, hence the headroom below maxDuration.
    """
    worker = Worker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name=BACKEND_ALIAS,
        startup_delay=False,
        max_tasks=None,
        worker_id=worker_id,
        excluded_queue_names=[],
    )
    report = DrainReport()
    deadline = time.monotonic() + budget
    ready = DBTaskResult.objects.ready().filter(backend_name=BACKEND_ALIAS)
    while time.monotonic() < deadline:
        with exclusive_transaction(ready.db):
            task_result = ready.get_locked()
            if task_result is None:
                return report
            task_result.claim(worker_id)
        worker.run_task(task_result)
        report.ran.append(str(task_result.id))
        if task_result.status == TaskResultStatus.FAILED:
            report.failed += 1
            logger.error("cron: task %s (%s) failed", task_result.id, task_result.task_path)
    report.more = ready.exists()
    return report
