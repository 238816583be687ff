"""Log records that carry their request: a filter adding request_id and path, and a one-line JSON formatter.

settings.LOGGING attaches `RequestContextFilter` to the console handler, so every line — Django's, ours, a
library's — carries the id of the request that caused it (or "-" outside one). LOG_FORMAT=json swaps the
reference's verbose formatter for `JsonFormatter`: one object per line, what log collectors parse without rules.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from apps.core.http.request_id import current

NO_REQUEST = "-"


class RequestContextFilter(logging.Filter):
    """Adds request_id and path from the current request (status and duration stay None except on access lines)."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = current.get()
        if not hasattr(record, "request_id"):
            record.request_id = context.request_id if context else NO_REQUEST
        if not hasattr(record, "path"):
            record.path = context.path if context else None
        for name in ("status", "duration"):
            if not hasattr(record, name):
                setattr(record, name, None)
        return True


class WithoutTraceback(logging.Filter):
    """Keeps the message and drops the traceback: for records whose cause is the client, not the code (a Host not
    in ALLOWED_HOSTS is one line, not 14 that anyone can make the server write)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.exc_info = None
        record.exc_text = None
        return True


class JsonFormatter(logging.Formatter):
    """timestamp, level, logger, message, request_id, path, status, duration (ms), and the traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "timestamp": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", NO_REQUEST),
            "path": getattr(record, "path", None),
            "status": getattr(record, "status", None),
            "duration": getattr(record, "duration", None),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        # default=str: a record's arguments may be anything (a request, a path object); the line must still print.
        return json.dumps(line, default=str, ensure_ascii=False)
