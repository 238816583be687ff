"""A bounded read load: a few client threads, each on a kept-open connection, until a request count or a time limit,
whichever comes first. Through the load balancer of harness/hosts.py (its Bed), or at one server (OneServer).

    with ReadLoad(bed, paths, threads=4, max_requests=1500, max_seconds=90) as load:
        load.wait_for_requests(40)      # running, proven by answers
        ...                             # the fault, inside the window
    load.failures(), load.window()

A failed request is an exception (refused, reset, timed out) or any status but 200: what a reader would see.
"""

from __future__ import annotations

import http.client
import itertools
import ssl
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Protocol

from harness.hosts import Response

# A reader's patience, and more than nginx needs to pass a request stuck on a dead host to the next one
# (GUNICORN_TIMEOUT in the bed, 10 s, plus the connect timeout).
CLIENT_TIMEOUT = 30.0
# Seconds each client waits between its requests: a steady reader load, not a benchmark, on a 2-core machine
# others share (4 threads: at most 80 requests a second).
PACE = 0.05
# What a kept-open connection the server closed between two requests looks like to the client (a reload's old
# nginx workers close their idle keep-alive connections). Browsers, curl and urllib3 send an idempotent request
# again on a new connection then (RFC 9112, 9.3.1); so does this client, once, and counts it.
CLOSED_UNDER_US = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


class Target(Protocol):
    """Where the load goes: harness.hosts.Bed, or OneServer."""

    def connection(self, *, timeout: float) -> http.client.HTTPConnection: ...

    def request(self, method: str, path: str, *, connection: http.client.HTTPConnection) -> Response: ...


@dataclass
class OneServer:
    """One server, asked as a proxy or a reader would (`headers`: Host, X-Forwarded-Proto), over HTTPS with `tls`.
    With `Connection: close` each request opens a connection of its own: no kept-open connection to lose, so any
    error is a request the server failed."""

    host: str
    port: int
    headers: dict[str, str] = field(default_factory=dict)
    tls: ssl.SSLContext | None = None

    def connection(self, *, timeout: float) -> http.client.HTTPConnection:
        if self.tls:
            return http.client.HTTPSConnection(self.host, self.port, timeout=timeout, context=self.tls)
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def request(self, method: str, path: str, *, connection: http.client.HTTPConnection) -> Response:
        connection.request(method, path, headers=self.headers)
        answer = connection.getresponse()
        return Response(answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read())


@dataclass(frozen=True)
class Outcome:
    started: float
    ended: float
    status: int  # 0: no answer at all
    release: str
    error: str = ""


class ReadLoad:
    def __init__(
        self,
        bed: Target,
        paths: list[str],
        *,
        threads: int,
        max_requests: int,
        max_seconds: float,
        pace: float = PACE,
        client_timeout: float = CLIENT_TIMEOUT,
    ) -> None:
        self.bed = bed
        self.paths = itertools.cycle(paths)
        self.threads = threads
        self.max_requests = max_requests
        self.max_seconds = max_seconds
        self.pace = pace
        self.client_timeout = client_timeout
        # Requests sent again on a fresh connection because the server closed a kept-open one as it was reused.
        self.resent = 0
        self.outcomes: list[Outcome] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._workers: list[threading.Thread] = []
        self.began = 0.0

    def __enter__(self) -> ReadLoad:
        self.began = time.monotonic()
        self._workers = [threading.Thread(target=self._run, daemon=True) for _ in range(self.threads)]
        for worker in self._workers:
            worker.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join(self.client_timeout + 10)

    def _next(self) -> str | None:
        with self._lock:
            over = len(self.outcomes) >= self.max_requests or time.monotonic() - self.began > self.max_seconds
            return None if over or self._stop.is_set() else next(self.paths)

    def _get(self, connection: http.client.HTTPSConnection | None, path: str):
        """(connection, response): a kept-open connection the server closed is replaced once."""
        if connection is not None:
            try:
                return connection, self.bed.request("GET", path, connection=connection)
            except CLOSED_UNDER_US:
                connection.close()
                with self._lock:
                    self.resent += 1
        connection = self.bed.connection(timeout=self.client_timeout)
        return connection, self.bed.request("GET", path, connection=connection)

    def _run(self) -> None:
        connection: http.client.HTTPSConnection | None = None
        while (path := self._next()) is not None:
            started = time.monotonic()
            try:
                connection, response = self._get(connection, path)
                outcome = Outcome(started, time.monotonic(), response.status, response.release)
                if response.headers.get("connection", "").lower() == "close":
                    connection.close()
                    connection = None
            except (OSError, http.client.HTTPException) as exc:
                outcome = Outcome(started, time.monotonic(), 0, "", f"{type(exc).__name__}: {exc}")
                if connection is not None:
                    connection.close()
                connection = None
            with self._lock:
                self.outcomes.append(outcome)
            self._stop.wait(self.pace)
        if connection is not None:
            connection.close()

    # WHAT HAPPENED

    def count(self) -> int:
        with self._lock:
            return len(self.outcomes)

    def done(self) -> bool:
        return not any(worker.is_alive() for worker in self._workers)

    def wait_for_requests(self, count: int, *, release: str = "", after: float = 0.0) -> None:
        """Until `count` requests (answered by `release`, started after `after`, when given) have completed."""
        while True:
            with self._lock:
                matching = [o for o in self.outcomes if o.started >= after and (not release or o.release == release)]
            if len(matching) >= count:
                return
            if self.done():
                raise AssertionError(f"the load ended ({self.summary()}) before {count} such requests")
            time.sleep(0.05)

    def failures(self) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if outcome.status != 200]

    def window(self) -> tuple[float, float]:
        """From the first request's start to the last answer."""
        return min(o.started for o in self.outcomes), max(o.ended for o in self.outcomes)

    def summary(self) -> str:
        by_host = Counter(outcome.release or "no answer" for outcome in self.outcomes)
        statuses = Counter(outcome.status for outcome in self.outcomes)
        errors = Counter(outcome.error.split(":")[0] for outcome in self.outcomes if outcome.error)
        return (
            f"{len(self.outcomes)} requests, by host {dict(by_host)}, statuses {dict(statuses)}"
            + (f", errors {dict(errors)}" if errors else "")
            + f", {self.resent} sent again after a kept-open connection was closed"
        )
