"""Gunicorn for Folio: the reference's values, each overridable from the environment (see .env.example).

Run from the project root: `gunicorn -c gunicorn.conf.py config.wsgi`. Read by Gunicorn, not by Django, so the
variables here are plain os.environ reads with a readable error when one is malformed; FORWARDED_ALLOW_IPS is read
by config/proxy.py, which the WSGI stack (config/wsgi.py) asks too. What runs inside the workers, from the proxy
filter to Django's middleware, is built in config/wsgi.py alone.
"""

from __future__ import annotations

import multiprocessing
import os

from config.proxy import forwarded_allow_ips as _forwarded_allow_ips


def _whole_number(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise SystemExit(f"Folio cannot start: {name}={raw!r} is not a whole number above 0; see .env.example.")
    return int(raw)


# Loopback, not the reference's 0.0.0.0: behind nginx on the same machine nothing else should reach Gunicorn,
# and everything that does bypasses nginx's TLS, limits and headers. Docker sets 0.0.0.0:8000 (nginx is another
# container); a unix socket is `unix:/run/folio/gunicorn.sock`.
bind = [os.environ.get("GUNICORN_BIND", "127.0.0.1:8000").strip()]

# Forwarding headers (X-Forwarded-Proto, X-Real-IP) count only from the proxy; config/proxy.py, in the WSGI stack
# of config/wsgi.py, drops them from anyone else, with the same allow list (FORWARDED_ALLOW_IPS). Docker: nginx
# runs in another container, so name its address or network there.
forwarded_allow_ips = _forwarded_allow_ips()

workers = _whole_number("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1)
worker_class = "gthread"
threads = _whole_number("GUNICORN_THREADS", 4)
# Generous, as in the reference: an admin upload or a slow database should not get a worker killed mid-request.
timeout = _whole_number("GUNICORN_TIMEOUT", 120)
# Seconds an idle connection (nginx's upstream pool) stays open, as in the reference; the rendered nginx site
# drops its idle connections a second earlier, so it never reuses one Gunicorn is closing.
keepalive = 5

# Logs to stdout/stderr, which systemd's journal and Docker collect. The client is REMOTE_ADDR after
# config/proxy.py (the address nginx saw); the request id is the one Django answered with; the worker's pid
# (`pid=<1234>`) says which process answered, as each worker keeps its own memory (the page cache without Redis).
errorlog = "-"
accesslog = "-"
loglevel = "info"
access_log_format = (
    '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms pid=%(p)s rid=%({x-request-id}o)s'
)

# Signals (systemctl reload → HUP) are how Folio's Gunicorn is managed; the control socket's shared default path
# ($HOME/.gunicorn/gunicorn.ctl) would collide between two instances on one machine.
control_socket_disable = True
