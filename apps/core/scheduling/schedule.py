"""Jobs that run on a schedule (settings.SCHEDULED_JOBS): the worker and the cron endpoint enqueue each one at most
once per period."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string
from django_tasks.base import Task


@dataclass(frozen=True)
class Job:
    name: str
    task: Task
    every: timedelta

    def slot(self, now: datetime) -> int:
        """Which period `now` falls in; a job is due once per slot, however often the worker or cron looks."""
        return int(now.timestamp() // self.every.total_seconds())


def scheduled_jobs() -> tuple[Job, ...]:
    """The jobs settings.SCHEDULED_JOBS names, or an error that says which entry is wrong and why."""
    jobs = []
    for name, entry in settings.SCHEDULED_JOBS.items():
        where = f"SCHEDULED_JOBS[{name!r}]"
        try:
            task = import_string(entry["task"])
            every = float(entry["every"])
        except (ImportError, KeyError, TypeError, ValueError) as exc:
            raise ImproperlyConfigured(f"{where} needs a task's dotted path and `every` in seconds ({exc})") from None
        if not isinstance(task, Task):
            raise ImproperlyConfigured(f"{where}: {entry['task']} is not a django-tasks task (@task)")
        if not 0 < every < float("inf"):
            raise ImproperlyConfigured(f"{where}: every={entry['every']!r} is not a period: use seconds above 0")
        jobs.append(Job(name, task, timedelta(seconds=every)))
    return tuple(jobs)
