"""The page cache: anonymous readers only, refreshed on every save, never past the next scheduled essay, and a
broken Redis costs nothing but speed."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection
from django.http import HttpResponse
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.content.models import Essay
from apps.content.pagecache import cached_for_readers
from apps.content.services import essay_upsert
from harness.ports import free_port
from harness.redis import redis_for_folio
from tests.content.front_client import FrontClient

pytestmark = pytest.mark.django_db


def redis_cache(location: str, prefix: str) -> dict:
    return {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": location,
            "KEY_PREFIX": prefix,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }


@pytest.fixture(params=["locmem", pytest.param("redis", marks=pytest.mark.services)])
def any_cache(request, settings) -> Iterator[str]:
    """Each behaviour once on local memory and once on the real Redis (with its own key prefix, removed after)."""
    if request.param == "locmem":
        yield "locmem"
        return
    with redis_for_folio(0) as redis:
        settings.CACHES = redis_cache(redis["REDIS_URL"], redis["CACHE_KEY_PREFIX"])
        yield "redis"


@pytest.fixture(params=["view", "front"])
def client(request, client):
    """Every behaviour twice: through the test client, where the view's decorator serves and stores, and through
    the WSGI stack of config/wsgi.py, where the front door (apps/content/pagecache/front.py) does for readers
    without a session.
    """
    return client if request.param == "view" else FrontClient()


def test_second_anonymous_read_is_served_from_the_cache(client, make_essay, any_cache):
    make_essay("cached")
    for url in ("/", "/essays/cached/", "/feed/"):
        first, second = client.get(url), client.get(url)
        assert (first["X-Folio-Cache"], second["X-Folio-Cache"]) == ("miss", "hit"), url
        assert second.content == first.content
        assert second["Content-Type"] == first["Content-Type"]


def test_cached_page_is_refreshed_after_an_edit(client, make_essay, any_cache):
    essay = make_essay("edited", title="Original title")
    assert b"Original title" in client.get("/essays/edited/").content
    assert b"Original title" in client.get("/").content

    essay_upsert(
        slug="edited",
        title="Revised title",
        body=essay.body,
        author=essay.author,
        status=essay.status,
        published_at=essay.published_at,
    )

    for url in ("/essays/edited/", "/", "/feed/"):
        response = client.get(url)
        assert response["X-Folio-Cache"] == "miss"
        assert b"Revised title" in response.content
        assert b"Original title" not in response.content


def test_deleting_an_essay_removes_it_from_cached_pages(client, make_essay, any_cache):
    essay = make_essay("doomed")
    client.get("/"), client.get("/essays/doomed/")

    essay.delete()

    assert b"/essays/doomed/" not in client.get("/").content
    assert client.get("/essays/doomed/").status_code == 404


def test_unpublishing_in_a_transaction_refreshes_after_commit(client, make_essay, django_capture_on_commit_callbacks):
    essay = make_essay("retracted")
    client.get("/essays/retracted/")

    with django_capture_on_commit_callbacks(execute=True):
        essay.status = Essay.Status.DRAFT
        essay.save()

    assert client.get("/essays/retracted/").status_code == 404


def test_scheduled_essay_appears_at_its_time_with_the_cache_warm(client, make_essay, settings):
    settings.PAGE_CACHE_SECONDS = 3600
    start = timezone.now()
    make_essay("already-out", published_at=start - timedelta(days=1))
    make_essay("scheduled", published_at=start + timedelta(minutes=10))

    with mock.patch("django.utils.timezone.now", return_value=start):
        assert b"/essays/scheduled/" not in client.get("/").content
        warm = client.get("/")
        assert warm["X-Folio-Cache"] == "hit"
        assert b"/essays/scheduled/" not in warm.content
        assert client.get("/essays/scheduled/").status_code == 404

    # Nothing runs at 10 minutes past: the first reader after that moment simply gets a fresh page.
    with mock.patch("django.utils.timezone.now", return_value=start + timedelta(minutes=10, seconds=1)):
        due = client.get("/")
        assert due["X-Folio-Cache"] == "miss"
        assert b"/essays/scheduled/" in due.content
        assert client.get("/essays/scheduled/").status_code == 200
        assert b"/essays/scheduled/" in client.get("/feed/").content


def test_without_scheduled_essays_a_page_lives_page_cache_seconds(client, make_essay, settings):
    settings.PAGE_CACHE_SECONDS = 60
    start = timezone.now()
    make_essay("steady", published_at=start - timedelta(days=1))

    with mock.patch("django.utils.timezone.now", return_value=start):
        client.get("/")
    with mock.patch("django.utils.timezone.now", return_value=start + timedelta(seconds=59)):
        assert client.get("/")["X-Folio-Cache"] == "hit"
    with mock.patch("django.utils.timezone.now", return_value=start + timedelta(seconds=61)):
        assert client.get("/")["X-Folio-Cache"] == "miss"


NEXT_DUE_QUERY = 'SELECT "content_essay"."published_at" AS "published_at" FROM'  # Essay.objects.next_scheduled_at


def asked_when_the_next_essay_is_due(queries: CaptureQueriesContext) -> int:
    return sum(1 for query in queries if query["sql"].startswith(NEXT_DUE_QUERY))


def test_when_the_next_essay_is_due_is_asked_once_per_page_generation_and_not_at_all_with_the_cache_off(
    client, make_essay, settings
):
    settings.PAGE_CACHE_SECONDS = 600
    make_essay("one")
    make_essay("two")
    with CaptureQueriesContext(connection) as unchanged:
        for path in ("/", "/essays/one/", "/essays/two/"):
            assert client.get(path)["X-Folio-Cache"] == "miss"
    make_essay("scheduled", published_at=timezone.now() + timedelta(minutes=5))
    with CaptureQueriesContext(connection) as after_a_write:
        for path in ("/", "/essays/one/"):
            assert client.get(path)["X-Folio-Cache"] == "miss"
    settings.PAGE_CACHE_SECONDS = 0
    make_essay("three")
    with CaptureQueriesContext(connection) as cache_off:
        assert client.get("/essays/two/")["X-Folio-Cache"] == "miss"

    assert [asked_when_the_next_essay_is_due(q) for q in (unchanged, after_a_write, cache_off)] == [1, 1, 0]


def test_logged_in_readers_are_never_served_or_stored(client, make_essay, django_user_model):
    essay = make_essay("shared", title="Cached title")
    client.get("/essays/shared/")
    # A write that bypasses the signals, so the anonymous cache knowingly holds the old title.
    Essay.objects.filter(pk=essay.pk).update(title="Fresh title")
    assert b"Cached title" in client.get("/essays/shared/").content

    client.force_login(django_user_model.objects.create(username="reader"))
    response = client.get("/essays/shared/")
    assert response["X-Folio-Cache"] == "bypass"
    assert b"Fresh title" in response.content
    assert client.get("/")["X-Folio-Cache"] == "bypass"

    client.logout()
    # The logged-in render of "/" was not stored: the next anonymous reader renders it afresh.
    assert client.get("/")["X-Folio-Cache"] == "miss"


def test_cached_pages_carry_nothing_per_request(client, make_essay):
    make_essay("plain")
    for url in ("/", "/essays/plain/", "/feed/"):
        client.get(url)
        hit = client.get(url)
        assert hit["X-Folio-Cache"] == "hit"
        assert "Set-Cookie" not in hit
        assert not hit.cookies
        for per_request in (b"csrfmiddlewaretoken", b"nonce", b"request_id", b"request-id"):
            assert per_request not in hit.content.lower(), (url, per_request)


def test_headers_of_the_first_reader_are_not_replayed(db):
    @cached_for_readers(lambda request: "headers")
    def view(request):
        response = HttpResponse("same body for everyone")
        response["X-Reader"] = uuid.uuid4().hex
        return response

    factory = RequestFactory()

    def anonymous_get():
        request = factory.get("/")
        request.user = mock.Mock(is_authenticated=False)
        return view(request)

    first, second = anonymous_get(), anonymous_get()
    assert second["X-Folio-Cache"] == "hit"
    assert second.content == first.content
    assert "X-Reader" not in second


def test_a_response_that_sets_a_cookie_is_not_stored(db):
    @cached_for_readers(lambda request: "cookie")
    def view(request):
        response = HttpResponse("hello")
        response.set_cookie("reader", uuid.uuid4().hex)
        return response

    request = RequestFactory().get("/")
    request.user = mock.Mock(is_authenticated=False)
    view(request)
    assert view(request)["X-Folio-Cache"] == "miss"


def test_junk_query_strings_share_one_cache_entry(client, make_essay):
    make_essay("one")
    client.get("/essays/one/")
    assert client.get("/essays/one/?utm_source=x&cb=123")["X-Folio-Cache"] == "hit"


def test_unreachable_redis_still_serves_pages_and_logs_a_warning(client, make_essay, settings, cache_log):
    make_essay("readable")
    settings.CACHES = redis_cache(f"redis://127.0.0.1:{free_port()}/0", "folio-down")

    for url in ("/", "/essays/readable/", "/feed/", "/"):
        response = client.get(url)
        assert response.status_code == 200
        assert response["X-Folio-Cache"] == "unavailable"
    assert b"Readable" in client.get("/essays/readable/").content

    # A set: the record may reach caplog twice, through the logger and through the root.
    warnings = list({id(r): r for r in cache_log.records if "page cache unavailable" in r.getMessage()}.values())
    # One line when the cache fails, not one per request: it is skipped for a while after a failure.
    assert len(warnings) == 1
    assert "ConnectionError" in warnings[0].getMessage()


@pytest.fixture
def hanging_redis() -> Iterator[str]:
    """A port that accepts connections and never answers: a Redis stuck in a long command, or a black hole."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"


