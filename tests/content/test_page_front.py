"""The page cache's front door (apps/content/pagecache/front.py): what it answers without Django, and what it
never does."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from unittest import mock

import pytest
from django.core.cache import caches
from django.http import HttpResponse

from apps.content.pagecache import front as front_module
from apps.content.pagecache.entry import PAGE_HEADERS
from apps.content.pagecache.store import pages
from apps.core.http.logging import RequestContextFilter
from apps.core.http.unreadable import ReadableRequest
from harness.ports import free_port
from tests.content.conftest import capturing
from tests.content.front_client import FrontClient

pytestmark = pytest.mark.django_db

PAGES = ("/", "/essays/fast/", "/feed/", "/sitemap.xml", "/sitemap-essays.xml")
DJANGO_RAN = "Django's handler ran for a page the front should have answered"


@pytest.fixture
def front() -> FrontClient:
    return FrontClient()


def page_headers(response: HttpResponse) -> dict[str, str]:
    return {name: value for name, value in response.headers.items() if name.lower() in PAGE_HEADERS}


@pytest.mark.parametrize("url", PAGES)
def test_a_stored_page_is_answered_before_django_runs_with_the_headers_the_stack_gave_it(front, make_essay, url):
    make_essay("fast")
    full = front.get(url)
    with mock.patch("django.core.handlers.base.BaseHandler.get_response", side_effect=AssertionError(DJANGO_RAN)):
        fast = front.get(url)
    assert (full["X-Folio-Cache"], fast["X-Folio-Cache"]) == ("miss", "hit")
    assert fast.content == full.content
    assert page_headers(fast) == page_headers(full)
    for policy in ("Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy", "Vary"):
        assert fast[policy], policy
    assert int(fast["Content-Length"]) == len(fast.content)


@pytest.mark.parametrize("url", PAGES)
def test_a_hit_answered_by_the_decorator_carries_the_same_page_headers_as_one_answered_by_the_front(
    front, client, make_essay, url
):
    make_essay("fast")
    front.get(url)
    by_front = front.get(url)
    # The test client runs Django's handler, where the view's decorator answers from the entry the front stored
    # (as it does under the front for an anonymous reader with a session cookie).
    by_decorator = client.get(url)
    caches["default"].clear()
    client.get(url)
    # An entry the decorator stored itself, answered by the decorator, under the front and without it.
    own_by_decorator, own_under_front = client.get(url), front.get(url)

    hits = (by_front, by_decorator, own_by_decorator, own_under_front)
    assert [hit["X-Folio-Cache"] for hit in hits] == ["hit"] * 4
    assert all(hit.content == by_front.content for hit in hits)
    assert page_headers(by_decorator) == page_headers(by_front)
    assert page_headers(own_by_decorator) == page_headers(by_front)
    assert page_headers(own_under_front) == page_headers(by_front)


@pytest.fixture
def access_log(caplog) -> Iterator[pytest.LogCaptureFixture]:
    """Access lines and the page cache's warnings, with the request context the real handlers add."""
    context = RequestContextFilter()
    caplog.handler.addFilter(context)
    try:
        with capturing(caplog, "apps.core.requests", "apps.content.pagecache.store", level=logging.INFO) as captured:
            yield captured
    finally:
        caplog.handler.removeFilter(context)


def test_each_hit_has_its_own_request_id_and_access_line(front, make_essay, access_log):
    make_essay("fast")
    front.get("/essays/fast/")
    access_log.clear()

    first, second = front.get("/essays/fast/"), front.get("/essays/fast/", headers={"X-Request-ID": "nginx-id.42"})

    assert first["X-Folio-Cache"] == second["X-Folio-Cache"] == "hit"
    assert first["X-Request-ID"] != second["X-Request-ID"]
    assert second["X-Request-ID"] == "nginx-id.42"
    # By id: a record can reach caplog twice, through this logger's handler and through the root.
    records = {id(r): r for r in access_log.records if r.name == "apps.core.requests"}.values()
    lines = [(r.getMessage(), r.request_id, r.status) for r in records]
    assert lines == [
        ("GET /essays/fast/ 200", first["X-Request-ID"], 200),
        ("GET /essays/fast/ 200", "nginx-id.42", 200),
    ]


def test_a_cache_warning_and_the_rendered_page_carry_the_request_id_of_their_request(
    front, make_essay, settings, monkeypatch, access_log
):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",  # nothing listens: the cache is down
        }
    }
    make_essay("fast")
    access_log.clear()
    response = front.get("/essays/fast/", headers={"X-Request-ID": "nginx-id.7"})

    assert response.status_code == 200
    assert response["X-Folio-Cache"] == "unavailable"
    assert response["X-Request-ID"] == "nginx-id.7"
    records = {id(r): r for r in access_log.records}.values()
    warning = next(r for r in records if "page cache unavailable" in r.getMessage())
    access = next(r for r in records if r.name == "apps.core.requests")
    assert (warning.request_id, access.request_id) == ("nginx-id.7", "nginx-id.7")


