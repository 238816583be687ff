"""What a cached page is, and the one way a hit is answered, whoever answers it (the front door or the decorator).

A page keeps its body and the headers that describe the page or the site's policy, the same for every reader
without a session (PAGE_HEADERS). Nothing else is kept, because anything else may belong to the first reader; a
response that sets a cookie or carries a CSP nonce is not stored at all.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

HEADER = "X-Folio-Cache"

Headers = tuple[tuple[str, str], ...]

PAGE_HEADERS = frozenset(
    {
        "content-type",
        "content-length",
        "content-language",
        "vary",
        "cache-control",
        "expires",
        "last-modified",
        "content-security-policy",
        "content-security-policy-report-only",
        "x-frame-options",
        "strict-transport-security",
        "x-content-type-options",
        "referrer-policy",
        "cross-origin-opener-policy",
        "cross-origin-resource-policy",
        "permissions-policy",
        "x-robots-tag",
    }
)


class Entry(NamedTuple):
    # The page generation (generation.py) the page was rendered under: served only while it is still current.
    generation: int
    valid_until: float
    content: bytes
    # The page-level headers of the response, filtered by page_headers().
    headers: Headers
    # True when `headers` are what the whole stack sent (the front door stored the page after Django's middleware
    # ran), so the front may answer without Django; False when the view stored them, before the middleware added
    # its own: then only the decorator serves the entry, and the middleware adds them again on the way out.
    whole_stack: bool


class Pending(NamedTuple):
    """A rendered page on its way into the cache: its key, the entry, and how long the backend should keep it."""

    name: str
    entry: Entry
    timeout: int


def page_headers(headers: Iterable[tuple[str, str]]) -> Headers | None:
    """The page-level headers of a response, or None when it must not be stored for everyone."""
    headers = tuple(headers)
    for name, value in headers:
        lowered = name.lower()
        if lowered == "set-cookie" or (lowered.startswith("content-security-policy") and "'nonce-" in value):
            return None
    return tuple((name, value) for name, value in headers if name.lower() in PAGE_HEADERS)


def hit_headers(entry: Entry) -> list[tuple[str, str]]:
    """The headers of every hit: the stored page headers, and the mark that says it came from the cache."""
    return [*entry.headers, (HEADER, "hit")]
