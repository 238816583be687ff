"""Tasks the cron tests enqueue: each call is counted, so a task run twice shows."""

from __future__ import annotations

import threading
import time
from collections import Counter

from django_tasks import task

runs: Counter[str] = Counter()
_lock = threading.Lock()


@task()
def record(label: str, pause: float = 0.0) -> str:
    time.sleep(pause)  # long enough for a concurrent drain to look for the same row
    with _lock:
        runs[label] += 1
    return label


@task()
def explode() -> None:
    raise RuntimeError("this task always fails")
