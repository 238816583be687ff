"""Health probes a crowd cannot fail: many clients probing at once through nginx, on a healthy stack with two
Gunicorn workers, all get 200 — overlapping probes share the run in flight (apps/core/health/runner.py)."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter

import pytest

pytestmark = pytest.mark.services

CLIENTS = 8
PROBES_PER_CLIENT = 20
PATHS = ("/health/ready", "/health/")


def wait_until_ready(stack, *, in_a_row: int = 10, within: float = 120.0) -> None:
    """As a load balancer's healthy threshold does: until both workers have answered readiness in a row. A
    worker's first check loads the migration graph, which a loaded machine can stretch past the deadline."""
    deadline = time.monotonic() + within
    streak = 0
    while streak < in_a_row:
        assert time.monotonic() < deadline, f"not ready {in_a_row} times in a row within {within:.0f} s"
        streak = streak + 1 if stack.https("/health/ready").status == 200 else 0


def test_a_crowd_of_probes_through_nginx_gets_only_200s(stack):
    wait_until_ready(stack)
    statuses: Counter = Counter()
    overlapping = threading.Barrier(CLIENTS)
    lock = threading.Lock()

    def client() -> None:
        overlapping.wait(timeout=60)  # every client starts together: the probes overlap
        for number in range(PROBES_PER_CLIENT):
            response = stack.https(PATHS[number % len(PATHS)])
            with lock:
                statuses[response.status] += 1

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)

    assert sum(statuses.values()) == CLIENTS * PROBES_PER_CLIENT, statuses
    assert statuses == Counter({200: CLIENTS * PROBES_PER_CLIENT})


def test_a_forged_forwarded_for_gets_no_readiness_detail_through_nginx(stack):
    # nginx replaces the client's X-Forwarded-For with the address it saw (127.0.0.2 here), which is not the
    # machine's own: status only, whatever the client claims.
    forged = stack.https("/health/ready", headers={"X-Forwarded-For": "127.0.0.1", "X-Real-IP": "127.0.0.1"})
    assert forged.status == 200
    assert json.loads(forged.body) == {"status": "ok"}
    # Control: Gunicorn asked from the machine itself gives the detail.
    direct = stack.direct("/health/ready", source="127.0.0.1")
    assert "checks" in json.loads(direct.body)
