"""The test schedules' periods (seconds): set in tests/scheduling/settings_*.py, waited for by the tests.

A module of its own: a settings module cannot import the jobs (tasks are built once settings exist)."""

PRODUCTION_JOBS_EVERY = 3
HOLD_EVERY = 2
LINGER_EVERY = 1