class AddsReaderHeaders:
    """Stands for any middleware that puts something per reader on a response."""

    kind = "header"

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        marker = uuid.uuid4().hex
        if self.kind == "header":
            response["X-Reader"] = marker
        elif self.kind == "cookie":
            response.set_cookie("reader", marker)
        else:
            response["Content-Security-Policy"] = f"script-src 'self' 'nonce-{marker}'"
        return response


@pytest.mark.parametrize("kind", ["header", "cookie", "nonce"])
def test_nothing_of_the_first_reader_is_replayed(front, make_essay, settings, monkeypatch, kind):
    monkeypatch.setattr(AddsReaderHeaders, "kind", kind)
    settings.MIDDLEWARE = [f"{__name__}.AddsReaderHeaders", *settings.MIDDLEWARE]
    make_essay("fast")
    first = front.get("/essays/fast/")

    second = front.get("/essays/fast/")

    if kind == "header":  # stored, without the header that was the first reader's
        assert second["X-Folio-Cache"] == "hit"
        assert "X-Reader" in first
        assert second.headers.get("X-Reader") != first["X-Reader"]
    else:  # a cookie or a nonce makes the whole response the first reader's: not stored at all
        assert second["X-Folio-Cache"] == "miss"


def test_a_reader_with_a_session_is_never_answered_by_the_front(front, make_essay, admin_user):
    essay = make_essay("fast", title="Cached title")
    front.get("/essays/fast/")
    type(essay).objects.filter(pk=essay.pk).update(title="Fresh title")  # bypasses the signals on purpose
    assert b"Cached title" in front.get("/essays/fast/").content

    front.force_login(admin_user)
    response = front.get("/essays/fast/")

    assert response["X-Folio-Cache"] == "bypass"
    assert b"Fresh title" in response.content


def test_a_page_stored_for_one_host_is_not_served_for_another_and_a_bad_host_reaches_django(front, make_essay):
    make_essay("fast")
    front.get("/essays/fast/", headers={"Host": "localhost"})

    assert front.get("/essays/fast/", headers={"Host": "localhost"})["X-Folio-Cache"] == "hit"
    assert front.get("/essays/fast/", headers={"Host": "127.0.0.1"})["X-Folio-Cache"] == "miss"
    assert front.get("/essays/fast/", headers={"Host": "evil.example"}).status_code == 400


@pytest.mark.parametrize(("url", "status"), [("/", 400), ("/essays/fast/", 200)])
def test_a_query_string_with_too_many_fields_gets_djangos_answer_not_a_crash(front, make_essay, settings, url, status):
    # The list reads `page` from the query, so Django refuses it (400); the essay never parses it.
    make_essay("fast")
    front.get(url)
    fields = "&".join(f"f{number}=1" for number in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))
    assert front.get(f"{url}?{fields}").status_code == status


@pytest.mark.parametrize("url", ["/robots.txt", "/health/live", "/essays/fast/preview/", "/nope/"])
def test_paths_that_are_not_cached_pages_never_touch_the_cache(front, make_essay, url):
    make_essay("fast")
    with mock.patch.object(pages, "lookup", side_effect=AssertionError("looked up")) as lookup:
        response = front.get(url)
    assert response.status_code in (200, 302, 404)
    lookup.assert_not_called()


@pytest.mark.parametrize("method", ["head", "post", "options"])
def test_only_gets_are_answered_by_the_front(front, make_essay, method):
    make_essay("fast")
    front.get("/essays/fast/")
    response = getattr(front, method)("/essays/fast/")
    assert response.get("X-Folio-Cache") != "hit"


def test_a_page_name_is_worked_out_once_per_request_shape_and_again_after_a_setting_changes(
    front, make_essay, settings, monkeypatch
):
    make_essay("fast")
    built = []
    monkeypatch.setattr(front_module, "ReadableRequest", lambda environ: built.append(1) or ReadableRequest(environ))

    for _ in range(3):
        front.get("/essays/fast/", headers={"Host": "localhost"})
    assert len(built) == 1, "one request built for three readers of the same page"

    front.get("/essays/fast/", headers={"Host": "127.0.0.1"})
    assert len(built) == 2, "another host is another name"

    settings.ALLOWED_HOSTS = ["folio.example.org"]
    assert front.get("/essays/fast/", headers={"Host": "localhost"}).status_code == 400
    assert len(built) == 3, "a changed setting is heard: the remembered name of an allowed host is not used"
