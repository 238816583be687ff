"""Work that runs later or on a clock: the tasks, the schedule that enqueues them, the queue drain behind the cron
endpoint, and the endpoint Vercel Cron calls."""
