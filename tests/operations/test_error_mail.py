"""Error mail through the real thing: production settings under Gunicorn, a real SMTP server (aiosmtpd) on loopback.

The error is a classic deploy mistake rather than test-only code: STATIC_ROOT was collected before the templates
started using a file, so its manifest lacks the entry and every page built on base.html raises "Missing
staticfiles manifest entry" (the 500 page's own frame, error_base.html, does not use that file, so it renders).
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import json
import secrets
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from harness.ports import free_port
from harness.project import ROOT
from harness.redis import redis_for_folio
from tests.operations.conftest import fetch, folio, folio_env, wait_until_ready
from tests.operations.test_unreadable_requests import HOSTILE

pytestmark = pytest.mark.services

# Referenced by base.html (every reader's page) and not by error_base.html (the 500 page).
MISSING = "img/favicon.svg"
ADMIN = "ops@example.org"
SESSION = "s3ss10n" + secrets.token_hex(12)
# A database of its own on the shared Redis; this file's keys are deleted afterwards, never FLUSHDB.
REDIS_DB = 12


@dataclass
class Received:
    recipients: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def body(self) -> str:
        return self.message.get_body(preferencelist=("plain",)).get_content()


class Inbox:
    """aiosmtpd's handler: keeps every message delivered, as the mail server of ADMINS would."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._received: list[Received] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self._received.append(Received(list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    def wait_for(self, count: int, *, within: float = 30.0) -> list[Received]:
        deadline = time.monotonic() + within
        while len(received := self.received()) < count:
            assert time.monotonic() < deadline, f"{len(received)} of {count} mails within {within:.0f} s"
            time.sleep(0.05)
        return received


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    # The controller checks the server answers before returning; 30 s instead of 5 for a loaded machine.
    controller = Controller(inbox, hostname="127.0.0.1", port=port, ready_timeout=30)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


