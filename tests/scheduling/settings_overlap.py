"""Production's settings with one job that runs longer than its period (tests/scheduling/jobs.py `linger`)."""

from config.settings.production import *  # noqa: F403 - a target's settings, overridden as targets do
from tests.scheduling.periods import LINGER_EVERY

SCHEDULED_JOBS = {"linger": {"task": "tests.scheduling.jobs.linger", "every": LINGER_EVERY}}
