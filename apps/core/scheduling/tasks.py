"""Background tasks (django-tasks): requests and the schedule enqueue them, `manage.py worker` or the cron endpoint
runs them."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.management import call_command
from django.db.models import Max
from django.utils import timezone
from django_tasks import task

from apps.core.dbops import backups
from apps.core.models import ScheduledRun


@task()
def clear_expired_sessions() -> None:
    """Database sessions are never deleted by Django itself; expired rows pile up until this runs."""
    call_command("clearsessions")


@task()
def prune_task_results() -> None:
    """django-tasks-db keeps every finished result for ever; its own command deletes those past the retention. The
    schedule's own rows (one per job and slot) go by the same retention, except each job's newest: that row is what
    keeps the job's current slot from being enqueued again, however long its period is."""
    call_command("prune_db_task_results", queue_name="*", min_age_days=settings.TASK_RESULT_RETENTION_DAYS, verbosity=0)
    cutoff = timezone.now() - timedelta(days=settings.TASK_RESULT_RETENTION_DAYS)
    newest_per_job = ScheduledRun.objects.values("job").annotate(newest=Max("id")).values("newest")
    ScheduledRun.objects.filter(enqueued_at__lt=cutoff).exclude(id__in=newest_per_job).delete()


@task()
def backup_database() -> str:
    """The worker's backup (BACKUP_SCHEDULE), the same set `make backup` and the VM's timer write. Run again after a
    lost worker, it only writes another dated set. A failure raises, so the task result says why."""
    return str(backups.backup_set().dump)
