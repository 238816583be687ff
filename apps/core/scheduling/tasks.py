"""Background tasks (django-tasks): requests enqueue them, `db_worker` or the cron endpoint runs them."""

from __future__ import annotations

from django.core.management import call_command
from django_tasks import task


@task()
def clear_expired_sessions() -> None:
    """Database sessions are never deleted by Django itself; expired rows pile up until this runs."""
    call_command("clearsessions")
