"""A deadline on every wait for PostgreSQL's answer in a web process (DB_QUERY_DEADLINE, seconds; 0 turns it off).

A kept-open connection to a database that stops answering while its kernel still acknowledges (a frozen server
process, a stopped VM's host, the suite's fault proxy set to hang) is seen by no TCP limit: keepalives and
`tcp_user_timeout` fire only for a link that stops acknowledging. psycopg then waits forever, and a gthread
worker's thread with it (Gunicorn's `timeout` ends no stuck thread). Here every wait for the server's answer —
queries, commits, Django's own `SELECT 1` health check of a kept connection — is armed on one watchdog thread per
process; a wait that outlives the deadline has its socket shut down, psycopg raises OperationalError, Django
drops the connection, and the site's error handler answers 503 (apps/core/http/errors.py).

A request therefore waits at most the deadline, plus DATABASE_CONNECT_TIMEOUT for the reconnect Django tries
after it (the README's "Operations" gives the numbers). Installed by config/wsgi.py only: `migrate`, backfills
and the task worker run long statements on purpose and have their own limits.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
import weakref
from collections.abc import Iterator

from django.db.backends.signals import connection_created

logger = logging.getLogger("config.query_deadline")


class Watchdog:
    """Shuts down the socket of any armed wait that outlives its deadline. One thread per process, started on
    first use (and again in a forked child, which inherits no threads); it sleeps until the earliest deadline, and
    without any armed wait until told, so arming a wait costs a dictionary entry, not a wake-up."""

    def __init__(self) -> None:
        self._armed: dict[int, tuple[float, int]] = {}  # token -> (due, socket fd)
        self._next_token = 0
        self._forget_parent()
        # A child forked while the parent's watchdog held the lock would wait on it forever: it starts afresh.
        os.register_at_fork(after_in_child=self._forget_parent)

    def _forget_parent(self) -> None:
        self._condition = threading.Condition()
        self._armed.clear()
        self._idle = True
        self._pid = 0

    @contextlib.contextmanager
    def armed(self, fd: int, seconds: float) -> Iterator[None]:
        with self._condition:
            if self._pid != os.getpid():
                self._start()
            token = self._next_token = self._next_token + 1
            self._armed[token] = (time.monotonic() + seconds, fd)
            if self._idle:
                self._idle = False
                self._condition.notify()
        try:
            yield
        finally:
            with self._condition:
                cut = self._armed.pop(token, None) is None
            if cut:  # said here, in the waiting thread, so that the line carries its request's id
                logger.warning("database: no answer within %s s, connection closed (DB_QUERY_DEADLINE)", f"{seconds:g}")

    def _start(self) -> None:
        self._pid = os.getpid()
        threading.Thread(target=self._watch, name="folio-query-deadline", daemon=True).start()

    def _watch(self) -> None:
        with self._condition:
            while True:
                now = time.monotonic()
                for token, (due, fd) in list(self._armed.items()):
                    if due <= now:
                        del self._armed[token]
                        _shut_down(fd)
                if self._armed:
                    self._condition.wait(min(due for due, _ in self._armed.values()) - now)
                else:
                    self._idle = True
                    self._condition.wait()


def _shut_down(fd: int) -> None:
    # Shutting down a duplicate descriptor shuts down the one socket both name: psycopg's wait sees end-of-file at
    # once, while the descriptor itself stays psycopg's to close.
    with contextlib.suppress(OSError), socket.socket(fileno=os.dup(fd)) as duplicate:
        duplicate.shutdown(socket.SHUT_RDWR)


WATCHDOG = Watchdog()


def install(seconds: float) -> None:
    """Bound every PostgreSQL connection this process opens from now on (pooled ones included)."""
    if seconds > 0:
        connection_created.connect(_bounded(seconds), weak=False, dispatch_uid="folio.query_deadline")


def _bounded(seconds: float):
    def bound_waits(sender, connection, **kwargs) -> None:
        raw = connection.connection
        if connection.vendor != "postgresql" or "wait" in vars(raw):
            return  # not PostgreSQL, or a pooled connection bound at an earlier checkout
        # Every blocking exchange of a psycopg connection after it is open goes through its `wait`. A weak
        # reference: the connection's own attribute must not keep it alive.
        connection_ref = weakref.ref(raw)

        def wait(*args, **kwargs):
            bound = connection_ref()
            with WATCHDOG.armed(bound.pgconn.socket, seconds):
                return type(bound).wait(bound, *args, **kwargs)

        raw.wait = wait

    return bound_waits
