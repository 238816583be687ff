"""The page cache through the real server: Gunicorn workers sharing Redis via REDIS_URL, edits made by another
process, an essay falling due while the cache is warm, and a REDIS_URL nobody answers."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from harness.live_site import LiveSite, start_site
from harness.ports import free_port
from harness.project import RUN_CACHE_PREFIX, run_python
from harness.redis import redis_for_folio

pytestmark = pytest.mark.services

# A database of its own on the shared Redis, emptied of this run's keys afterwards (another run on the machine keys
# its own under its own prefix); never FLUSHDB on a shared server.
REDIS_DB = 11
ESSAY = "/essays/the-twelve-factor-settings-file/"
# The site's (the default): how long after a save in another process a worker may still serve the page it had.
PAGE_CACHE_STALE_SECONDS = 2.0


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
    with (
        redis_for_folio(REDIS_DB, RUN_CACHE_PREFIX) as redis,
        start_site(tmp_path_factory.mktemp("redis-site"), {"REDIS_URL": redis["REDIS_URL"]}) as site,
    ):
        yield site


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
    saved_by = time.monotonic()  # the other process has exited: its save is committed

    # Each worker reads the database's page generation at most once per PAGE_CACHE_STALE_SECONDS (the product's
    # bound, apps/content/pagecache/generation.py); once that has passed since the save, no page may be a hit.
    time.sleep(max(0.0, saved_by + PAGE_CACHE_STALE_SECONDS - time.monotonic()))
    for path in (ESSAY, "/?page=2"):
        status, cache, body = fetch(redis_site, path)
        assert (status, cache) == (200, "miss")
        assert "The Twelve-Factor Settings File, Revised" in body


def schedule_essay(site: LiveSite, slug: str, lead: float) -> datetime:
    """Create a published essay due `lead` seconds after the creating process is ready; returns when it is due."""
    # `due` is taken inside the process, after its start-up: a loaded machine's slow interpreter start does not
    # eat the lead.
    out = in_site(
        site,
        "from datetime import timedelta\n"
        "from django.utils import timezone\n"
        "from apps.content.models import Essay\n"
        "from apps.users.models import User\n"
        f"due = timezone.now() + timedelta(seconds={lead})\n"
        f"Essay.objects.create(title='Right on time', slug='{slug}', body='Due.', status='published',\n"
        "    published_at=due, author=User.objects.first())\n"
        "print(due.isoformat())\n",
    )
    return datetime.fromisoformat(out.strip().splitlines()[-1])


def test_a_scheduled_essay_appears_at_its_time_with_the_cache_warm(redis_site):
    # The list must be cached and seen without the essay before it falls due, or the check proves nothing. On a
    # loaded machine that can take longer than a short lead: then the essay is tried again with a longer one.
    for attempt, lead in enumerate((10, 30, 90)):
        slug = f"right-on-time-{attempt}"
        due = schedule_essay(redis_site, slug, lead)
        # The new essay changes the page generation, which each worker reads at most once per
        # PAGE_CACHE_STALE_SECONDS: a list stored before a worker has read it is a miss after. Once that bound has
        # passed, the list is rendered and stored knowing the essay is due (and so, valid only until then).
        time.sleep(PAGE_CACHE_STALE_SECONDS)
        fetch(redis_site, "/")
        _, cache, body = fetch(redis_site, "/")
        if datetime.now(UTC) < due:
            break
    else:
        pytest.fail("the machine took every lead (10, 30, 90 s) to warm the cache; nothing was checked")
    assert cache == "hit"
    assert f"/essays/{slug}/" not in body

    # Nothing runs at `due`; readers asking after it get the essay. Bounded: the lead plus 30 s, then it fails.
    deadline = time.monotonic() + lead + 30
    while f"/essays/{slug}/" not in body and time.monotonic() < deadline:
        time.sleep(0.25)
        _, _, body = fetch(redis_site, "/")
    assert f"/essays/{slug}/" in body
    assert datetime.now(UTC) >= due
    assert fetch(redis_site, f"/essays/{slug}/")[0] == 200


def test_an_unreachable_redis_url_still_serves_every_page(tmp_path):
    with start_site(tmp_path, {"REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}) as site:
        for path in ("/", ESSAY, "/feed/", "/sitemap.xml"):
            status, _, _ = fetch(site, path)
            assert status == 200, path
        assert fetch(site, ESSAY)[1] == "unavailable"
        log = site.log_text()

    assert "page cache unavailable (ConnectionError" in log
