"""Jobs that run on a schedule: the cron endpoint enqueues each one at most once per period."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django_tasks.base import Task

from .tasks import clear_expired_sessions


@dataclass(frozen=True)
class Job:
    name: str
    task: Task
    every: timedelta

    def slot(self, now: datetime) -> int:
        """Which period `now` falls in; a job is due once per slot, however often cron calls."""
        return int(now.timestamp() // self.every.total_seconds())


SCHEDULE: tuple[Job, ...] = (Job("clearsessions", clear_expired_sessions, timedelta(days=1)),)
