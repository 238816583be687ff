"""The query deadline's watchdog (config/query_deadline.py) on a socket pair: a wait that outlives its deadline
finds its socket shut down and a line in the log; a wait that ends in time leaves the socket alone. The deadline
against a frozen PostgreSQL under Gunicorn is tests/operations/test_faults.py's."""

from __future__ import annotations

import logging
import socket
import time

from config.query_deadline import Watchdog

# The watchdog's own deadline in these tests; the reader's timeout is the test's bound, far past it.
DEADLINE, READER_GIVES_UP = 0.2, 30


def test_a_wait_past_its_deadline_finds_its_socket_shut_down_and_says_so(caplog):
    watchdog = Watchdog()
    ours, theirs = socket.socketpair()
    with ours, theirs:
        ours.settimeout(READER_GIVES_UP)
        started = time.monotonic()
        with caplog.at_level(logging.WARNING, logger="config.query_deadline"), watchdog.armed(ours.fileno(), DEADLINE):
            assert ours.recv(1) == b""  # end-of-file: the peer never wrote, the watchdog shut the socket down
        assert DEADLINE <= time.monotonic() - started < READER_GIVES_UP
    assert caplog.messages == ["database: no answer within 0.2 s, connection closed (DB_QUERY_DEADLINE)"]


def test_a_wait_that_ends_in_time_leaves_the_socket_alone(caplog):
    watchdog = Watchdog()
    ours, theirs = socket.socketpair()
    with ours, theirs, caplog.at_level(logging.WARNING, logger="config.query_deadline"):
        for _ in range(100):
            with watchdog.armed(ours.fileno(), DEADLINE):
                theirs.sendall(b"x")
                assert ours.recv(1) == b"x"
        time.sleep(DEADLINE * 2)  # past every deadline armed above: none may fire once disarmed
        theirs.sendall(b"y")
        assert ours.recv(1) == b"y"
    assert caplog.messages == []
