"""Production's settings with production's scheduled jobs every 3 seconds instead of daily (the worker tests):
the schedule is a setting, so the only difference is the period."""

from config.settings.production import *  # noqa: F403 - a target's settings, overridden as targets do
from tests.scheduling.periods import PRODUCTION_JOBS_EVERY

SCHEDULED_JOBS = {name: {**job, "every": PRODUCTION_JOBS_EVERY} for name, job in SCHEDULED_JOBS.items()}  # noqa: F405
