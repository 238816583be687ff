"""Several app hosts (WEB_HOSTS) need every piece of per-visitor state shared: folio.E044.

Behind one load balancer a visitor's next request lands on any host. A session kept on one host logs them out on
the next; an upload kept on one host's disk is a broken image on every page the others render (and nginx, on its
own machine, has none of them). A per-host cache is allowed: the page cache follows an edit on any host through
the database-kept generation (apps/content/pagecache/generation.py) within PAGE_CACHE_STALE_SECONDS; Redis only
saves each host rendering the page once.
"""

from __future__ import annotations

from django.conf import settings

from .rules import rule
from .serverless import FILESYSTEM_STORAGE

# Caches that live on one host, or in one process: sessions kept in one are lost on the next host.
HOST_LOCAL_CACHES = frozenset(
    {
        "django.core.cache.backends.locmem.LocMemCache",
        "django.core.cache.backends.filebased.FileBasedCache",
        "django.core.cache.backends.dummy.DummyCache",
    }
)
# Session engines that keep the session in the database or a (shared) cache, or in the signed cookie itself.
SHARED_SESSIONS = frozenset(
    {
        "django.contrib.sessions.backends.db",
        "django.contrib.sessions.backends.cached_db",
        "django.contrib.sessions.backends.signed_cookies",
    }
)
CACHE_SESSIONS = "django.contrib.sessions.backends.cache"


def host_local_state() -> list[str]:
    """What these settings keep on one host: empty when any host can serve any request."""
    cache = settings.CACHES.get("default", {}).get("BACKEND", "")
    engine = settings.SESSION_ENGINE
    local = []
    if engine not in SHARED_SESSIONS and not (engine == CACHE_SESSIONS and cache not in HOST_LOCAL_CACHES):
        local.append(f"sessions (SESSION_ENGINE {engine} on a {cache.rsplit('.', 1)[1]}: set REDIS_URL)")
    if settings.STORAGES.get("default", {}).get("BACKEND") == FILESYSTEM_STORAGE:
        local.append(f"uploads (MEDIA_ROOT {settings.MEDIA_ROOT}: set AWS_STORAGE_BUCKET_NAME)")
    return local


@rule(
    "folio.E044",
    hint="Share them (database sessions or REDIS_URL, AWS_STORAGE_BUCKET_NAME) or name one host in WEB_HOSTS.",
)
def several_hosts_with_host_local_state() -> str | None:
    hosts = settings.WEB_HOSTS
    local = host_local_state()
    if len(hosts) > 1 and local:
        return f"WEB_HOSTS names {len(hosts)} app hosts, but these stay on each host: {'; '.join(local)}."
    return None
