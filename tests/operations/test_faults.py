"""Outages of the real PostgreSQL and Redis, seen through a production Folio under Gunicorn.

Both dependencies sit behind a TcpProxy the test switches between forward, hang (accepts, never answers: a frozen
server) and refuse (a stopped one). Timing is not asserted: what bounds the probes is the configuration, which
test_health_bounds_come_from_configured_timeouts checks; here we assert what a client sees.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from apps.content.models import Essay
from apps.users.models import User
from harness.availability import unavailable
from harness.ports import port_open
from harness.tcp_proxy import TcpProxy
from tests.operations.conftest import ADMIN_URL, Reply, fetch, folio, folio_env

pytestmark = [pytest.mark.postgres, pytest.mark.services, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple 8"
FRIENDLY = "Folio is briefly unavailable"
# Seconds; every server here gets it, so a hanging database fails a new connection quickly.
CONNECT_TIMEOUT = 2


@pytest.fixture
def postgres_proxy():
    with TcpProxy(("127.0.0.1", int(connection.settings_dict["PORT"] or 5432))) as proxy:
        yield proxy


@pytest.fixture
def redis_proxy():
    if not port_open("127.0.0.1", 6379):
        unavailable("Redis is not running at 127.0.0.1:6379")
    with TcpProxy(("127.0.0.1", 6379)) as proxy:
        yield proxy


@pytest.fixture
def essays():
    # Hashed the way the server (production settings) can verify, not with the suite's fast MD5.
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.PBKDF2PasswordHasher"]):
        author = User.objects.create_superuser("editor", "editor@example.org", PASSWORD)
    published = timezone.now() - timedelta(days=1)
    return [
        Essay.objects.create(
            title=f"Essay {n}",
            slug=f"essay-{n}",
            body=f"Body of essay {n}, written before the outage.",
            author=author,
            status=Essay.Status.PUBLISHED,
            published_at=published,
        )
        for n in range(6)
    ]


def server_env(collected_static, tmp_path, postgres_proxy, redis_proxy, **overrides):
    settings = connection.settings_dict
    return folio_env(
        collected_static,
        tmp_path,
        DATABASE_URL=f"postgres://{settings['USER']}@127.0.0.1:{postgres_proxy.port}/{settings['NAME']}",
        REDIS_URL=f"redis://127.0.0.1:{redis_proxy.port}/8",
        # Each test's own cache: a page an earlier test cached would be answered without the database.
        CACHE_KEY_PREFIX=f"faults-{uuid.uuid4().hex}",
        DATABASE_CONNECT_TIMEOUT=str(CONNECT_TIMEOUT),
        **overrides,
    )


def health(server, path: str) -> tuple[int, dict]:
    reply = fetch(server, path)
    return reply.status, json.loads(reply.body)


def assert_database_outage_handled(server, page: str, *, hanging: bool) -> None:
    status, body = health(server, "/health/")
    assert (status, body) == (503, {"status": "degraded", "database": "error"})
    status, body = health(server, "/health/ready")
    assert status == 503
    assert body["status"] == "error"
    database = body["checks"]["database"]
    assert database["status"] == "error"
    # A hanging database is cut off by the checks' deadline (HEALTH_CHECK_TIMEOUT, under 2 s), not by a connect
    # timeout; a refusing one fails on its own, at once, and never reaches the deadline.
    assert database["output"].startswith("timeout") == hanging, database
    assert health(server, "/health/live") == (200, {"status": "ok"})
    reply = fetch(server, page)
    assert reply.status == 503
    assert FRIENDLY in reply.text
    assert "Traceback" not in reply.text
    assert reply.headers["Retry-After"]


def eventually(probe, *, attempts: int = 50):
    """The probe's last answer once it is truthy, polling a bounded number of times (0.2 s apart)."""
    for _ in range(attempts):
        if answer := probe():
            return answer
        time.sleep(0.2)
    return probe()


def assert_recovered(server, page: str, workers: set[int]) -> None:
    # A check that was waiting on the dead connection may still be finishing: poll, don't race it.
    assert eventually(lambda: health(server, "/health/") == (200, {"status": "ok", "database": "ok"}))
    status, body = health(server, "/health/ready")
    assert status == 200, body
    assert body["checks"]["database"]["status"] == "ok"
    assert fetch(server, page).status == 200
    # The same worker process served before, during and after: nothing was restarted to recover.
    assert server.worker_pids() == workers


def test_database_hanging_gives_503s_then_the_same_process_recovers(
    collected_static, tmp_path, postgres_proxy, redis_proxy, essays
):
    # Every request opens its own connection here: a connection opened before a hang is not bounded by
    # connect_timeout (see README, "Operations"), which is why the health checks use their own.
    env = server_env(collected_static, tmp_path, postgres_proxy, redis_proxy, CONN_MAX_AGE="0")
    with folio(env, tmp_path) as server:
        workers = server.worker_pids()
        assert fetch(server, "/essays/essay-0/").status == 200
        postgres_proxy.hang()
        assert_database_outage_handled(server, "/essays/essay-1/", hanging=True)
        # Probes keep coming while the database hangs; each still answers (no thread pile-up blocks them).
        for _ in range(3):
            assert health(server, "/health/")[0] == 503
        postgres_proxy.forward()
        assert_recovered(server, "/essays/essay-2/", workers)


# The bound under test (config/query_deadline.py): DB_QUERY_DEADLINE plus the reconnect's connect timeout.
QUERY_DEADLINE = 3
# The product answers within 5 s here (the issue asks at most 10 s of the defaults, which give 8 s); the rest of
# the 10 s is the test's margin for a loaded machine, whose timers fire late but whose sockets do not hang.
ANSWER_WITHIN = 10


