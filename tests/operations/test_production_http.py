"""Production settings under Gunicorn, over HTTP: probes, security headers, request ids and JSON log lines."""

from __future__ import annotations

import json
import re
import secrets
from datetime import datetime

import pytest

from tests.operations.conftest import ADMIN_URL, fetch, folio, folio_env, wait_until_ready

pytestmark = pytest.mark.services

SITE = "folio.example.org"


@pytest.fixture(scope="module")
def https_site(site_dir, collected_static, sqlite_url):
    """HTTPS-only production: redirect on, ALLOWED_HOSTS the real domain only, TLS ended by a proxy in front."""
    tmp_path = site_dir
    env = folio_env(
        collected_static,
        tmp_path,
        DATABASE_URL=sqlite_url,
        ALLOWED_HOSTS=SITE,
        SECURE_SSL_REDIRECT="true",
        BEHIND_PROXY="true",
        SECURE_HSTS_PRELOAD="true",
        LOG_FORMAT="json",
    )
    with folio(env, tmp_path) as server:
        wait_until_ready(server)
        yield server


@pytest.mark.parametrize("host", ["localhost", "10.42.0.17", "127.0.0.1:8000", "unknown.invalid"])
def test_probes_get_the_real_answer_over_plain_http_with_any_host(https_site, host):
    for path in ("/health/", "/health/live", "/health/ready"):
        reply = fetch(https_site, path, headers={"Host": host})
        assert reply.status == 200, (path, reply.status, reply.text)
        assert "no-store" in reply.headers["Cache-Control"]
    assert json.loads(fetch(https_site, "/health/", headers={"Host": host}).body) == {"status": "ok", "database": "ok"}


def test_head_gets_get_headers_and_no_body_and_leaves_no_warning_in_the_log(https_site):
    rid = f"head-{secrets.token_hex(8)}"
    for path in ("/health/live", "/health/"):
        get = fetch(https_site, path)
        head = fetch(https_site, path, method="HEAD", headers={"X-Request-ID": rid})
        assert (head.status, head.body) == (get.status, b"")
        assert head.headers["Content-Type"] == get.headers["Content-Type"]
    # The access lines of both HEADs (written after each response) are in the log, and no warning beside them.
    log = https_site.wait_for_log(rid)
    assert "no-body response" not in log


def test_a_host_outside_allowed_hosts_logs_one_line_without_a_traceback(plain_site):
    rid = f"badhost-{secrets.token_hex(8)}"
    reply = fetch(plain_site, "/", headers={"Host": "evil.example.net", "X-Request-ID": rid})

    assert reply.status == 400
    lines = [line for line in plain_site.wait_for_log(rid).splitlines() if rid in line]
    # The access line and Django's one line naming the Host; no traceback around them.
    assert len([line for line in lines if "evil.example.net" in line]) == 1, lines
    assert "Traceback" not in plain_site.log_text()


def test_a_page_with_a_host_outside_allowed_hosts_is_still_400(https_site):
    assert fetch(https_site, "/", headers={"Host": "evil.example.net", "X-Forwarded-Proto": "https"}).status == 400
    assert fetch(https_site, "/health/ready/../", headers={"Host": "evil.example.net"}).status == 400


def test_a_page_over_plain_http_still_redirects_to_https(https_site):
    reply = fetch(https_site, "/essays/some-essay/", headers={"Host": SITE})
    assert reply.status == 301
    assert reply.headers["Location"] == f"https://{SITE}/essays/some-essay/"


def test_only_get_and_head_skip_the_host_check_on_health_paths(https_site):
    reply = fetch(https_site, "/health/ready", method="POST", headers={"Host": "evil.example.net"}, body=b"")
    assert reply.status == 400


def test_pages_carry_the_security_headers_and_a_strict_csp(https_site):
    reply = fetch(https_site, "/", headers={"Host": SITE, "X-Forwarded-Proto": "https"})
    assert reply.status == 200, reply.text
    headers = reply.headers
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"
    policy = dict(part.strip().split(" ", 1) for part in headers["Content-Security-Policy"].split(";"))
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["object-src"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    assert "nonce-" not in headers["Content-Security-Policy"]


def test_cookies_are_secure_and_http_only(https_site):
    reply = fetch(https_site, f"/{ADMIN_URL}login/", headers={"Host": SITE, "X-Forwarded-Proto": "https"})
    assert reply.status == 200
    (csrf,) = [cookie for cookie in reply.cookies() if cookie.startswith("csrftoken=")]
    attributes = {part.strip().split("=")[0].lower() for part in csrf.split(";")}
    assert {"secure", "httponly"} <= attributes


def test_the_admin_lives_at_admin_url_only(https_site):
    assert fetch(https_site, "/admin/login/", headers={"Host": SITE, "X-Forwarded-Proto": "https"}).status == 404


def json_access_line(server, request_id: str) -> dict:
    lines = [json.loads(line) for line in server.log_text().splitlines() if line.startswith("{")]
    (line,) = [line for line in lines if line["request_id"] == request_id and line["logger"] == "apps.core.requests"]
    return line


@pytest.mark.parametrize(("path", "cached"), [("/robots.txt", False), ("/", True)], ids=["django", "cache-hit"])
def test_a_request_id_from_nginx_comes_back_and_is_on_the_json_log_line(https_site, path, cached):
    headers = {"Host": SITE, "X-Forwarded-Proto": "https"}
    # A cached page is answered in front of Django (apps/content/pagecache/), and each Gunicorn worker has its own
    # local-memory cache: ask until one answers from it (bounded).
    for attempt in range(60):
        request_id = f"nginx-{secrets.token_hex(4)}.{attempt}_b"  # nowhere else in this server's log
        reply = fetch(https_site, path, headers={**headers, "X-Request-ID": request_id})
        if not cached or reply.headers["X-Folio-Cache"] == "hit":
            break
    assert reply.status == 200
    assert reply.headers["X-Request-ID"] == request_id
    assert (reply.headers.get("X-Folio-Cache") == "hit") == cached
    line = json_access_line(https_site, request_id)
    assert line["level"] == "INFO"
    assert line["message"] == f"GET {path} 200"
    assert line["path"] == path
    assert line["status"] == 200
    assert isinstance(line["duration"], float | int) and line["duration"] >= 0
    assert datetime.fromisoformat(line["timestamp"]).tzinfo is not None


@pytest.mark.parametrize("sent", ["has space", "x" * 201, "semi;colon", 'quote"d', ""])
def test_a_malformed_request_id_is_replaced_by_a_fresh_one(https_site, sent):
    reply = fetch(https_site, "/health/live", headers={"X-Request-ID": sent})
    assert reply.headers["X-Request-ID"] != sent
    assert re.fullmatch(r"[0-9a-f]{32}", reply.headers["X-Request-ID"])


def test_without_a_request_id_each_request_gets_its_own(https_site):
    first = fetch(https_site, "/health/live").headers["X-Request-ID"]
    second = fetch(https_site, "/health/live").headers["X-Request-ID"]
    assert first != second
