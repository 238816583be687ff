"""Production's settings with one job that runs until released (tests/scheduling/jobs.py `hold`)."""

from config.settings.production import *  # noqa: F403 - a target's settings, overridden as targets do
from tests.scheduling.periods import HOLD_EVERY

SCHEDULED_JOBS = {"hold": {"task": "tests.scheduling.jobs.hold", "every": HOLD_EVERY}}
