"""Who the client is, behind nginx: trust the proxy's forwarding headers only from the proxy itself.

Gunicorn already decides the scheme (`wsgi.url_scheme`) from X-Forwarded-Proto only for peers in
`forwarded_allow_ips`, but it passes every other peer's X-Forwarded-* headers straight into the WSGI environ,
where Django's SECURE_PROXY_SSL_HEADER would believe a client that claims https. This middleware, put around the
app by config/wsgi.py wherever the settings ask for it (FILTER_FORWARDED_HEADERS: production, not Vercel), finishes
the job: from an untrusted peer the headers are dropped; from the proxy, REMOTE_ADDR becomes the client address
nginx saw (X-Real-IP, which nginx overwrites, never the client-supplied X-Forwarded-For), so Django and Gunicorn's
access log both name the real client.

The allow list is FORWARDED_ALLOW_IPS, read here once for Gunicorn's own setting (gunicorn.conf.py) and this
filter alike, so the two can never disagree about who the proxy is.
"""

from __future__ import annotations

import functools
import ipaddress
import os
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.types import WSGIApplication

# The headers a client could forge to pass for someone else, or for an https connection.
FORWARDING_KEYS = (
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_PROTOCOL",
    "HTTP_X_FORWARDED_SSL",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
    "HTTP_X_REAL_IP",
    "HTTP_FORWARDED",
)


# The proxy's address when nginx runs on the same machine. Not Gunicorn's own default ("127.0.0.1,::1"): the
# rendered nginx site connects over IPv4 loopback, and nothing else on the machine should pass for it.
DEFAULT_ALLOW = "127.0.0.1"


def forwarded_allow_ips() -> str:
    """Who may send forwarding headers: Gunicorn's forwarded_allow_ips format (see parse_allow_list)."""
    # The process environment, as Gunicorn reads its own configuration: gunicorn.conf.py runs before any .env.
    return os.environ.get("FORWARDED_ALLOW_IPS", DEFAULT_ALLOW)


def parse_allow_list(value: str | Iterable[str]) -> tuple[bool, list[ipaddress.IPv4Network | ipaddress.IPv6Network]]:
    """Gunicorn's forwarded_allow_ips format: addresses or networks, comma-separated, or `*` for anyone."""
    items = [item.strip() for item in (value.split(",") if isinstance(value, str) else value) if item.strip()]
    return "*" in items, [ipaddress.ip_network(item, strict=False) for item in items if item != "*"]


# Remembered: every request parses its peer and its X-Real-IP, and a handful of addresses (the proxy, the busiest
# clients) make most of them; parsing was the front door's costliest step on a cached page.
@functools.lru_cache(maxsize=4096)
def valid_ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


class TrustedProxyHeaders:
    """WSGI middleware: forwarding headers count only when the TCP peer is the proxy (or a unix socket)."""

    def __init__(self, app: WSGIApplication, allow: str | Iterable[str]) -> None:
        self.app = app
        self.allow_all, self.networks = parse_allow_list(allow)
        self.peer_is_proxy = functools.lru_cache(maxsize=4096)(self._peer_is_proxy)

    def _peer_is_proxy(self, peer: str) -> bool:
        if self.allow_all or not peer:  # no address: a unix socket only the proxy's user can open
            return True
        address = valid_ip(peer)
        return address is not None and any(ipaddress.ip_address(address) in net for net in self.networks)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        peer = environ.get("REMOTE_ADDR", "")
        if self.peer_is_proxy(peer):
            client = valid_ip(environ.get("HTTP_X_REAL_IP", ""))
            if client:
                environ["REMOTE_ADDR"] = client
        else:
            for key in FORWARDING_KEYS:
                environ.pop(key, None)
        return self.app(environ, start_response)
