"""Essays for the content tests, and a fresh, empty page cache for every test."""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from apps.content.models import Essay
from apps.content.pagecache.generation import GenerationReader
from apps.content.pagecache.store import pages
from apps.users.models import User


@pytest.fixture(autouse=True)
def fresh_page_cache(settings, monkeypatch) -> None:
    # A LocMemCache of its own per test: never the shared Redis a developer may have in REDIS_URL.
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": uuid.uuid4().hex}
    }
    monkeypatch.setattr(pages, "skip_until", 0.0)
    # And a generation read afresh: the value another test read (and rolled back) must not validate its pages.
    monkeypatch.setattr(pages, "generation", GenerationReader())


@pytest.fixture
def author(db) -> User:
    return User.objects.create(username="writer", first_name="Ada", last_name="Writer")


@pytest.fixture
def make_essay(author) -> Callable[..., Essay]:
    def make(
        slug: str,
        *,
        title: str | None = None,
        body: str = "Some words here, enough to read.",
        status: str = Essay.Status.PUBLISHED,
        published_at: datetime | None = None,
        ago: timedelta = timedelta(hours=1),
    ) -> Essay:
        return Essay.objects.create(
            title=title or slug.replace("-", " ").title(),
            slug=slug,
            body=body,
            author=author,
            status=status,
            published_at=published_at if published_at is not None else timezone.now() - ago,
        )

    return make


@contextlib.contextmanager
def capturing(caplog: pytest.LogCaptureFixture, *loggers: str, level: int) -> Iterator[pytest.LogCaptureFixture]:
    """caplog, fed by `loggers` at `level`: the "apps" loggers do not propagate to the root, where caplog listens."""
    for name in loggers:
        logging.getLogger(name).addHandler(caplog.handler)
    caplog.handler.setLevel(level)
    try:
        yield caplog
    finally:
        for name in loggers:
            logging.getLogger(name).removeHandler(caplog.handler)


@pytest.fixture
def cache_log(caplog) -> Iterator[pytest.LogCaptureFixture]:
    """Warnings of the page cache."""
    with capturing(caplog, "apps.content.pagecache.store", level=logging.WARNING) as captured:
        yield captured
