"""`manage.py worker`: django-tasks-db's `db_worker` (same options), and the schedule enqueued beside it.

What systemd (deploy/systemd), Compose's `worker` service and any other long-running target start, so scheduled
jobs run wherever a worker runs; on Vercel, where none does, the cron endpoint calls the same enqueue rule.
"""

from __future__ import annotations

import os
from typing import Any

from django.utils.autoreload import DJANGO_AUTORELOAD_ENV
from django_tasks_db.management.commands import db_worker

from apps.core.scheduling.keeper import ScheduleKeeper
from apps.core.scheduling.schedule import scheduled_jobs


class Command(db_worker.Command):
    help = "Run the task queue (django-tasks-db's db_worker) and enqueue scheduled jobs when they are due"

    def handle(self, *args: Any, **options: Any) -> None:
        jobs = scheduled_jobs()  # a wrong SCHEDULED_JOBS stops the start, not the first look at the schedule
        # With --reload this process only watches files and restarts a child that runs the worker: the child keeps
        # the schedule, or a second keeper would run in the watcher.
        watcher_only = options["reload"] and not options["batch"] and os.environ.get(DJANGO_AUTORELOAD_ENV) != "true"
        if not watcher_only:
            ScheduleKeeper(jobs).start()
        super().handle(*args, **options)
