"""Tasks whose worker died: django-tasks-db leaves their rows RUNNING for ever, so nothing would run them again.

There is no heartbeat to tell a dead worker from a slow one, only the time a row has been RUNNING: past
settings.TASKS_LEASE its worker is presumed dead. A scheduled job (idempotent by contract, see SCHEDULED_JOBS) is
queued again, in the same row, so its slot still has one result; any other task is marked failed with the reason
instead, because running an e-mail twice is worse than not at all, and a failed row is what an operator looks for.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult


class WorkerLost(Exception):
    """Recorded as the error of a task whose worker stopped answering; never raised."""


@dataclass
class Recovery:
    requeued: list[str] = field(default_factory=list)  # ids of scheduled jobs' rows made READY again
    failed: list[str] = field(default_factory=list)  # ids of other tasks' rows marked FAILED


def task_runs_recover_stale(*, now: datetime, lease: float, idempotent_paths: Iterable[str]) -> Recovery:
    """Rows RUNNING since before `now - lease`: those of `idempotent_paths` back to READY, the rest FAILED."""
    recovery = Recovery()
    if not lease:
        return recovery
    # The status is in every UPDATE's WHERE: a worker that finishes the row meanwhile wins, and it is left alone.
    stale = DBTaskResult.objects.running().filter(started_at__lt=now - timedelta(seconds=lease))
    paths = list(idempotent_paths)
    requeue = stale.filter(task_path__in=paths)
    recovery.requeued = [str(pk) for pk in requeue.values_list("id", flat=True)]
    requeue.filter(id__in=recovery.requeued).update(status=TaskResultStatus.READY, started_at=None)
    lost = stale.exclude(task_path__in=paths)
    recovery.failed = [str(pk) for pk in lost.values_list("id", flat=True)]
    lost.filter(id__in=recovery.failed).update(
        status=TaskResultStatus.FAILED,
        finished_at=now,
        exception_class_path=f"{WorkerLost.__module__}.{WorkerLost.__qualname__}",
        traceback=f"WorkerLost: RUNNING for more than TASKS_LEASE ({lease:g} s); its worker is presumed dead.\n",
    )
    return recovery
