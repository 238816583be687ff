"""Health checks for load balancers and probes.

`/health/` answers with exactly the reference's JSON; `/health/live` checks nothing but the process itself,
for liveness probes and Docker's HEALTHCHECK, which must not restart a container because the database blinked.
"""

from __future__ import annotations

import logging

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache

logger = logging.getLogger(__name__)


def database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # any failure means "not serving"; the log keeps the reason, the body does not
        logger.warning("health: database check failed", exc_info=True)
        return False
    return True


@never_cache
def health(request: HttpRequest) -> JsonResponse:
    ok = database_ok()
    body = {"status": "ok" if ok else "degraded", "database": "ok" if ok else "error"}
    return JsonResponse(body, status=200 if ok else 503)


@never_cache
def live(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})
