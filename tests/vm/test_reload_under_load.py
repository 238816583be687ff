"""Gunicorn's process management under a bounded load loop through nginx: graceful reload (HUP, what
`systemctl reload folio-web` sends) loses nothing; a worker killed outright is replaced."""

from __future__ import annotations

import http.client
import os
import signal
import ssl
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import pytest

from tests.vm.conftest import CLIENT, DOMAIN

pytestmark = pytest.mark.services

CLIENTS = 4
MAX_REQUESTS_PER_CLIENT = 400
# Bounds of the loop, not of the test's verdict: on a loaded machine the same requests take several times longer.
MAX_SECONDS = 120.0
# Requests answered before the event and after it settled: the proof that the load spanned it.
AROUND_THE_EVENT = 30
CLIENT_TIMEOUT = 65.0


@dataclass
class Load:
    """Keep-alive HTTPS clients from 127.0.0.2 looping over one page until stopped, or their count or time is up."""

    port: int
    cafile: str
    path: str
    statuses: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def connect(self) -> http.client.HTTPSConnection:
        context = ssl.create_default_context(cafile=self.cafile)
        # A request waits while the new workers boot; on a loaded 2-core machine that took over 15 s. A slow answer
        # is not a failed one: the client gives up only when nginx would (proxy_read_timeout, 60 s).
        return http.client.HTTPSConnection(
            "127.0.0.1", self.port, context=context, timeout=CLIENT_TIMEOUT, source_address=(CLIENT, 0)
        )

    def client(self) -> None:
        conn = self.connect()
        deadline = time.monotonic() + MAX_SECONDS
        for _ in range(MAX_REQUESTS_PER_CLIENT):
            if self.stop.is_set() or time.monotonic() > deadline:
                break
            try:
                conn.request("GET", self.path, headers={"Host": DOMAIN})
                response = conn.getresponse()
                response.read()
                with self.lock:
                    self.statuses[response.status] += 1
            except (OSError, http.client.HTTPException) as exc:
                with self.lock:
                    self.errors.append(repr(exc))
                conn.close()
                conn = self.connect()
        conn.close()

    def total(self) -> int:
        with self.lock:
            return sum(self.statuses.values()) + len(self.errors)

    def wait_for(self, count: int, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while self.total() < count and time.monotonic() < deadline:
            time.sleep(0.05)

    def failures(self) -> int:
        return len(self.errors) + sum(n for status, n in self.statuses.items() if status != 200)

    def run(self, during) -> tuple[int, int]:
        """Start the clients, call `during()` once traffic flows and until the event has settled, then let them run
        on and stop. Returns how many requests were answered before the event and after it settled."""
        threads = [threading.Thread(target=self.client, daemon=True) for _ in range(CLIENTS)]
        for thread in threads:
            thread.start()
        try:
            self.wait_for(AROUND_THE_EVENT)
            before = self.total()
            during()
            settled = self.total()
            self.wait_for(settled + AROUND_THE_EVENT)
            return before, self.total() - settled
        finally:
            self.stop.set()
            for thread in threads:
                thread.join(timeout=MAX_SECONDS + CLIENT_TIMEOUT + 5)


def test_graceful_reload_under_load_fails_no_request(stack):
    before = stack.gunicorn.worker_pids()
    load = Load(stack.site.https_port, str(stack.site.cert), f"/essays/{stack.site.first_slug}/")

    def reload() -> None:
        os.kill(stack.gunicorn.process.pid, signal.SIGHUP)
        stack.gunicorn.wait_for_workers(len(before), exclude=before)

    answered_before, answered_after = load.run(reload)
    assert stack.gunicorn.worker_pids().isdisjoint(before), "HUP should replace every worker"
    # The reload happened inside the load: requests were answered before the HUP and by the new workers after it.
    assert answered_before >= AROUND_THE_EVENT and answered_after >= AROUND_THE_EVENT, load.statuses
    assert load.failures() == 0, (load.statuses, load.errors[:5])


def test_a_worker_killed_mid_load_is_replaced(stack, artifacts_dir):
    before = stack.gunicorn.worker_pids()
    victim = min(before)
    load = Load(stack.site.https_port, str(stack.site.cert), f"/essays/{stack.site.first_slug}/")

    def kill_one() -> None:
        os.kill(victim, signal.SIGKILL)
        stack.gunicorn.wait_for_workers(len(before), exclude={victim})

    answered_before, answered_after = load.run(kill_one)
    assert answered_before >= AROUND_THE_EVENT and answered_after >= AROUND_THE_EVENT, load.statuses
    after = stack.gunicorn.worker_pids()
    assert victim not in after and len(after) == len(before)
    report = f"worker SIGKILL under load: {load.failures()} failed of {load.total()} requests {dict(load.statuses)}\n"
    (artifacts_dir / "vm-worker-kill.txt").write_text(report + "".join(f"  {error}\n" for error in load.errors))
    print(report)  # the issue asks for the error count to be reported
    # Only requests in flight on the killed worker can be lost: at most one per client connection.
    assert load.failures() <= CLIENTS, (load.statuses, load.errors[:5])
    assert load.statuses[200] >= load.total() - CLIENTS
