"""Background tasks (django-tasks): requests and the schedule enqueue them, `manage.py worker` or the cron endpoint
runs them."""

from __future__ import annotations

from django.conf import settings
from django.core.management import call_command
from django_tasks import task

from apps.core.dbops import backups


@task()
def clear_expired_sessions() -> None:
    """Database sessions are never deleted by Django itself; expired rows pile up until this runs."""
    call_command("clearsessions")


@task()
def prune_task_results() -> None:
    """django-tasks-db keeps every finished result for ever; its own command deletes those past the retention."""
    call_command("prune_db_task_results", queue_name="*", min_age_days=settings.TASK_RESULT_RETENTION_DAYS, verbosity=0)


@task()
def backup_database() -> str:
    """The worker's backup (BACKUP_SCHEDULE), the same set `make backup` and the VM's timer write. Run again after a
    lost worker, it only writes another dated set. A failure raises, so the task result says why."""
    return str(backups.backup_set().dump)
