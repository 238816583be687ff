"""The schedule inside a long-running worker: a thread beside django-tasks-db's loop that enqueues due jobs.

A thread, not a step of the worker's loop: that loop is the library's, and a step in it would wait behind a long
task, so due jobs (and the recovery of a dead worker's tasks) would wait as long as the longest task runs.
"""

from __future__ import annotations

import logging
import threading

from django.db import close_old_connections

from .due import scheduled_jobs_enqueue_due
from .schedule import Job

logger = logging.getLogger(__name__)

# Looking ten times per period keeps a job's start within a tenth of its period; a minute is plenty for daily jobs
# and costs one short transaction per worker per minute.
CHECKS_PER_PERIOD = 10
LONGEST_CHECK_INTERVAL = 60.0


def check_interval(jobs: tuple[Job, ...]) -> float:
    """Seconds between two looks at the schedule."""
    if not jobs:
        return LONGEST_CHECK_INTERVAL  # still looked at: recovering a dead worker's tasks needs no schedule
    return min(LONGEST_CHECK_INTERVAL, min(job.every.total_seconds() for job in jobs) / CHECKS_PER_PERIOD)


class ScheduleKeeper(threading.Thread):
    def __init__(self, jobs: tuple[Job, ...]) -> None:
        # A daemon: the worker's SIGTERM handling ends the process, and this must never hold it open.
        super().__init__(name="folio-schedule", daemon=True)
        self.jobs = jobs
        self.interval = check_interval(jobs)
        self.stopped = threading.Event()

    def run(self) -> None:
        logger.info("schedule: %s, checked every %g s", ", ".join(job.name for job in self.jobs), self.interval)
        while not self.stopped.is_set():
            try:
                enqueued = scheduled_jobs_enqueue_due(jobs=self.jobs)
            except Exception:
                # A database that is away for a while must not end the schedule: the next look tries again.
                logger.exception("schedule: could not enqueue due jobs; trying again in %g s", self.interval)
            else:
                if enqueued:
                    logger.info("schedule: enqueued %s", ", ".join(enqueued))
            finally:
                close_old_connections()  # this thread's own connection, as a request would end with
            self.stopped.wait(self.interval)