class SilentSmtp:
    """Accepts TCP connections and never says a word: an SMTP server that hangs (a stuck relay, a firewall that
    swallows the traffic after the handshake). Counts the connections, so a test knows the mail was attempted."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._accepted: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return  # closed
            self._accepted.append(connection)

    @property
    def accepted(self) -> int:
        return len(self._accepted)

    def close(self) -> None:
        self._listener.close()
        self._thread.join(timeout=5)
        for connection in self._accepted:
            connection.close()


@pytest.fixture(scope="module")
def stale_static(collected_static, tmp_path_factory) -> Path:
    """A STATIC_ROOT collected before base.html started using MISSING: its manifest has no entry for it."""
    assert MISSING in (ROOT / "templates" / "base.html").read_text(encoding="utf-8")
    assert MISSING not in (ROOT / "templates" / "error_base.html").read_text(encoding="utf-8")
    root = tmp_path_factory.mktemp("stale-static")
    shutil.copytree(collected_static, root, dirs_exist_ok=True)
    manifest_path = root / "staticfiles.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    del manifest["paths"][MISSING]
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    return root


def mailing_env(stale_static: Path, site_dir: Path, sqlite_url: str, email_url: str, **overrides: str):
    return folio_env(
        stale_static,
        site_dir,
        DATABASE_URL=sqlite_url,
        ADMINS=f"Folio Ops <{ADMIN}>",
        EMAIL_URL=email_url,
        SERVER_EMAIL="folio@example.org",
        **overrides,
    )


def test_an_unhandled_error_mails_the_admins_once_with_the_request_id(
    smtp, stale_static, site_dir, sqlite_url, tmp_path
):
    inbox, port = smtp
    env = mailing_env(stale_static, site_dir, sqlite_url, f"smtp://127.0.0.1:{port}")
    with folio(env, tmp_path) as server:
        wait_until_ready(server)
        # A reader who is logged in: the session cookie must not travel in the mail.
        reply = fetch(server, "/", headers={"Cookie": f"sessionid={SESSION}; theme=dark"})

    assert reply.status == 500, reply.text
    assert "Something went wrong on our side" in reply.text
    request_id = reply.headers["X-Request-ID"]
    assert request_id
    # Sent in the failing request's thread before it answered: every mail of this request is in by now.
    (mail,) = inbox.wait_for(1)
    assert mail.recipients == [ADMIN]
    assert mail.message["From"] == "folio@example.org"
    assert mail.subject.startswith("[Folio] ERROR")
    assert "Internal Server Error: /" in mail.subject
    assert f"request id {request_id}" in mail.subject
    assert f"request id {request_id}" in mail.body
    assert f"Missing staticfiles manifest entry for '{MISSING}'" in mail.body
    assert SESSION not in mail.body and "dark" not in mail.body
    assert "sessionid = '********************'" in mail.body


def test_a_hanging_mail_server_delays_the_500_by_the_email_timeout_only(stale_static, site_dir, sqlite_url, tmp_path):
    timeout = 1.0
    # A 500 here takes well under a second; 10 s more covers a worker thread starved on a loaded 2-core machine.
    # Without EMAIL_TIMEOUT the wait has no end at all (a gthread worker keeps its heartbeat while one thread hangs,
    # so Gunicorn's timeout never fires): the client's 120 s timeout then fails the test.
    margin = 10.0
    silent = SilentSmtp()
    try:
        env = mailing_env(stale_static, site_dir, sqlite_url, f"smtp://127.0.0.1:{silent.port}?timeout={timeout:g}")
        with folio(env, tmp_path) as server:
            wait_until_ready(server)
            started = time.monotonic()
            reply = fetch(server, "/", timeout=120)
            took = time.monotonic() - started
        assert reply.status == 500, reply.text
        # The mail was attempted inside this request: the server got the connection, and the 500 waited for it.
        assert silent.accepted >= 1
        assert took >= timeout * 0.9, f"answered in {took:.2f} s: the mail was not sent while the request waited"
        assert took < timeout + margin, f"the 500 took {took:.1f} s with EMAIL_TIMEOUT={timeout:g} s"
    finally:
        silent.close()


LIMIT = 3
WORKERS = 2
ERRORS = 100


@pytest.mark.parametrize(
    ("counted", "at_least", "at_most"),
    [
        # Shared through Redis: every worker draws from one count.
        ("redis", 1, LIMIT),
        # Each worker counts alone: one of them served at least half the errors, so it sent its LIMIT.
        ("per-process", LIMIT, LIMIT * WORKERS),
        # REDIS_URL set but nobody answers: each worker counts alone again, neither unthrottled nor silenced.
        ("redis-down", LIMIT, LIMIT * WORKERS),
    ],
)
def test_a_hundred_identical_errors_send_a_handful_of_mails(
    smtp, stale_static, site_dir, sqlite_url, tmp_path, counted, at_least, at_most
):
    inbox, port = smtp
    with contextlib.ExitStack() as stack:
        cache = {
            "redis": lambda: stack.enter_context(redis_for_folio(REDIS_DB)),
            "per-process": dict,
            "redis-down": lambda: {"REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"},
        }[counted]()
        env = mailing_env(
            stale_static,
            site_dir,
            sqlite_url,
            f"smtp://127.0.0.1:{port}",
            ERROR_MAIL_LIMIT=str(LIMIT),
            WEB_CONCURRENCY=str(WORKERS),
            **cache,
        )
        server = stack.enter_context(folio(env, tmp_path))
        wait_until_ready(server)
        # Four clients at once, so both workers take their share as they would behind nginx.
        with ThreadPoolExecutor(max_workers=4) as clients:
            statuses = list(clients.map(lambda n: fetch(server, f"/?n={n}").status, range(ERRORS)))

    assert statuses == [500] * ERRORS
    received = inbox.received()
    assert at_least <= len(received) <= at_most, [mail.subject for mail in received]
    assert all("Missing staticfiles manifest entry" in mail.body for mail in received)


def test_a_bad_host_a_hostile_header_and_other_4xx_send_no_mail(smtp, stale_static, site_dir, sqlite_url, tmp_path):
    inbox, port = smtp
    env = mailing_env(stale_static, site_dir, sqlite_url, f"smtp://127.0.0.1:{port}")
    with folio(env, tmp_path) as server:
        wait_until_ready(server)
        bad_host = fetch(server, "/", headers={"Host": "attacker.example.net"})
        hostile = [
            fetch(server, "/" + query, headers={"Content-Type": content_type}) for content_type, query in HOSTILE
        ]
        # No CSRF token: a 403 from Django's own page.
        forbidden = fetch(server, "/", method="POST", body=b"x=1")
        received_before_the_error = inbox.received()
        # The same site, mailing: without this a broken mail set-up would pass the test too.
        error = fetch(server, "/")
        log = server.log_text()

    assert bad_host.status == 400
    assert "Invalid HTTP_HOST header" in log
    assert [reply.status for reply in hostile] == [400] * len(HOSTILE)
    assert forbidden.status == 403
    assert received_before_the_error == []
    assert error.status == 500
    (mail,) = inbox.wait_for(1)
    assert error.headers["X-Request-ID"] in mail.subject


def test_a_database_outage_is_mailed_and_a_failing_readiness_probe_is_not(smtp, collected_static, tmp_path):
    inbox, port = smtp
    env = folio_env(
        collected_static,
        tmp_path,
        # Nobody listens there: every page is handler500's 503, and so is /health/ready, on purpose.
        DATABASE_URL=f"postgres://folio@127.0.0.1:{free_port()}/folio",
        ADMINS=ADMIN,
        EMAIL_URL=f"smtp://127.0.0.1:{port}",
    )
    with folio(env, tmp_path) as server:
        probes = [fetch(server, "/health/ready") for _ in range(3)]
        # Logged at ERROR like any 5xx, but no exception: the probe answered what it should.
        received_after_the_probes = inbox.received()
        page = fetch(server, "/essays/any/")

    assert [probe.status for probe in probes] == [503] * 3
    assert received_after_the_probes == []
    assert page.status == 503
    (mail,) = inbox.wait_for(1)
    assert "Service Unavailable: /essays/any/" in mail.subject
    assert f"request id {page.headers['X-Request-ID']}" in mail.subject
    assert "OperationalError" in mail.body
