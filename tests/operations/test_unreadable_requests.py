"""Headers Django cannot read while it builds the request object: a 400 from Folio's stack with a request id and
one WARNING line, never Gunicorn's bare 500 with a traceback."""

from __future__ import annotations

import secrets

import pytest

from tests.operations.conftest import fetch

pytestmark = pytest.mark.services

HOSTILE = [
    # A codec that is not a text encoding: LookupError once the query string is decoded with it.
    ("text/plain; charset=hex", "?page=2"),
    ("text/plain; charset=rot13", "?x=1"),
    ("text/plain; charset=base64", "?x=1"),
    ("text/plain; charset=zlib", "?x=1"),
    # An RFC 2231 parameter Django cannot parse: ValueError on any request.
    ("text/html; charset*=BOGUS''x", ""),
]
PATHS = ["/", "/health/live", "/essays/some-essay/"]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(("content_type", "query"), HOSTILE, ids=lambda value: value.split(";")[-1].strip() or "-")
def test_an_unreadable_content_type_is_a_400_with_one_warning_line(plain_site, path, content_type, query):
    rid = f"hostile-{secrets.token_hex(8)}"
    reply = fetch(plain_site, path + query, headers={"Content-Type": content_type, "X-Request-ID": rid})

    assert reply.status == 400, reply.text
    assert reply.headers["X-Request-ID"] == rid
    log = plain_site.wait_for_log(rid)
    lines = [line for line in log.splitlines() if rid in line]
    warnings = [line for line in lines if "cannot be read" in line]
    assert len(warnings) == 1, lines
    assert "Traceback" not in log and "Internal Server Error" not in log
