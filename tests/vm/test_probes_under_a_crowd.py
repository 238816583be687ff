"""Health probes a crowd cannot fail: many clients probing at once through nginx, on a healthy stack with two
Gunicorn workers, all get 200 — overlapping probes share the run in flight (apps/core/health/runner.py). The same
stack's PostgreSQL sits behind a fault proxy: frozen, the probes answer 503 within their deadline; back, 200."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from urllib.parse import urlsplit

import pytest

from harness.tcp_proxy import TcpProxy
from tests.vm.conftest import running_stack

pytestmark = pytest.mark.services

CLIENTS = 8
PROBES_PER_CLIENT = 20
PATHS = ("/health/ready", "/health/")


@pytest.fixture(scope="module")
def database_proxy(site):
    url = urlsplit(site.env["DATABASE_URL"])
    with TcpProxy((url.hostname, url.port or 5432)) as proxy:
        yield proxy


@pytest.fixture(scope="module")
def stack(site, nginx_conf, database_proxy, tmp_path_factory):
    """The VM stack, its database reached through `database_proxy`."""
    url = urlsplit(site.env["DATABASE_URL"])
    credentials = url.netloc.rpartition("@")[0]
    proxied = url._replace(netloc=f"{credentials}@127.0.0.1:{database_proxy.port}").geturl()
    with running_stack(
        site, nginx_conf, tmp_path_factory.mktemp("gunicorn") / "gunicorn.log", DATABASE_URL=proxied
    ) as stack:
        yield stack


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


# The product's bound is HEALTH_CHECK_TIMEOUT (1.5 s; about 1.6 s through nginx on a quiet machine). The test allows
# 5 s more: a loaded machine delays the TLS handshake and the worker's threads, not the deadline itself.
HEALTH_CHECK_TIMEOUT, MARGIN = 1.5, 5.0


def test_a_frozen_database_fails_the_probes_within_their_deadline_and_its_return_passes_them(stack, database_proxy):
    wait_until_ready(stack)
    database_proxy.hang()  # connections open, the kept ones included, and nothing answers
    try:
        answers = []
        for number in range(8):  # enough probes that both workers answer several
            started = time.monotonic()
            response = stack.https(PATHS[number % len(PATHS)])
            answers.append((response.status, round(time.monotonic() - started, 1)))
        assert all(status == 503 for status, _ in answers), answers
        assert all(waited < HEALTH_CHECK_TIMEOUT + MARGIN for _, waited in answers), answers
    finally:
        database_proxy.forward()
    wait_until_ready(stack)  # every probe 200 again, ten in a row, without a restart
