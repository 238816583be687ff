from __future__ import annotations

from django.db import models


class ScheduledRun(models.Model):
    """One row per scheduled job and time slot: the unique pair is what lets only one caller enqueue it."""

    job = models.CharField(max_length=100)
    slot = models.BigIntegerField(help_text="Start of the job's period, as whole periods since the Unix epoch.")
    enqueued_at = models.DateTimeField(auto_now_add=True)
    # The django-tasks result of this slot's run; not a foreign key, so pruning results keeps the slot's row.
    task_id = models.UUIDField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "slot"], name="scheduled_run_once_per_slot")]

    def __str__(self) -> str:
        return f"{self.job} #{self.slot}"
