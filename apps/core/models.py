from __future__ import annotations

from django.db import models


class ScheduledRun(models.Model):
    """One row per scheduled job and time slot: the unique pair is what lets only one cron call enqueue it."""

    job = models.CharField(max_length=100)
    slot = models.BigIntegerField(help_text="Start of the job's period, as whole periods since the Unix epoch.")
    enqueued_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "slot"], name="scheduled_run_once_per_slot")]

    def __str__(self) -> str:
        return f"{self.job} #{self.slot}"
