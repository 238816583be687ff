"""Work that runs later or on a clock: the tasks, the schedule (settings.SCHEDULED_JOBS), the one rule that enqueues
due jobs (due.py) and recovers a dead worker's tasks (leases.py), and its two callers: the thread inside
`manage.py worker` (keeper.py) and the cron endpoint Vercel calls (cron.py, with the queue drain in drain.py)."""
