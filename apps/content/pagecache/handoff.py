"""The one contract between the front door (front.py) and the view decorator (readers.py), for one request.

Only the front door sees the headers the rest of the stack adds after the view has rendered (security headers,
CSP, Vary, Content-Length), so it is the front that stores a page it will later answer without Django. For a
request it means to store, it opens a Handoff around Django's handler; the decorator, finding one open, leaves its
rendered page there instead of storing it. Outside the front (the test client, an ASGI server, a reader the front
stays out of) no handoff is open and the decorator stores the page itself.

A context variable, not a WSGI environ key: the request object the view gets is built from the environ, but the
decorator should not depend on which server built it, and a context variable is also what carries the request id
(apps/core/http/request_id.py) from the outermost layer to the view.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass

from .entry import Pending


@dataclass
class Handoff:
    """Filled by the decorator with the page it rendered and did not store; read by the front once Django is done."""

    pending: Pending | None = None


_open: contextvars.ContextVar[Handoff | None] = contextvars.ContextVar("folio_page_cache_handoff", default=None)


@contextlib.contextmanager
def opened() -> Iterator[Handoff]:
    """For the front door: a handoff the decorator fills during the request handled inside."""
    handoff = Handoff()
    token = _open.set(handoff)
    try:
        yield handoff
    finally:
        _open.reset(token)


def leave(pending: Pending) -> bool:
    """For the decorator: leave `pending` to the front if one opened a handoff; False when the caller must store it."""
    handoff = _open.get()
    if handoff is None:
        return False
    handoff.pending = pending
    return True
