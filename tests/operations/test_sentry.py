"""Error reporting: sentry-sdk only when SENTRY_DSN is set; events carry the request id and the release."""

from __future__ import annotations

import gzip
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from harness.ports import free_port
from harness.project import production_env, run_python
from tests.operations.conftest import fetch, folio, folio_env

IMPORTED = "import sys, config.wsgi; print('sentry_sdk' in sys.modules)"


def test_sentry_is_not_even_imported_without_a_dsn():
    result = run_python(IMPORTED, env=production_env())
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_sentry_starts_when_a_dsn_is_set():
    result = run_python(IMPORTED, env=production_env(SENTRY_DSN="http://public@127.0.0.1:9/1"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


class Ingest(BaseHTTPRequestHandler):
    """Sentry's envelope endpoint, just enough of it: keep every event item posted."""

    events: list[dict] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        lines = body.split(b"\n")
        # An envelope: a header line, then (item header, item payload) pairs.
        for header, payload in zip(lines[1::2], lines[2::2], strict=False):
            if json.loads(header).get("type") == "event":
                type(self).events.append(json.loads(payload))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def sentry_ingest():
    Ingest.events = []
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Ingest)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.services
def test_an_unhandled_error_reaches_sentry_with_the_request_id_and_release(collected_static, tmp_path, sentry_ingest):
    # An unreachable database is the unhandled error: readers get the 503 page, the team gets the event.
    port = sentry_ingest.server_address[1]
    env = folio_env(
        collected_static,
        tmp_path,
        DATABASE_URL=f"postgres://folio@127.0.0.1:{free_port()}/folio",
        SENTRY_DSN=f"http://public@127.0.0.1:{port}/8",
        SENTRY_RELEASE="folio@3f2c1e9",
        SENTRY_ENVIRONMENT="staging",
    )
    with folio(env, tmp_path) as server:
        reply = fetch(server, "/essays/any/", headers={"X-Request-ID": "sentry-check-42"})
        assert reply.status == 503
        for _ in range(100):  # sentry-sdk sends from a background thread
            if Ingest.events:
                break
            time.sleep(0.1)
        log = server.log_text()
    assert Ingest.events, log
    (event,) = Ingest.events
    tags = dict(event["tags"])  # a mapping, or a list of [key, value] pairs
    assert tags["request_id"] == "sentry-check-42"
    assert event["release"] == "folio@3f2c1e9"
    assert event["environment"] == "staging"
    assert event["exception"]["values"][-1]["type"] == "OperationalError"
    # The verbose log (the default format) carries the same id on the error line of that request.
    assert any("sentry-check-42" in line and "Service Unavailable" in line for line in log.splitlines()), log