def test_a_page_on_a_kept_open_connection_to_a_frozen_database_is_a_503_within_the_deadline(
    collected_static, tmp_path, postgres_proxy, redis_proxy, essays
):
    # One worker with one thread, its connection kept open: the frozen database's kernel still acknowledges, so
    # no TCP limit fires; only the query deadline frees the thread, which the next requests prove.
    env = server_env(
        collected_static,
        tmp_path,
        postgres_proxy,
        redis_proxy,
        CONN_MAX_AGE="600",
        GUNICORN_THREADS="1",
        DB_QUERY_DEADLINE=str(QUERY_DEADLINE),
    )
    with folio(env, tmp_path) as server:
        workers = server.worker_pids()
        assert fetch(server, "/essays/essay-0/").status == 200  # opens the connection the freeze will strand
        postgres_proxy.hang()
        started = time.monotonic()
        reply = fetch(server, "/essays/essay-1/", timeout=60)
        waited = time.monotonic() - started
        assert reply.status == 503
        assert FRIENDLY in reply.text
        assert QUERY_DEADLINE <= waited < ANSWER_WITHIN, f"answered after {waited:.1f} s"
        assert "no answer within 3 s, connection closed (DB_QUERY_DEADLINE)" in server.log_text()
        # The only thread is free again: it answers at once (no database) and, once the database is back, pages.
        assert fetch(server, "/health/live", timeout=10).status == 200
        postgres_proxy.forward()
        assert fetch(server, "/essays/essay-2/").status == 200
        assert server.worker_pids() == workers  # nothing was restarted to recover


def test_database_refusing_gives_503s_then_the_same_process_recovers(
    collected_static, tmp_path, postgres_proxy, redis_proxy, essays
):
    # Persistent connections (the VM default): the outage cuts them; Django must notice and reconnect after.
    env = server_env(collected_static, tmp_path, postgres_proxy, redis_proxy, CONN_MAX_AGE="60")
    with folio(env, tmp_path) as server:
        workers = server.worker_pids()
        assert fetch(server, "/essays/essay-0/").status == 200
        postgres_proxy.refuse()
        assert_database_outage_handled(server, "/essays/essay-1/", hanging=False)
        postgres_proxy.forward()
        assert_recovered(server, "/essays/essay-2/", workers)


@pytest.mark.parametrize("outage", ["hang", "refuse"])
def test_redis_down_pages_still_served_and_readiness_warns(
    collected_static, tmp_path, postgres_proxy, redis_proxy, essays, outage
):
    env = server_env(collected_static, tmp_path, postgres_proxy, redis_proxy)
    with folio(env, tmp_path) as server:
        # The first probe also imports the Redis client and loads the migration graph: on a busy machine it may
        # outlast the deadline once, which is the deadline doing its job.
        assert eventually(lambda: health(server, "/health/ready")[1]["checks"]["cache"]["status"] == "ok")
        getattr(redis_proxy, outage)()
        assert fetch(server, "/").status == 200
        assert fetch(server, "/essays/essay-3/").status == 200
        status, body = health(server, "/health/ready")
        assert status == 200
        assert body["status"] == "warn"
        assert body["checks"]["cache"]["status"] == "warn"
        assert body["checks"]["database"]["status"] == "ok"
        reply = fetch(server, "/health/ready", headers={"Accept": "application/health+json"})
        assert json.loads(reply.body)["checks"]["cache:responseTime"][0]["status"] == "warn"


def cookie_header(*replies: Reply) -> str:
    jar = {}
    for reply in replies:
        for cookie in reply.cookies():
            name, _, rest = cookie.partition("=")
            jar[name] = rest.split(";", 1)[0]
    return "; ".join(f"{name}={value}" for name, value in jar.items())


def log_in(server) -> str:
    login = fetch(server, f"/{ADMIN_URL}login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text).group(1)
    form = urlencode({"username": "editor", "password": PASSWORD, "csrfmiddlewaretoken": token}).encode()
    reply = fetch(
        server,
        f"/{ADMIN_URL}login/?next=/{ADMIN_URL}",
        method="POST",
        body=form,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie_header(login)},
    )
    assert reply.status == 302, reply.text[:500]
    return cookie_header(login, reply)


def test_nothing_is_lost_an_edit_during_the_outage_fails_and_writes_nothing(
    collected_static, tmp_path, postgres_proxy, redis_proxy, essays
):
    essay = essays[4]
    before = Essay.objects.values().get(pk=essay.pk)
    env = server_env(collected_static, tmp_path, postgres_proxy, redis_proxy, CONN_MAX_AGE="0")
    with folio(env, tmp_path) as server:
        cookies = log_in(server)
        change = f"/{ADMIN_URL}content/essay/{essay.pk}/change/"
        form_page = fetch(server, change, headers={"Cookie": cookies})
        assert form_page.status == 200
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form_page.text).group(1)
        edit = urlencode(
            {
                "csrfmiddlewaretoken": token,
                "title": "Rewritten during the outage",
                "slug": essay.slug,
                "author": essay.author_id,
                "body": "This text must never reach the database.",
                "status": "published",
                "published_at_0": before["published_at"].strftime("%Y-%m-%d"),
                "published_at_1": before["published_at"].strftime("%H:%M:%S"),
                "_save": "Save",
            }
        ).encode()
        postgres_proxy.refuse()
        reply = fetch(
            server,
            change,
            method="POST",
            body=edit,
            headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookies},
        )
        assert reply.status == 503
        assert FRIENDLY in reply.text
        postgres_proxy.forward()
        assert Essay.objects.values().get(pk=essay.pk) == before
        page = fetch(server, f"/essays/{essay.slug}/")
        assert page.status == 200
        assert "written before the outage" in page.text
        assert "never reach the database" not in page.text
