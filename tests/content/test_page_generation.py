"""The page generation: changed by the database on every write to what pages show, whoever writes, and read by each
process at most once per PAGE_CACHE_STALE_SECONDS (counted in queries, on a clock the test moves)."""

from __future__ import annotations

import logging
from unittest import mock

import pytest
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.content.models import Essay, PageGeneration
from apps.content.pagecache import generation as generation_module
from apps.content.pagecache.generation import GenerationReader
from tests.content.conftest import capturing

pytestmark = pytest.mark.django_db


class Clock:
    """time.monotonic for the reader, moved by the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(generation_module.time, "monotonic", clock)
    return clock


@pytest.fixture
def reader(settings) -> GenerationReader:
    settings.PAGE_CACHE_STALE_SECONDS = 2.0
    settings.PAGE_CACHE_STALE_IF_ERROR = True
    return GenerationReader()


def generation_reads(queries: CaptureQueriesContext) -> int:
    return sum("content_pagegeneration" in query["sql"] for query in queries.captured_queries)


def stored() -> int:
    return PageGeneration.objects.get(pk=1).value


def test_the_generation_is_read_at_most_once_per_interval(reader, clock):
    start = clock.now
    with CaptureQueriesContext(connection) as queries:
        first = reader.current()
        for step in range(1, 51):
            clock.now = start + step * 0.039  # 50 reads spread over 1.95 s: inside the 2 s interval
            assert reader.current() == first
        assert generation_reads(queries) == 1
        clock.now = start + 2.0
        reader.current()
        assert generation_reads(queries) == 2
    assert first == stored()


def test_a_change_is_seen_at_the_first_read_after_the_interval_not_before(reader, clock, make_essay):
    make_essay("counted")
    before = reader.current()
    Essay.objects.filter(slug="counted").update(title="Changed behind Django's back")

    clock.now += 1.9
    assert reader.current() == before
    clock.now += 0.1
    assert reader.current() == stored() != before


def test_forget_makes_the_next_call_read_again(reader, clock):
    with CaptureQueriesContext(connection) as queries:
        reader.current()
        reader.forget()
        reader.current()
    assert generation_reads(queries) == 2


def test_an_interval_of_zero_reads_on_every_call(reader, clock, settings):
    settings.PAGE_CACHE_STALE_SECONDS = 0
    with CaptureQueriesContext(connection) as queries:
        for _ in range(3):
            reader.current()
    assert generation_reads(queries) == 3


@pytest.mark.parametrize(
    "write",
    [
        pytest.param(lambda essay: Essay.objects.filter(pk=essay.pk).update(title="Updated"), id="queryset-update"),
        pytest.param(lambda essay: essay.save(), id="save"),
        pytest.param(lambda essay: essay.delete(), id="delete"),
        pytest.param(lambda essay: Essay.objects.filter(pk=essay.pk).update(status=Essay.Status.DRAFT), id="unpublish"),
        pytest.param(
            lambda essay: Essay.objects.create(title="New", slug="new", author=essay.author, status="published"),
            id="insert",
        ),
        pytest.param(
            lambda essay: connection.cursor().execute(
                "UPDATE content_essay SET body = 'raw' WHERE id = %s", [essay.pk]
            ),
            id="raw-sql",
        ),
        pytest.param(lambda essay: type(essay.author).objects.update(first_name="Renamed"), id="author-name"),
    ],
)
def test_every_write_to_what_pages_show_changes_the_generation(make_essay, write):
    essay = make_essay("watched")
    before = stored()
    write(essay)
    assert stored() != before


def test_a_login_does_not_change_the_generation(make_essay, author):
    make_essay("watched")
    before = stored()
    author.last_login = timezone.now()
    author.save(update_fields=["last_login"])  # what every login writes
    assert stored() == before


def failing_cursor():
    return mock.patch.object(connection, "cursor", side_effect=DatabaseError("the database is down"))


def test_a_failed_read_keeps_the_last_value_when_stale_if_error_is_on(reader, clock, caplog):
    known = reader.current()
    clock.now += 2
    with failing_cursor() as cursor, capturing(caplog, generation_module.__name__, level=logging.WARNING):
        assert reader.current() == known
        clock.now += 1  # within the interval of the failed read: the database is not asked again
        assert reader.current() == known
        assert cursor.call_count == 1
    assert "serving the pages cached before (PAGE_CACHE_STALE_IF_ERROR)" in caplog.text


def test_a_failed_read_means_no_generation_when_stale_if_error_is_off(reader, clock, settings, caplog):
    settings.PAGE_CACHE_STALE_IF_ERROR = False
    known = reader.current()
    clock.now += 2
    with failing_cursor() as cursor, capturing(caplog, generation_module.__name__, level=logging.WARNING):
        assert reader.current() is None
        clock.now += 1
        assert reader.current() is None
        assert cursor.call_count == 1
    assert "rendering pages uncached" in caplog.text
    clock.now += 1  # the database is back: read again at the end of the interval
    assert reader.current() == known


def test_a_process_that_never_read_it_knows_no_generation_while_the_database_is_down(reader, clock):
    with failing_cursor():
        assert reader.current() is None


def test_an_emptied_table_is_a_generation_of_its_own_until_the_next_write_brings_the_row_back(
    reader, clock, make_essay
):
    PageGeneration.objects.all().delete()  # what `manage.py flush` does
    empty = reader.current()
    make_essay("after-the-flush")
    reader.forget()
    assert reader.current() == stored() != empty


def test_while_one_thread_reads_the_others_serve_the_value_it_replaces(reader, clock):
    known = reader.current()
    clock.now += 2
    # Stands for another thread's read in progress, perhaps hanging on a frozen database.
    with reader._lock, CaptureQueriesContext(connection) as queries:
        assert reader.current() == known
    assert generation_reads(queries) == 0
    assert reader.current() == stored()  # the lock free again: this thread reads
