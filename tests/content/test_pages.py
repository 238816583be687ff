"""The reader's pages: pagination, previous/next, feed, sitemap, robots.txt, error pages, no inline code."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.http import HttpRequest
from django.test.utils import CaptureQueriesContext
from django.urls import path
from django.utils import timezone

from apps.content.models import Essay
from apps.content.sitemaps import EssaySitemap

from .html_audit import audit, xml_document

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


def essay_links(page: bytes) -> list[str]:
    return re.findall(r'<h2 id="essay-\d+"><a href="(/essays/[^"]+/)"', page.decode())


@pytest.fixture
def twelve_essays(make_essay) -> list[Essay]:
    return [make_essay(f"essay-{n:02d}", ago=timedelta(days=n)) for n in range(1, 13)]


def test_list_is_paginated_ten_per_page_newest_first(client, twelve_essays):
    first, second = client.get("/"), client.get("/?page=2")

    assert essay_links(first.content) == [f"/essays/essay-{n:02d}/" for n in range(1, 11)]
    assert essay_links(second.content) == ["/essays/essay-11/", "/essays/essay-12/"]
    assert b'rel="next" href="/?page=2"' in first.content
    assert b'rel="prev" href="/"' in second.content


@pytest.mark.parametrize("page", ["abc", "999", "3", "0", "-1", "1.5", "01", "", "1e3", "%00"])
def test_a_page_number_that_names_no_page_is_404(client, twelve_essays, page):
    assert client.get(f"/?page={page}").status_code == 404


def test_empty_site_lists_no_essays_with_200(client, db):
    response = client.get("/")
    assert response.status_code == 200
    assert b"No essays yet" in response.content


@pytest.mark.parametrize(
    "kwargs",
    [{"status": Essay.Status.DRAFT}, {"published_at": timezone.now() + timedelta(days=1)}],
    ids=["draft", "future"],
)
def test_draft_or_future_slug_is_404(client, make_essay, kwargs):
    make_essay("hidden", **kwargs)
    assert client.get("/essays/hidden/").status_code == 404


def test_unknown_slug_is_404_with_the_designed_page(client, db):
    response = client.get("/essays/no-such-essay/")
    assert response.status_code == 404
    assert b"This page is not here" in response.content
    assert b'href="/static/css/folio.css"' in response.content


def test_detail_links_to_the_visible_neighbours_only(client, make_essay):
    make_essay("oldest", ago=timedelta(days=5))
    make_essay("draft-between", status=Essay.Status.DRAFT, ago=timedelta(days=4))
    make_essay("middle", ago=timedelta(days=3))
    make_essay("newest", ago=timedelta(days=1))
    make_essay("scheduled", published_at=timezone.now() + timedelta(days=1))

    middle = client.get("/essays/middle/").content.decode()
    oldest = client.get("/essays/oldest/").content.decode()
    newest = client.get("/essays/newest/").content.decode()

    assert re.search(r'rel="prev" href="/essays/oldest/"', middle)
    assert re.search(r'rel="next" href="/essays/newest/"', middle)
    assert 'rel="prev"' not in oldest
    assert 'rel="next"' not in newest
    assert "draft-between" not in middle + oldest
    assert "scheduled" not in newest


def test_essays_published_at_the_same_moment_still_chain(client, make_essay):
    moment = timezone.now() - timedelta(hours=2)
    first, second = make_essay("first", published_at=moment), make_essay("second", published_at=moment)

    assert f'rel="next" href="{second.get_absolute_url()}"' in client.get(first.get_absolute_url()).content.decode()
    assert f'rel="prev" href="{first.get_absolute_url()}"' in client.get(second.get_absolute_url()).content.decode()


def test_an_essay_page_reads_its_neighbours_titles_not_their_bodies(client, make_essay):
    """Every cache miss pays for the neighbours: two links need a title and a slug, never a body or an author."""
    make_essay("older", title="The older one", body="OLDER-BODY " * 1000, ago=timedelta(days=3))
    make_essay("middle", ago=timedelta(days=2))
    make_essay("newer", title="The newer one", body="NEWER-BODY " * 1000, ago=timedelta(days=1))

    with CaptureQueriesContext(connection) as queries:
        page = client.get("/essays/middle/").content.decode()

    assert "The older one" in page and "The newer one" in page
    essay_reads = [q["sql"] for q in queries.captured_queries if 'FROM "content_essay"' in q["sql"]]
    neighbours = [
        sql
        for sql in essay_reads
        if '"content_essay"."title"' in sql and "LIMIT 1" in sql and '"content_essay"."slug" =' not in sql
    ]
    assert len(neighbours) == 2, essay_reads
    assert all('"body"' not in sql and "users_user" not in sql for sql in neighbours), neighbours


def test_detail_shows_rendered_markdown_byline_and_reading_time(client, make_essay):
    make_essay("rendered", body="## Part one\n\n" + "word " * 500)

    page = client.get("/essays/rendered/").content.decode()

    assert "<h2>Part one</h2>" in page
    assert "By Ada Writer" in page
    assert "3 min read" in page  # 502 words at 230 a minute, rounded up


def test_pages_carry_no_inline_script_style_or_handler(client, make_essay):
    make_essay("plain")
    for url in ("/", "/essays/plain/", "/nothing-here/"):
        page = client.get(url).content.decode()
        assert audit(page).problems == [], url
        assert "<script" not in page


def test_feed_is_valid_atom_with_the_required_elements(client, make_essay):
    make_essay("older", ago=timedelta(days=2), body="The first paragraph is the summary.\n\nMore.")
    make_essay("newer", ago=timedelta(days=1))
    make_essay("draft", status=Essay.Status.DRAFT)
    make_essay("scheduled", published_at=timezone.now() + timedelta(hours=1))

    response = client.get("/feed/")
    feed = xml_document(response.content)

    assert response["Content-Type"].startswith("application/atom+xml")
    assert feed.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated", "author/" + ATOM + "name"):
        assert (feed.findtext(f"{ATOM}{required}") or "").strip(), required
    links = {link.get("rel"): link.get("href") for link in feed.findall(f"{ATOM}link")}
    assert links == {"alternate": "http://testserver/", "self": "http://testserver/feed/"}
    datetime.fromisoformat(feed.findtext(f"{ATOM}updated"))

    entries = feed.findall(f"{ATOM}entry")
    assert [entry.findtext(f"{ATOM}title") for entry in entries] == ["Newer", "Older"]
    for entry in entries:
        for required in ("id", "title", "updated", "published", "author/" + ATOM + "name", "content"):
            assert (entry.findtext(f"{ATOM}{required}") or "").strip(), required
        datetime.fromisoformat(entry.findtext(f"{ATOM}updated"))
        assert entry.find(f"{ATOM}link[@rel='alternate']").get("href").startswith("http://testserver/essays/")
    assert len({entry.findtext(f"{ATOM}id") for entry in entries}) == len(entries)
    assert entries[1].findtext(f"{ATOM}summary") == "The first paragraph is the summary."


def sitemap_locs(response, tag: str) -> list[str]:
    """The `<loc>` of each `<url>` of a sitemap, or each `<sitemap>` of an index."""
    assert response.status_code == 200, response.status_code
    return [element.findtext(f"{SITEMAP}loc") for element in xml_document(response.content).findall(f"{SITEMAP}{tag}")]


def test_sitemap_lists_every_visible_essay_and_nothing_else(client, make_essay):
    visible = [make_essay(f"visible-{n}", ago=timedelta(days=n)) for n in range(3)]
    make_essay("draft", status=Essay.Status.DRAFT)
    make_essay("scheduled", published_at=timezone.now() + timedelta(minutes=5))

    sections = sitemap_locs(client.get("/sitemap.xml"), "sitemap")
    section = client.get("/sitemap-essays.xml")

    assert sections == ["http://testserver/sitemap-essays.xml"]
    assert sitemap_locs(section, "url") == [f"http://testserver{essay.get_absolute_url()}" for essay in visible]
    assert section["X-Robots-Tag"] == "noindex, noodp, noarchive"


def test_the_index_names_one_page_per_section_size_and_each_essay_is_on_exactly_one(client, make_essay, monkeypatch):
    monkeypatch.setattr(EssaySitemap, "limit", 2)
    essays = [make_essay(f"essay-{n}", ago=timedelta(days=n)) for n in range(5)]

    index = client.get("/sitemap.xml")
    pages = sitemap_locs(index, "sitemap")
    lastmods = {element.findtext(f"{SITEMAP}lastmod") for element in xml_document(index.content)}

    base = "http://testserver/sitemap-essays.xml"
    assert pages == [base, f"{base}?p=2", f"{base}?p=3"]
    assert lastmods == {max(essay.updated_at for essay in essays).isoformat()}
    listed = [loc for page in pages for loc in sitemap_locs(client.get(page.removeprefix("http://testserver")), "url")]
    assert listed == [f"http://testserver{essay.get_absolute_url()}" for essay in essays]
    for beyond in ("?p=4", "?p=0", "?p=01", "?p=x", "?p=1.0"):
        assert client.get(f"/sitemap-essays.xml{beyond}").status_code == 404, beyond
    assert client.get("/sitemap-nope.xml").status_code == 404


def test_the_sitemap_never_loads_an_essay_body_and_the_index_no_essay_row(client, make_essay):
    for n in range(3):
        make_essay(f"essay-{n}", ago=timedelta(days=n))

    with CaptureQueriesContext(connection) as index:
        client.get("/sitemap.xml")
    with CaptureQueriesContext(connection) as section:
        client.get("/sitemap-essays.xml")

    essay_queries = [query["sql"] for query in (*index, *section) if "content_essay" in query["sql"]]
    assert essay_queries and not [sql for sql in essay_queries if '"body"' in sql]
    # The index asks the database for a count and the newest change (aggregates), never for the essays it lists.
    index_queries = " ".join(query["sql"] for query in index)
    assert re.search(r'SELECT MAX\("content_essay"\."updated_at"\)', index_queries), index_queries
    assert not re.search(r'SELECT [^(]*"content_essay"\."(slug|updated_at)"', index_queries), index_queries


def test_robots_txt_points_at_the_sitemap(client, db):
    response = client.get("/robots.txt")

    assert response["Content-Type"] == "text/plain; charset=utf-8"
    sitemap = re.search(r"^Sitemap: (\S+)$", response.content.decode(), flags=re.MULTILINE).group(1)
    assert sitemap == "http://testserver/sitemap.xml"
    assert client.get("/sitemap.xml").status_code == 200


def broken_view(request: HttpRequest):
    raise RuntimeError("boom")


urlpatterns = [path("broken/", broken_view)]


@pytest.mark.urls(__name__)
def test_server_error_shows_the_designed_500_page(client):
    client.raise_request_exception = False

    response = client.get("/broken/")

    assert response.status_code == 500
    assert b"Something went wrong on our side" in response.content
    assert audit(response.content.decode()).problems == []
