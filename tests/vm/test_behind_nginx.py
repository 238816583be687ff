"""The VM deployment through the real servers: nginx (Debian) with the rendered site in front of Gunicorn with
gunicorn.conf.py, Folio's production settings, a client at 127.0.0.2."""

from __future__ import annotations

import http.client
import re
import secrets
import socket
import ssl

import pytest

from apps.core.deploy.nginx import LOGIN_RETRY_AFTER
from harness.processes import lines_logged, read_log
from tests.vm.conftest import ADMIN_URL, CLIENT, DOMAIN

pytestmark = pytest.mark.services

# Django's CSRF failure page says this only when it considers the request secure (HTTPS demands a Referer).
HTTPS_ONLY_CSRF_TEXT = "this HTTPS site requires a"
# What nginx says instead of the static files' max-age WhiteNoise would send (ten years).
NGINX_STATIC_MAX_AGE = "max-age=2592000"


def probe() -> str:
    return secrets.token_hex(6)


def access_lines(stack, marker: str, *, expected: int = 1, wait: float = 30.0, server: str = "gunicorn") -> list[str]:
    """Gunicorn's (or nginx's) access lines for `marker`, once `expected` of them are there (bounded): two
    requests' lines can land in either order and at different times."""
    if server == "nginx":
        return lines_logged(read_log(stack.nginx.conf.parent / "logs" / "folio.access.log", tail=10**9), marker,
                            expected=expected, within=wait)  # fmt: skip
    return lines_logged(stack.gunicorn.log_text, marker, expected=expected, within=wait)


def test_plain_http_is_redirected_permanently_to_https(stack):
    response = stack.http(f"/essays/{stack.site.first_slug}/?x=1")
    assert response.status == 301
    assert (
        response.header("Location") == f"https://{DOMAIN}:{stack.site.https_port}/essays/{stack.site.first_slug}/?x=1"
    )


def test_essay_page_over_https_is_served_with_one_set_of_security_headers(stack):
    response = stack.https(f"/essays/{stack.site.first_slug}/")
    assert response.status == 200
    assert "<article" in response.text or "<h1" in response.text
    [hsts] = response.all("Strict-Transport-Security")
    assert hsts.startswith("max-age=31536000")
    assert response.all("X-Content-Type-Options") == ["nosniff"]


def test_django_sees_https_and_logs_the_client_address_behind_nginx(stack):
    marker = probe()
    page = stack.https(f"/essays/{stack.site.first_slug}/?probe={marker}")
    # A POST without Referer fails CSRF; only a request Django takes for HTTPS fails for the missing Referer.
    posted = stack.https(f"/{ADMIN_URL}login/?probe={marker}", method="POST", body=b"a=b")
    assert page.status == 200
    assert posted.status == 403
    assert HTTPS_ONLY_CSRF_TEXT in posted.text
    lines = access_lines(stack, marker, expected=2)
    assert len(lines) == 2, stack.gunicorn.log_text()
    assert all(line.startswith(f"{CLIENT} ") for line in lines), lines


def test_a_forged_x_forwarded_for_through_nginx_does_not_change_the_logged_client(stack):
    marker = probe()
    response = stack.https(f"/?probe={marker}", headers={"X-Forwarded-For": "203.0.113.9", "X-Real-IP": "203.0.113.9"})
    assert response.status == 200
    [line] = access_lines(stack, marker)
    assert line.startswith(f"{CLIENT} ")
    assert "203.0.113.9" not in line


def test_x_forwarded_proto_sent_straight_to_gunicorn_is_ignored(stack):
    forged = {"X-Forwarded-Proto": "https", "X-Forwarded-Ssl": "on"}
    page = f"/essays/{stack.site.first_slug}/"
    response = stack.direct(page, headers=forged)
    # Plain HTTP as far as Django is concerned, so SECURE_SSL_REDIRECT sends the client to HTTPS.
    assert response.status == 301
    assert response.header("Location") == f"https://{DOMAIN}{page}"


