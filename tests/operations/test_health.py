"""The health endpoints in-process: bodies, content negotiation, caching headers, the deadline and the 503 page."""

from __future__ import annotations

import ipaddress
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import OperationalError
from django.test import Client, override_settings
from django.urls import path

from apps.core.health import runner
from apps.core.http.errors import handler500  # noqa: F401 - this module is also a URLconf: Django looks it up

pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    return Client()


def test_health_is_exactly_the_reference_json(client):
    response = client.get("/health/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content) == {"status": "ok", "database": "ok"}


def test_live_checks_nothing_but_the_process(client):
    response = client.get("/health/live")
    assert response.status_code == 200
    assert json.loads(response.content) == {"status": "ok"}


def test_ready_reports_each_check_with_its_duration(client):
    response = client.get("/health/ready")
    body = json.loads(response.content)
    assert response.status_code == 200
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "migrations", "cache", "storage"}
    for check in body["checks"].values():
        assert check["status"] == "ok"
        assert isinstance(check["duration_ms"], float | int)


@pytest.mark.parametrize("accept", ["application/json", "application/health+json"])
def test_the_public_gets_readiness_status_only(client, accept):
    response = client.get("/health/ready", REMOTE_ADDR="203.0.113.9", HTTP_ACCEPT=accept)
    assert response.status_code == 200
    assert json.loads(response.content) in ({"status": "ok"}, {"status": "pass"})


def test_a_configured_address_or_token_sees_the_detail(client, settings):
    settings.HEALTH_DETAIL_FROM = (ipaddress.ip_network("10.0.0.0/8"),)
    settings.HEALTH_DETAIL_TOKEN = "t" * 32
    assert "checks" in client.get("/health/ready", REMOTE_ADDR="10.1.2.3").json()
    assert "checks" not in client.get("/health/ready", REMOTE_ADDR="203.0.113.9").json()
    with_token = client.get("/health/ready", REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer " + "t" * 32)
    assert "checks" in with_token.json()
    wrong_token = client.get("/health/ready", REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer " + "x" * 32)
    assert "checks" not in wrong_token.json()


def test_ready_speaks_health_json_when_asked(client):
    response = client.get("/health/ready", HTTP_ACCEPT="application/health+json")
    assert response["Content-Type"] == "application/health+json"
    body = json.loads(response.content)
    assert body["status"] == "pass"
    (database,) = body["checks"]["database:responseTime"]
    assert database["status"] == "pass"
    assert database["observedUnit"] == "ms"
    assert client.get("/health/live", HTTP_ACCEPT="application/health+json").json() == {"status": "pass"}


def test_a_browser_accept_header_gets_plain_json(client):
    response = client.get("/health/ready", HTTP_ACCEPT="text/html,application/xhtml+xml,*/*;q=0.8")
    assert response["Content-Type"] == "application/json"


@pytest.mark.parametrize("url", ["/health/", "/health/live", "/health/ready"])
def test_health_answers_are_never_cached(client, url):
    assert "no-store" in client.get(url)["Cache-Control"]


def blocked_check(release: threading.Event) -> runner.Check:
    return runner.Check("hung", lambda: release.wait(30), runner.FAIL, "datastore")


def test_a_check_that_does_not_answer_fails_at_the_deadline_and_is_not_stacked():
    release = threading.Event()
    hung = blocked_check(release)
    try:
        (first,) = runner.run_checks((hung,), timeout=0.2)
        assert (first.status, first.output) == (runner.FAIL, "timeout")
        # The first run has outlived a whole deadline: the next probe fails at once instead of queueing behind it.
        started = time.monotonic()
        (second,) = runner.run_checks((hung,), timeout=0.2)
        assert time.monotonic() - started < 0.2
        assert second.status == runner.FAIL
        assert "still waiting" in second.output
    finally:
        release.set()


def test_overlapping_probes_share_the_run_in_flight(monkeypatch):
    """A crowd of probes in one process costs one run of a check, and none of them fails a healthy instance."""
    runs, joined = [], []
    gate = threading.Event()
    join_or_start = runner._join_or_start

    def counted(check, timeout):
        run = join_or_start(check, timeout)
        joined.append(run)
        return run

    def slow_but_healthy() -> None:
        runs.append(1)
        gate.wait(30)

    monkeypatch.setattr(runner, "_join_or_start", counted)
    check = runner.Check("shared", slow_but_healthy, runner.FAIL, "datastore")
    with ThreadPoolExecutor(max_workers=8) as crowd:
        probes = [crowd.submit(runner.run_checks, (check,), 30) for _ in range(8)]
        # The run answers only once all eight probes have asked for it, however slowly the machine starts them.
        deadline = time.monotonic() + 30
        while len(joined) < 8 and time.monotonic() < deadline:
            time.sleep(0.01)
        gate.set()
        results = [probe.result(timeout=30) for probe in probes]

    assert [result.status for (result,) in results] == [runner.PASS] * 8
    assert len(runs) == 1 and len({id(run) for run in joined}) == 1


def test_a_warn_check_keeps_the_instance_ready():
    def broken() -> None:
        raise ConnectionError("redis://secret-host.internal:6379 refused")

    results = runner.run_checks((runner.Check("cache", broken, runner.WARN, "datastore"),), timeout=1)
    assert runner.overall(results) == runner.WARN
    # The body names the failure's kind only: no host names or credentials from the driver's message.
    assert results[0].output == "unavailable (ConnectionError)"


def test_health_bounds_come_from_configured_timeouts(settings):
    """The "answers within 2 s" promise rests on these values, which production reads from the environment."""
    assert settings.HEALTH_CHECK_TIMEOUT < 2
    assert settings.DB_POOL_TIMEOUT <= 2
    assert settings.DATABASE_CONNECT_TIMEOUT >= 2  # libpq rounds anything lower up to 2


def failing_view(request):
    raise OperationalError("connection to server at 10.0.0.5 failed: Connection refused")


def broken_view(request):
    raise ValueError("a bug")


urlpatterns = [path("db-down/", failing_view), path("bug/", broken_view)]


@override_settings(ROOT_URLCONF=__name__, DEBUG=False)
def test_an_unreachable_database_shows_the_friendly_503_page():
    client = Client(raise_request_exception=False)
    response = client.get("/db-down/")
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    page = response.content.decode()
    assert "Folio is briefly unavailable" in page
    assert "10.0.0.5" not in page


@override_settings(ROOT_URLCONF=__name__, DEBUG=False)
def test_any_other_error_still_gets_the_500_page():
    client = Client(raise_request_exception=False)
    response = client.get("/bug/")
    assert response.status_code == 500
    assert "briefly unavailable" not in response.content.decode()
