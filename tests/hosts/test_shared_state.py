"""What a visitor carries from one app host to the next: a login, an uploaded cover, an edited essay's title."""

from __future__ import annotations

import re
import time
import uuid
from html import unescape
from urllib.parse import urlsplit

import pytest
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

from harness.hosts import ADMIN_URL, Bed
from harness.project import STRONG_SECRET
from tests.hosts.conftest import ATTEMPTS, TOKEN, Browser, essay_form, png_bytes

pytestmark = pytest.mark.services

ADD = f"/{ADMIN_URL}content/essay/add/"


def test_a_login_on_app1_is_still_logged_in_when_the_next_request_lands_on_app2(bed):
    browser = Browser(bed)
    browser.log_in(on="app1")
    assert browser.logged_in_on("app2")
    assert browser.logged_in_on("app1")


def test_control_a_login_does_not_carry_over_to_a_host_with_another_secret_key(bed):
    bed.stop_app("app2")
    bed.start_app("app2", DJANGO_SECRET_KEY=STRONG_SECRET[::-1])
    browser = Browser(bed)
    browser.log_in(on="app1")
    assert not browser.logged_in_on("app2")


def add_essay(bed: Bed, browser: Browser, *, on: str, cover: bytes | None = None, title: str = "") -> tuple:
    """An essay added through the admin by a POST that `on` answered; (slug, response)."""
    for _ in range(ATTEMPTS // 2):
        slug = f"hosts-{uuid.uuid4().hex[:8]}"
        token = browser.form_token(ADD)
        fields = {"csrfmiddlewaretoken": token, **essay_form(bed, title=title or slug, slug=slug, cover=cover)}
        saved = browser.request("POST", ADD, body=encode_multipart(BOUNDARY, fields), content_type=MULTIPART_CONTENT)
        assert saved.status == 302, re.findall(r'class="errorlist[^"]*">(.*?)</ul>', saved.text) or saved.status
        if saved.release == on:
            return slug, saved
        browser.shift()
    raise AssertionError(f"no essay POST landed on {on}")


def cover_on_page(page_text: str) -> str:
    image = re.search(r'<img src="([^"]+)"', page_text)
    assert image, "the essay page shows no cover"
    return unescape(image.group(1))


def fetch_from_client(bed: Bed, url: str) -> tuple[int, bytes]:
    """A URL as the visitor's browser follows it: the bucket's own address, or a path on the site."""
    import http.client

    parts = urlsplit(url)
    if not parts.netloc:
        response = bed.request("GET", url)
        return response.status, response.body
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=15)
    with bed.net.inside("sw"):
        connection.connect()
    try:
        connection.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""))
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


def test_a_cover_uploaded_through_app1_is_served_on_a_page_rendered_by_app2(bed, editor):
    slug, _ = add_essay(bed, editor, on="app1", cover=png_bytes())

    page = Browser(bed).until_host("app2", "GET", f"/essays/{slug}/")
    assert page.status == 200
    assert fetch_from_client(bed, cover_on_page(page.text)) == (200, png_bytes())


def test_control_a_cover_kept_on_app1s_disk_is_missing_from_app2s_page(bed):
    # FileSystemStorage: each host's own MEDIA_ROOT, and nginx on lb has neither.
    for name in ("app1", "app2"):
        bed.stop_app(name)
        bed.start_app(name, AWS_STORAGE_BUCKET_NAME="")
    browser = Browser(bed)
    browser.log_in(on="app1")
    slug, _ = add_essay(bed, browser, on="app1", cover=png_bytes())

    page = Browser(bed).until_host("app2", "GET", f"/essays/{slug}/")
    cover = cover_on_page(page.text)
    assert cover.startswith("/media/covers/")
    assert (bed.root / "app1" / "media" / cover.removeprefix("/media/")).is_file()
    assert fetch_from_client(bed, cover)[0] == 404


# How long app2 may serve the old title after the save, with a shared Redis or without: each process reads the
# database-kept page generation (apps/content/pagecache/generation.py) at most once per PAGE_CACHE_STALE_SECONDS,
# 2 s by default and here. The margin is for the poll itself on a loaded machine, not for staleness.
STALE_SECONDS = 2.0
MARGIN = 5.0


def heading(page: str) -> str:
    found = re.search(r'<h1 id="essay-title">(.*?)</h1>', page)
    return unescape(found.group(1)) if found else ""


def edited_title_served_by_app2(bed: Bed, browser: Browser, *, stale_bound: float) -> tuple[list, float]:
    """Edit an essay through app1 while app2's workers have its page cached; every app2 answer from `stale_bound`
    after the save until the margin has passed must carry the new title. The answers and the save's time."""
    old_title = f"Old title {uuid.uuid4().hex[:6]}"
    slug, _ = add_essay(bed, browser, on="app1", title=old_title)
    reader = Browser(bed)
    # app2 caches the page (nginx's kept-open connections to app2 reach the same workers again).
    cached = []
    for _ in range(6):
        warm = reader.until_host("app2", "GET", f"/essays/{slug}/")
        assert heading(warm.text) == old_title
        cached.append(warm.headers.get("x-folio-cache"))
    assert "hit" in cached, cached  # app2 serves it from its cache: what the edit must make stale

    change = f"/{ADMIN_URL}content/essay/"
    with bed.database.connect("folio") as db:
        essay_id = db.execute("SELECT id FROM content_essay WHERE slug = %s", [slug]).fetchone()[0]
    change = f"{change}{essay_id}/change/"
    new_title = f"New title {uuid.uuid4().hex[:6]}"
    # Only app1 may save it (a save on app2 would empty app2's own cache): the form is fetched until app2 answers
    # it, so that nginx's round robin sends the POST to app1, and a POST app2 answered fails the test.
    form = browser.until_host("app2", "GET", change)
    fields = {
        "csrfmiddlewaretoken": unescape(TOKEN.search(form.text).group(1)),
        **essay_form(bed, title=new_title, slug=slug),
    }
    saved = browser.request("POST", change, body=encode_multipart(BOUNDARY, fields), content_type=MULTIPART_CONTENT)
    assert (saved.status, saved.release) == (302, "app1"), (saved.status, saved.release)
    saved_at = time.monotonic()

    answers = []
    while time.monotonic() < saved_at + stale_bound + MARGIN:
        page = reader.until_host("app2", "GET", f"/essays/{slug}/")
        answers.append((time.monotonic() - saved_at, heading(page.text)))
    late = [title for after, title in answers if after >= stale_bound]
    assert late and set(late) == {new_title}, answers
    return answers, saved_at


def test_an_essay_edited_through_app1_is_served_with_its_new_title_by_app2_with_redis_shared(bed, editor):
    answers, _ = edited_title_served_by_app2(bed, editor, stale_bound=STALE_SECONDS)
    late = sum(after >= STALE_SECONDS for after, _ in answers)
    print(f"\nedit with Redis: {len(answers)} answers from app2 after the save, {late} past {STALE_SECONDS:g} s: new")


# Without Redis each worker caches pages in its own memory; the same bound holds.
def test_an_essay_edited_through_app1_is_served_with_its_new_title_by_app2_without_redis(bed, editor):
    for name in ("app1", "app2"):
        bed.stop_app(name)
        bed.start_app(name, REDIS_URL="", PAGE_CACHE_STALE_SECONDS=str(STALE_SECONDS))
    edited_title_served_by_app2(bed, editor, stale_bound=STALE_SECONDS)