def test_the_same_x_forwarded_proto_from_the_proxy_address_is_believed(stack):
    # The control for the test above: from 127.0.0.1, where nginx connects from, the header is what nginx says.
    forged = {"X-Forwarded-Proto": "https", "X-Forwarded-Ssl": "on"}
    response = stack.direct(f"/essays/{stack.site.first_slug}/", headers=forged, source="127.0.0.1")
    assert response.status == 200


def test_x_forwarded_for_sent_straight_to_gunicorn_is_ignored(stack):
    marker = probe()
    forged = {"X-Forwarded-For": "203.0.113.9", "X-Real-IP": "203.0.113.9"}
    stack.direct(f"/health/live?probe={marker}", headers=forged)
    [line] = access_lines(stack, marker)
    assert line.startswith(f"{CLIENT} ")
    assert "203.0.113.9" not in line


def test_hashed_static_file_is_served_by_nginx_as_immutable_with_hsts(stack):
    hashed = stack.site.hashed_static("css/folio.css")
    assert re.search(r"\.[0-9a-f]{12}\.css$", hashed)
    response = stack.https(f"/static/{hashed}")
    assert response.status == 200
    assert response.header("Content-Type").startswith("text/css")
    assert response.all("Cache-Control") == [f"public, {NGINX_STATIC_MAX_AGE}, immutable"]
    assert response.header("Strict-Transport-Security").startswith("max-age=31536000")
    assert response.header("Server").startswith("nginx")
    # Not Django's (WhiteNoise's) answer: Gunicorn never saw the request.
    assert not access_lines(stack, f"/static/{hashed}", wait=5.0)  # a line that must never come: a short look


def test_unhashed_static_file_is_cached_but_not_immutable(stack):
    response = stack.https("/static/css/folio.css")
    assert response.status == 200
    assert response.header("Cache-Control") == NGINX_STATIC_MAX_AGE
    assert "immutable" not in response.header("Cache-Control")
    assert response.header("Strict-Transport-Security").startswith("max-age=31536000")
    assert not access_lines(stack, "/static/css/folio.css", wait=5.0)


def test_static_files_are_sent_gzipped_from_the_precompressed_copy(stack):
    hashed = stack.site.hashed_static("css/folio.css")
    response = stack.https(f"/static/{hashed}", headers={"Accept-Encoding": "gzip"})
    assert response.status == 200
    assert response.header("Content-Encoding") == "gzip"
    assert response.body == (stack.site.static_root / f"{hashed}.gz").read_bytes()


