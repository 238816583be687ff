"""The machine's Redis (127.0.0.1:6379) for tests: a database number and a key prefix of the test's own, and its
keys deleted afterwards. Never FLUSHDB: other runs on the machine (a developer's and CI's, parallel worktrees)
share the server and its databases."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator

from harness.availability import unavailable
from harness.ports import port_open

REDIS = ("127.0.0.1", 6379)


def redis_url(db: int) -> str:
    return f"redis://{REDIS[0]}:{REDIS[1]}/{db}"


def forget_keys(url: str, prefix: str) -> None:
    """Delete every key under `prefix` in the database `url` names."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}:*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@contextlib.contextmanager
def redis_for_folio(db: int, prefix: str = "") -> Iterator[dict[str, str]]:
    """REDIS_URL and CACHE_KEY_PREFIX for a Folio server (a fresh prefix unless given); Redis missing is the tier's
    `unavailable`; the prefix's keys are deleted on the way out, whatever happened."""
    if not port_open(*REDIS):
        unavailable(f"Redis is not listening on {REDIS[0]}:{REDIS[1]}")
    url, prefix = redis_url(db), prefix or f"folio-test-{secrets.token_hex(6)}"
    try:
        yield {"REDIS_URL": url, "CACHE_KEY_PREFIX": prefix}
    finally:
        forget_keys(url, prefix)
