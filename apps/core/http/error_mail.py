"""Error mail to ADMINS: Django's AdminEmailHandler with the request id in the subject, and a limit per error.

settings.LOGGING puts `ErrorMailHandler` on `django.request` at ERROR, and it mails only records that carry an
exception: unhandled errors (the 500 page, or handler500's 503 for a database outage). A 5xx a view answers on
purpose (/health/ready's 503, polled every few seconds by load balancers) is logged, not mailed; a 4xx is a
WARNING there, and a bad Host goes to `django.security.DisallowedHost`, which has no mail handler.

The mail is sent in the failing request's own thread, before its 500 answers. A queue or a thread of our own
would free the response sooner, but the mail would die with a worker Gunicorn recycles and never leave a Vercel
function frozen after its response; EMAIL_TIMEOUT (5 s unless EMAIL_URL says otherwise) bounds each SMTP step
instead, and the limit below means only the first few of an error wait at all.

"The same error" is the same exception type raised at the same line (the innermost frame), so a broken page
that every reader hits, or a database outage under every view, is a handful of mails rather than one per request;
a different fault elsewhere still gets its own. At most settings.ERROR_MAIL_LIMIT per error within
settings.ERROR_MAIL_WINDOW of its first mail, counted in Django's cache (Redis when REDIS_URL is set: shared by
every process), or in this process while the cache fails.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from copy import copy

from django.conf import settings
from django.http import HttpRequest
from django.utils.log import AdminEmailHandler
from django.views.debug import SafeExceptionReporterFilter

from apps.core.http.request_id import current_request_id

# The count of an error in the cache (under CACHE_KEY_PREFIX, like every cache key).
COUNT_KEY = "error-mail"


def error_signature(exc: BaseException) -> str:
    """What makes two errors the same: the exception's type and the line that raised it (the innermost frame)."""
    innermost = exc.__traceback__
    while innermost is not None and innermost.tb_next is not None:
        innermost = innermost.tb_next
    where = f"{innermost.tb_frame.f_code.co_filename}:{innermost.tb_lineno}" if innermost else "-"
    parts = [type(exc).__module__, type(exc).__qualname__, where]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


class MailThrottle:
    """The first `limit` mails of an error pass; its count starts with the first and is forgotten `window` seconds
    later (no fixed clock windows: a burst across a boundary of those would pass twice the limit)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # signature -> (when its window started, mails counted in it); only while the cache fails.
        self._local: dict[str, tuple[float, int]] = {}

    def allows(self, signature: str, *, limit: int, window: int) -> bool:
        try:
            count = self._count_in_cache(f"{COUNT_KEY}:{signature}", window)
        except Exception:  # Redis down, or the error is the cache's own: the count moves into this process
            count = self._count_here(signature, window)
        return count <= limit

    @staticmethod
    def _count_in_cache(key: str, window: int) -> int:
        from django.core.cache import cache  # not at import: LOGGING builds this handler before the apps load

        # add() starts the window (a no-op when it runs already); incr() is atomic in Redis and in local memory, so
        # concurrent workers never draw the same number, and it keeps the key's expiry. A key expiring in between
        # makes incr() raise: counted here instead, once.
        cache.add(key, 0, timeout=window)
        return cache.incr(key)

    def _count_here(self, signature: str, window: int) -> int:
        now = time.monotonic()
        with self._lock:
            # Windows that ended are dropped: the dict holds at most the errors of the last `window` seconds.
            self._local = {known: kept for known, kept in self._local.items() if now - kept[0] < window}
            started, count = self._local.get(signature, (now, 0))
            self._local[signature] = (started, count + 1)
            return count + 1


def with_request_id(record: logging.LogRecord) -> logging.LogRecord:
    """A copy whose message ends with the request id, so the mail's subject and first line carry it."""
    request_id = getattr(getattr(record, "request", None), "request_id", None) or current_request_id()
    if not request_id:
        return record
    labelled = copy(record)
    # Rendered now, args dropped: a path holding "%" must not be formatted twice.
    labelled.msg = f"{record.getMessage()} (request id {request_id})"
    labelled.args = ()
    return labelled


class ErrorMailHandler(AdminEmailHandler):
    """AdminEmailHandler for unhandled exceptions only, each error limited, each mail labelled with its request."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.throttle = MailThrottle()

    def emit(self, record: logging.LogRecord) -> None:
        exc = record.exc_info[1] if record.exc_info else None
        if not settings.ADMINS or exc is None:
            return
        if not self.throttle.allows(
            error_signature(exc), limit=settings.ERROR_MAIL_LIMIT, window=settings.ERROR_MAIL_WINDOW
        ):
            return
        super().emit(with_request_id(record))


class ErrorReportFilter(SafeExceptionReporterFilter):
    """Django's filter of error reports (settings.DEFAULT_EXCEPTION_REPORTER_FILTER), hiding every cookie's value:
    Django hides only names that look secret, so the mail would carry `sessionid` in clear, a login for whoever
    reads the admins' mailbox (or the SMTP traffic, without TLS)."""

    def get_safe_cookies(self, request: HttpRequest) -> dict[str, str]:
        return {name: self.cleansed_substitute for name in getattr(request, "COOKIES", {})}
