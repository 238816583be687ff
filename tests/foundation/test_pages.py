"""The essay list and detail pages follow the one visibility rule."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from apps.content.models import Essay
from apps.users.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture
def author():
    return User.objects.create(username="writer")


def essay(author, slug, *, status=Essay.Status.PUBLISHED, published_at=None, body="Some words here."):
    return Essay.objects.create(
        title=slug.title(),
        slug=slug,
        body=body,
        author=author,
        status=status,
        published_at=published_at if published_at is not None else timezone.now() - timedelta(hours=1),
    )


def test_list_shows_visible_essays_newest_first(client, author):
    essay(author, "older", published_at=timezone.now() - timedelta(days=2))
    essay(author, "newer", published_at=timezone.now() - timedelta(days=1))
    essay(author, "draft", status=Essay.Status.DRAFT)
    essay(author, "future", published_at=timezone.now() + timedelta(days=1))

    page = client.get("/").content.decode()

    assert page.index("/essays/newer/") < page.index("/essays/older/")
    assert "/essays/draft/" not in page
    assert "/essays/future/" not in page


@pytest.mark.parametrize(
    "kwargs",
    [
        {"status": Essay.Status.DRAFT},
        {"published_at": timezone.now() + timedelta(days=365)},
    ],
    ids=["draft", "future"],
)
def test_hidden_essays_are_404(client, author, kwargs):
    essay(author, "hidden", **kwargs)
    assert client.get("/essays/hidden/").status_code == 404


def test_unknown_slug_is_404(client):
    assert client.get("/essays/no-such-essay/").status_code == 404


def test_visible_essay_page_shows_title_and_word_count(client, author):
    essay(author, "visible", body="Exactly four words here")
    response = client.get("/essays/visible/")
    assert response.status_code == 200
    assert b"Visible" in response.content
    assert b"4 words" in response.content


def test_saving_counts_words(author):
    saved = essay(author, "counted", body="  one\ttwo\u00a0three \n")
    saved.refresh_from_db()
    assert saved.word_count == 3
    saved.body = "just two"
    saved.save(update_fields=["body"])
    saved.refresh_from_db()
    assert saved.word_count == 2


def test_seed_demo_loads_a_dozen_visible_essays_and_is_idempotent():
    call_command("seed_demo")
    call_command("seed_demo")
    assert Essay.objects.count() == 12
    assert Essay.objects.published().count() == 12
    assert all(essay.word_count > 50 for essay in Essay.objects.all())
