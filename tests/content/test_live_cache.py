"""The page cache through the real server: Gunicorn workers sharing Redis via REDIS_URL, edits made by another
process, an essay falling due while the cache is warm, and a REDIS_URL nobody answers."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from harness.availability import unavailable
from harness.live_site import LiveSite, start_site
from harness.ports import free_port, port_open
from harness.project import run_python

pytestmark = pytest.mark.services

REDIS = ("127.0.0.1", 6379)
# A database of its own on the shared Redis, emptied of Folio's keys afterwards; never FLUSHDB on a shared server.
REDIS_DB = 11
ESSAY = "/essays/the-twelve-factor-settings-file/"


def fetch(site: LiveSite, path: str) -> tuple[int, str, str]:
    """(status, X-Folio-Cache, body) of a GET as an anonymous reader."""
    with urllib.request.urlopen(site.url(path), timeout=10) as response:  # noqa: S310 - a loopback http URL
        return response.status, response.headers.get("X-Folio-Cache", ""), response.read().decode()


def in_site(site: LiveSite, code: str) -> str:
    """Run Python with the site's settings in a separate process, as an editor's shell or the admin would."""
    result = run_python("import django; django.setup()\n" + code, env=site.env)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def redis_site(tmp_path_factory) -> Iterator[LiveSite]:
    if not port_open(*REDIS):
        unavailable(f"Redis is not listening on {REDIS[0]}:{REDIS[1]}")
    import redis

    url = f"redis://{REDIS[0]}:{REDIS[1]}/{REDIS_DB}"
    try:
        with start_site(tmp_path_factory.mktemp("redis-site"), {"REDIS_URL": url}) as site:
            yield site
    finally:
        client = redis.Redis.from_url(url)
        keys = list(client.scan_iter(match="folio:*"))
        if keys:
            client.delete(*keys)
        client.close()


def test_workers_share_cached_pages_through_redis(redis_site):
    results = [fetch(redis_site, ESSAY) for _ in range(6)]

    assert [status for status, _, _ in results] == [200] * 6
    # One render in total: whichever worker answers later finds the page the first one stored.
    assert [cache for _, cache, _ in results] == ["miss"] + ["hit"] * 5


def test_an_edit_in_another_process_refreshes_the_cached_page(redis_site):
    # The oldest of the twelve demo essays: on the list's second page.
    fetch(redis_site, ESSAY), fetch(redis_site, "/?page=2")
    assert fetch(redis_site, ESSAY)[1] == "hit"

    in_site(
        redis_site,
        "from apps.content.models import Essay\n"
        "essay = Essay.objects.get(slug='the-twelve-factor-settings-file')\n"
        "essay.title = 'The Twelve-Factor Settings File, Revised'\n"
        "essay.save()\n",
    )

    for path in (ESSAY, "/?page=2"):
        status, cache, body = fetch(redis_site, path)
        assert (status, cache) == (200, "miss")
        assert "The Twelve-Factor Settings File, Revised" in body


def test_a_scheduled_essay_appears_at_its_time_with_the_cache_warm(redis_site):
    # Far enough ahead that creating the essay in a fresh process and warming the cache finish before it, even on
    # a loaded CI machine (3 s was not: the "before" assertion then saw an essay already due).
    lead = 15
    due = datetime.now(UTC) + timedelta(seconds=lead)
    in_site(
        redis_site,
        "from datetime import datetime\n"
        "from apps.content.models import Essay\n"
        "from apps.users.models import User\n"
        "Essay.objects.create(title='Right on time', slug='right-on-time', body='Due.', status='published',\n"
        f"    published_at=datetime.fromisoformat('{due.isoformat()}'), author=User.objects.first())\n",
    )
    fetch(redis_site, "/")
    _, cache, body = fetch(redis_site, "/")
    assert cache == "hit"
    assert datetime.now(UTC) < due, "the machine took the whole lead to get here; the check below would prove nothing"
    assert "/essays/right-on-time/" not in body

    # Nothing runs at `due`; readers asking after it get the essay. Bounded: the lead plus 20 s, then it fails.
    deadline = time.monotonic() + lead + 20
    while "/essays/right-on-time/" not in body and time.monotonic() < deadline:
        time.sleep(0.25)
        _, _, body = fetch(redis_site, "/")
    assert "/essays/right-on-time/" in body
    assert datetime.now(UTC) >= due
    assert fetch(redis_site, "/essays/right-on-time/")[0] == 200


def test_an_unreachable_redis_url_still_serves_every_page(tmp_path):
    with start_site(tmp_path, {"REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}) as site:
        for path in ("/", ESSAY, "/feed/", "/sitemap.xml"):
            status, _, _ = fetch(site, path)
            assert status == 200, path
        assert fetch(site, ESSAY)[1] == "unavailable"
        log = site.log_text()

    assert "page cache unavailable (ConnectionError" in log
