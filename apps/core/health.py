"""Health checks for load balancers, orchestrators and Docker.

- `/health/` answers with exactly the reference's JSON (`status`, `database`; 200 ok / 503 degraded).
- `/health/live` checks nothing but the process: a liveness probe (and Docker's HEALTHCHECK) must not restart a
  container because the database blinked.
- `/health/ready`: database, migrations applied, cache, media storage — each with its duration in ms. A failed
  database or unapplied migrations take the instance out of rotation (503); a failed cache or media storage only
  warns (200): pages still render without them, and pulling every instance at once would be a full outage.

Every check runs in its own thread under one deadline (HEALTH_CHECK_TIMEOUT, below 2 s), so a dependency that
accepts a connection and never answers costs a probe the deadline, not the probe's own timeout. A check still
stuck from an earlier probe is reported failed at once instead of piling up another thread behind it.
Bodies name checks and outcomes only: no host names, credentials or tracebacks (those go to the log).

`HealthCheckMiddleware` answers these paths before SecurityMiddleware and the host check: probes speak plain HTTP
to a pod IP or localhost, which must get the real answer, not a 301 to HTTPS or a 400 for an unknown Host.
"""

from __future__ import annotations

import contextvars
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache

logger = logging.getLogger(__name__)

HEALTH_JSON = "application/health+json"
PASS, WARN, FAIL = "pass", "warn", "fail"
# The plain JSON speaks the reference's words; application/health+json speaks the IETF draft's.
PLAIN_WORDS = {PASS: "ok", WARN: "warn", FAIL: "error"}


class CheckFailed(Exception):
    """A dependency answered, but not as it should; the message is safe to show to anyone."""


@dataclass(frozen=True)
class Check:
    name: str
    run: Callable[[], None]
    # What a failure means for the instance: FAIL takes it out of rotation, WARN keeps it serving.
    on_failure: str
    component_type: str


@dataclass(frozen=True)
class Result:
    name: str
    status: str
    duration_ms: float
    output: str | None
    component_type: str


# CHECKS


def check_database() -> None:
    from django.db import connections

    connection = connections["default"]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    finally:
        # This thread's connection must not linger (or, pooled, stay checked out) after the probe.
        connection.close()


_migrations_applied = False


def check_migrations() -> None:
    """No unapplied migration for the code this process runs (remembered once true: migrations don't un-apply)."""
    global _migrations_applied
    if _migrations_applied:
        return
    from django.db import connections
    from django.db.migrations.executor import MigrationExecutor

    connection = connections["default"]
    try:
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    finally:
        connection.close()
    if plan:
        raise CheckFailed(f"{len(plan)} unapplied migration(s)")
    _migrations_applied = True


def check_cache() -> None:
    from django.core.cache import caches

    cache = caches["default"]
    key = f"folio:health:{uuid.uuid4().hex}"
    cache.set(key, "1", timeout=10)
    try:
        if cache.get(key) != "1":
            raise CheckFailed("value written was not read back")
    finally:
        cache.delete(key)


def check_media_storage() -> None:
    from django.core.files.storage import FileSystemStorage, storages

    storage = storages["default"]
    if isinstance(storage, FileSystemStorage):
        # FileSystemStorage creates MEDIA_ROOT on the first upload: the nearest existing folder must be writable.
        folder = Path(storage.location)
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        if not (folder.is_dir() and os.access(folder, os.W_OK)):
            raise CheckFailed("media folder is not writable")
        return
    # Object storage: a HEAD on a key that need not exist proves endpoint, credentials and bucket.
    storage.exists("health-probe")


READINESS = (
    Check("database", check_database, FAIL, "datastore"),
    Check("migrations", check_migrations, FAIL, "datastore"),
    Check("cache", check_cache, WARN, "datastore"),
    Check("storage", check_media_storage, WARN, "component"),
)
LIVENESS_DATABASE = (READINESS[0],)


# RUNNER

_in_flight: dict[str, threading.Thread] = {}
_in_flight_lock = threading.Lock()


def _safe_output(exc: BaseException) -> str:
    # Driver messages carry host names and ports ("connection to server at 10.0.3.7..."): only our own
    # messages and the exception's class name are shown.
    if isinstance(exc, CheckFailed):
        return str(exc)
    return f"unavailable ({type(exc).__name__})"


def run_checks(checks: tuple[Check, ...], timeout: float | None = None) -> list[Result]:
    """Run `checks` concurrently; whatever has not finished by the deadline counts as failed ("timeout")."""
    timeout = settings.HEALTH_CHECK_TIMEOUT if timeout is None else timeout
    deadline = time.monotonic() + timeout
    outcomes: dict[str, tuple[str, float, str | None]] = {}
    threads: dict[str, tuple[threading.Thread, float]] = {}

    def runner(check: Check, started: float) -> None:
        try:
            check.run()
        except Exception as exc:  # any failure is an outcome to report; the log keeps the detail
            logger.warning("health: %s check failed", check.name, exc_info=True)
            outcomes[check.name] = (check.on_failure, time.monotonic() - started, _safe_output(exc))
        else:
            outcomes[check.name] = (PASS, time.monotonic() - started, None)

    for check in checks:
        with _in_flight_lock:
            previous = _in_flight.get(check.name)
            if previous is not None and previous.is_alive():
                outcomes[check.name] = (check.on_failure, 0.0, "timeout (an earlier check is still waiting)")
                continue
            started = time.monotonic()
            # copy_context: the check's log lines carry this request's id.
            context = contextvars.copy_context()
            thread = threading.Thread(
                target=context.run, args=(runner, check, started), name=f"health-{check.name}", daemon=True
            )
            _in_flight[check.name] = thread
            thread.start()
            threads[check.name] = (thread, started)

    for name, (thread, started) in threads.items():
        thread.join(max(0.0, deadline - time.monotonic()))
        if thread.is_alive():
            check = next(c for c in checks if c.name == name)
            logger.warning("health: %s check gave no answer within %.1f s", name, timeout)
            outcomes[name] = (check.on_failure, time.monotonic() - started, "timeout")

    results = []
    for check in checks:
        status, seconds, output = outcomes[check.name]
        results.append(Result(check.name, status, round(seconds * 1000, 1), output, check.component_type))
    return results


def overall(results: list[Result]) -> str:
    statuses = {result.status for result in results}
    return FAIL if FAIL in statuses else WARN if WARN in statuses else PASS


# VIEWS


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
    if wants_health_json(request):
        return health_json_response(status, results)
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
