"""libpq's TCP limits for a dead link (config/database.py TCP_LIMITS) reach the socket of a real connection: the
kernel, not a setting, is what probes an idle connection and gives up on unacknowledged data."""

from __future__ import annotations

import os
import socket

import pytest

from config.database import TCP_LIMITS, database_entry

pytestmark = pytest.mark.postgres


def test_a_connection_from_the_settings_carries_the_tcp_limits_on_its_socket(server):
    options = database_entry(server.url("postgres"))["OPTIONS"]
    limits = {name: options[name] for name in TCP_LIMITS}
    with server.connect(**limits) as connection, socket.socket(fileno=os.dup(connection.pgconn.socket)) as sock:
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 30
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL) == 10
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT) == 3
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT) == 10_000


def test_a_url_may_set_its_own_limits():
    own = database_entry("postgres://folio@db.example.org/folio?keepalives_idle=120")
    assert int(own["OPTIONS"]["keepalives_idle"]) == 120
    assert own["OPTIONS"]["tcp_user_timeout"] == TCP_LIMITS["tcp_user_timeout"]
