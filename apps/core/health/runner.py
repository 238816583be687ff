"""Every health check runs in its own thread under one deadline (HEALTH_CHECK_TIMEOUT, below 2 s).

A dependency that accepts a connection and never answers costs a probe the deadline, not the probe's own
timeout. A check still stuck from an earlier probe is reported failed at once instead of piling up another
thread behind it. Outputs name checks and outcomes only: no host names, credentials or tracebacks (those go to
the log).
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings

logger = logging.getLogger(__name__)

PASS, WARN, FAIL = "pass", "warn", "fail"


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
