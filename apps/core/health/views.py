"""The health endpoints, and the middleware that answers them ahead of the host check.

- `/health/` answers with exactly the reference's JSON (`status`, `database`; 200 ok / 503 degraded).
- `/health/live` checks nothing but the process: a liveness probe (and Docker's HEALTHCHECK) must not restart a
  container because the database blinked.
- `/health/ready`: database, migrations applied, cache, media storage (checks.py) — each with its duration in ms,
  all under one deadline (runner.py). A failed database or unapplied migrations answer 503; a failed cache or
  media storage only warns (200). The per-check detail goes only to HEALTH_DETAIL_FROM or HEALTH_DETAIL_TOKEN.

`HealthCheckMiddleware` answers these paths before SecurityMiddleware and the host check: probes speak plain HTTP
to a pod IP or localhost, which must get the real answer, not a 301 to HTTPS or a 400 for an unknown Host.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from datetime import UTC, datetime

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.crypto import constant_time_compare
from django.views.decorators.cache import never_cache

from .checks import LIVENESS_DATABASE, READINESS
from .runner import FAIL, PASS, WARN, Result, overall, run_checks

HEALTH_JSON = "application/health+json"
# The plain JSON speaks the reference's words; application/health+json speaks the IETF draft's.
PLAIN_WORDS = {PASS: "ok", WARN: "warn", FAIL: "error"}


def may_see_detail(request: HttpRequest) -> bool:
    """Whether the caller is one HEALTH_DETAIL_FROM names, or carries HEALTH_DETAIL_TOKEN; the public gets status."""
    token = settings.HEALTH_DETAIL_TOKEN
    if token and constant_time_compare(request.headers.get("Authorization", ""), f"Bearer {token}"):
        return True
    try:
        client = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(client in network for network in settings.HEALTH_DETAIL_FROM)


def wants_health_json(request: HttpRequest) -> bool:
    # Only an explicit ask: Django's request.accepts() would say yes to every `*/*`.
    return HEALTH_JSON in request.headers.get("Accept", "")


def health_json_response(status: str, results: list[Result]) -> JsonResponse:
    """The IETF draft's shape (draft-inadarei-api-health-check): pass/warn/fail, checks keyed name:measurement."""
    now = datetime.now(tz=UTC).isoformat(timespec="seconds")
    checks = {
        f"{result.name}:responseTime": [
            {
                "componentType": result.component_type,
                "observedValue": result.duration_ms,
                "observedUnit": "ms",
                "status": result.status,
                "time": now,
                **({"output": result.output} if result.output else {}),
            }
        ]
        for result in results
    }
    body = {"status": status, "checks": checks} if results else {"status": status}
    return JsonResponse(body, status=503 if status == FAIL else 200, content_type=HEALTH_JSON)


@never_cache
def health(request: HttpRequest) -> JsonResponse:
    """The reference's endpoint, body unchanged; only the database check is now bounded in time."""
    (result,) = run_checks(LIVENESS_DATABASE)
    ok = result.status == PASS
    if wants_health_json(request):
        return health_json_response(PASS if ok else FAIL, [result])
    body = {"status": "ok" if ok else "degraded", "database": "ok" if ok else "error"}
    return JsonResponse(body, status=200 if ok else 503)


@never_cache
def live(request: HttpRequest) -> JsonResponse:
    if wants_health_json(request):
        return health_json_response(PASS, [])
    return JsonResponse({"status": "ok"})


@never_cache
def ready(request: HttpRequest) -> JsonResponse:
    results = run_checks(READINESS)
    status = overall(results)
    if not may_see_detail(request):
        results = []  # the status alone: durations and failure kinds are for the operator
    if wants_health_json(request):
        return health_json_response(status, results)
    if not results:
        return JsonResponse({"status": PLAIN_WORDS[status]}, status=503 if status == FAIL else 200)
    body = {
        "status": PLAIN_WORDS[status],
        "checks": {
            result.name: {
                "status": PLAIN_WORDS[result.status],
                "duration_ms": result.duration_ms,
                **({"output": result.output} if result.output else {}),
            }
            for result in results
        },
    }
    return JsonResponse(body, status=503 if status == FAIL else 200)


ROUTES: dict[str, Callable[[HttpRequest], HttpResponse]] = {
    "/health/": health,
    "/health/live": live,
    "/health/ready": ready,
}


class HealthCheckMiddleware:
    """Answers /health/* ahead of SecurityMiddleware (HTTPS redirect) and the ALLOWED_HOSTS check.

    Nothing else is loosened: any other path, with any Host, goes through the full stack below.
    Only GET and HEAD: a probe never needs more, and nothing else should bypass CSRF and the host check.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        view = ROUTES.get(request.path_info)
        if view is not None and request.method in ("GET", "HEAD"):
            return view(request)
        return self.get_response(request)
