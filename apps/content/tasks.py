"""The content app's scheduled work (settings.SCHEDULED_JOBS)."""

from __future__ import annotations

from django_tasks import task

from . import stored_rendering
from .models import Essay


@task()
def render_stale_essays() -> int:
    """Stored HTML a deploy or an upgrade left out of date, rendered again (apps/content/stored_rendering.py). Run
    again after a lost worker, it carries on where the last committed batch stopped."""
    return stored_rendering.refresh(Essay)
