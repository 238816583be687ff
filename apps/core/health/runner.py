"""Every health check runs in its own long-lived thread under one deadline (HEALTH_CHECK_TIMEOUT, below 2 s).

A dependency that accepts a connection and never answers costs a probe the deadline, not the probe's own
timeout. Probes that overlap share the run in flight; a run counts as stuck only once it has outlived a whole
deadline, and is then reported failed at once instead of piling up probes behind it. Outputs name checks and
outcomes only: no host names, credentials or tracebacks (those go to the log).
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
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


class _Lane:
    """One long-lived thread per check. Probes that arrive while a run is in flight share it instead of starting
    another (a crowd of probes costs one run, not one each), and the thread keeps its database connection between
    runs (Django's connections are per thread)."""

    def __init__(self, name: str) -> None:
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"health-{name}")
        self.run: Future | None = None
        self.started = 0.0


_lanes: dict[str, _Lane] = {}
_lanes_lock = threading.Lock()


def _safe_output(exc: BaseException) -> str:
    # Driver messages carry host names and ports ("connection to server at 10.0.3.7..."): only our own
    # messages and the exception's class name are shown.
    if isinstance(exc, CheckFailed):
        return str(exc)
    return f"unavailable ({type(exc).__name__})"


def _outcome(check: Check, started: float) -> tuple[str, float, str | None]:
    try:
        check.run()
    except Exception as exc:  # any failure is an outcome to report; the log keeps the detail
        logger.warning("health: %s check failed", check.name, exc_info=True)
        return check.on_failure, time.monotonic() - started, _safe_output(exc)
    return PASS, time.monotonic() - started, None


def _join_or_start(check: Check, timeout: float) -> Future | None:
    """The run this probe waits for: the one in flight, or a new one. None when the run in flight has already
    outlived a whole deadline: the check is stuck, and queueing behind it would only pile probes up."""
    with _lanes_lock:
        lane = _lanes.get(check.name) or _lanes.setdefault(check.name, _Lane(check.name))
        if lane.run is not None and not lane.run.done():
            return None if time.monotonic() - lane.started >= timeout else lane.run
        lane.started = time.monotonic()
        # copy_context: the check's log lines carry the id of the request that started it.
        lane.run = lane.executor.submit(contextvars.copy_context().run, _outcome, check, lane.started)
        return lane.run


def run_checks(checks: tuple[Check, ...], timeout: float | None = None) -> list[Result]:
    """Run `checks` concurrently; whatever has not finished by the deadline counts as failed ("timeout")."""
    timeout = settings.HEALTH_CHECK_TIMEOUT if timeout is None else timeout
    deadline = time.monotonic() + timeout
    runs = {check.name: _join_or_start(check, timeout) for check in checks}
    results = []
    for check in checks:
        run = runs[check.name]
        if run is None:
            status, seconds, output = check.on_failure, 0.0, "timeout (an earlier check is still waiting)"
        else:
            try:
                status, seconds, output = run.result(timeout=max(0.0, deadline - time.monotonic()))
            except FutureTimeout:
                logger.warning("health: %s check gave no answer within %.1f s", check.name, timeout)
                status, seconds, output = check.on_failure, timeout, "timeout"
        results.append(Result(check.name, status, round(seconds * 1000, 1), output, check.component_type))
    return results


def overall(results: list[Result]) -> str:
    statuses = {result.status for result in results}
    return FAIL if FAIL in statuses else WARN if WARN in statuses else PASS