def test_uploads_that_are_not_images_are_forced_to_download(stack):
    (stack.site.media_root / "notes.html").write_text("<script>alert(1)</script>")
    (stack.site.media_root / "cover.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    page = stack.https("/media/notes.html")
    image = stack.https("/media/cover.png")
    assert page.status == image.status == 200
    assert page.header("Content-Disposition") == "attachment"
    assert image.header("Content-Disposition") is None
    for response in (page, image):
        assert response.header("X-Content-Type-Options") == "nosniff"
        assert response.header("Cache-Control") == "max-age=604800"
        assert response.header("Strict-Transport-Security").startswith("max-age=31536000")


def test_a_21_mb_post_is_refused_by_nginx_with_413(stack):
    conn_response = stack.https(
        "/", method="POST", headers={"Content-Length": str(21 * 1024 * 1024), "Content-Type": "text/plain"}
    )
    assert conn_response.status == 413
    assert conn_response.header("Strict-Transport-Security").startswith("max-age=31536000")


def test_a_post_under_the_limit_reaches_django(stack):
    # A same-origin form post with a CSRF cookie but no token: Django reads the whole 1 MB body looking for the
    # token, then refuses. (Refused on the missing Referer instead, the body would go unread, and Gunicorn
    # closing a connection with unread input can turn Django's 403 into nginx's 502.)
    response = stack.https(
        f"/{ADMIN_URL}login/",
        method="POST",
        body=b"x" * (1024 * 1024),
        headers={
            "Origin": f"https://{DOMAIN}",
            "Cookie": "csrftoken=" + "a" * 32,
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert response.status == 403  # Django's CSRF check, not nginx's size limit
    assert b"CSRF" in response.body


@pytest.mark.parametrize("scheme", ["https", "http"])
def test_a_host_this_site_does_not_serve_is_refused_by_nginx_and_never_reaches_gunicorn(stack, scheme):
    marker = f"/?stray={secrets.token_hex(8)}"
    # 444: nginx closes the connection without an answer.
    with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError)):
        getattr(stack, scheme)(marker, host_header="evil.example")
    # Control: the same request with the site's name is served, and only it reaches Gunicorn's access log.
    served = f"/?served={secrets.token_hex(8)}"
    assert getattr(stack, scheme)(served).status in (200, 301)
    if scheme == "https":
        stack.gunicorn.wait_for_log(served)
    assert marker not in stack.gunicorn.log_text()


def test_django_still_refuses_a_host_outside_allowed_hosts_reaching_it_directly(stack):
    response = stack.direct("/", host_header="evil.example")
    assert response.status == 400


def test_health_answers_200_through_nginx(stack):
    response = stack.https("/health/")
    assert response.status == 200
    assert response.header("Content-Type") == "application/json"


def test_admin_login_attempts_are_rate_limited_per_client(stack):
    responses = [stack.https(f"/{ADMIN_URL}login/", method="POST", body=b"a=b") for _ in range(12)]
    statuses = [response.status for response in responses]
    assert statuses[0] == 403  # reaches Django (CSRF)
    assert 429 in statuses
    refused = next(response for response in responses if response.status == 429)
    assert refused.header("Retry-After") == str(LOGIN_RETRY_AFTER)
    assert refused.header("Strict-Transport-Security")
    reading = stack.https(f"/{ADMIN_URL}login/")
    assert reading.status == 200  # reading the form is never limited


def test_a_request_id_is_passed_to_django_from_the_client_or_made_by_nginx(stack):
    marker = probe()
    stack.https(f"/health/live?probe={marker}")
    [line] = access_lines(stack, marker, server="nginx")
    assert re.search(r"rid=[0-9a-f]{32}$", line), line


def tls_handshake(stack, **context_options) -> ssl.SSLSocket:
    context = ssl.create_default_context(cafile=str(stack.site.cert))
    context.set_alpn_protocols(["h2", "http/1.1"])
    for name, value in context_options.items():
        setattr(context, name, value)
    raw = socket.create_connection(("127.0.0.1", stack.site.https_port), timeout=10, source_address=(CLIENT, 0))
    return context.wrap_socket(raw, server_hostname=DOMAIN)


def test_https_offers_http2_over_tls_1_3(stack):
    with tls_handshake(stack) as tls:
        assert tls.selected_alpn_protocol() == "h2"
        assert tls.version() == "TLSv1.3"


def test_tls_1_2_still_works_with_a_forward_secret_aead_cipher(stack):
    with tls_handshake(stack, maximum_version=ssl.TLSVersion.TLSv1_2) as tls:
        assert tls.version() == "TLSv1.2"
        name, _, _ = tls.cipher()
        assert name.startswith("ECDHE-") and ("GCM" in name or "CHACHA20" in name), name


@pytest.mark.parametrize("attempt", range(3))
def test_a_large_post_refused_before_django_reads_it_gets_djangos_answer_not_a_502(stack, attempt):
    # No Referer over HTTPS: Django's CSRF check answers 403 without reading a byte of the body. Gunicorn closing
    # a connection with unread input could turn that into nginx's 502; a few attempts, since it would be a race.
    response = stack.https("/", method="POST", body=b"x" * (19 * 1024 * 1024))  # under the 20 MB limit
    assert response.status == 403, response.body[:300]
    assert HTTPS_ONLY_CSRF_TEXT in response.text