def test_hanging_redis_still_serves_pages(client, make_essay, settings, hanging_redis, cache_log):
    settings.CACHES = redis_cache(hanging_redis, "folio-hang")
    make_essay("patient")

    assert client.get("/essays/patient/").status_code == 200
    assert client.get("/").status_code == 200
    assert "TimeoutError" in cache_log.text


def test_saving_while_redis_is_down_does_not_touch_the_cache(make_essay, settings, cache_log):
    settings.CACHES = redis_cache(f"redis://127.0.0.1:{free_port()}/0", "folio-down")

    essay = make_essay("saved-anyway")

    assert Essay.objects.filter(pk=essay.pk).exists()
    # Invalidation lives in the database (the page generation): a save has nothing to tell the cache.
    assert "page cache unavailable" not in cache_log.text


def test_a_reader_with_a_session_cookie_goes_through_the_full_stack(client, make_essay, any_cache, admin_user):
    make_essay("stacked")
    assert client.get("/essays/stacked/")["X-Folio-Cache"] == "miss"
    client.force_login(admin_user)
    assert client.get("/essays/stacked/")["X-Folio-Cache"] == "bypass", "a logged-in reader is never served the cache"


# The list's page numbers, and Django's sitemap's.
@pytest.mark.parametrize(("path", "parameter"), [("/", "page"), ("/sitemap-essays.xml", "p")])
@pytest.mark.parametrize("number", ["01", "abc", "1.0"])
def test_a_page_number_that_is_not_canonical_is_never_served_from_the_cache(
    client, make_essay, any_cache, path, parameter, number
):
    make_essay("only")
    client.get(path)
    assert client.get(f"{path}?{parameter}={number}").status_code == 404
