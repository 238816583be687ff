"""The DATABASES entry for each pooling mode (DB_POOL), built from values base.py read from the environment;
every option (pool sizes, connect timeout) is an argument here, never patched into the entry afterwards.

- `none`: one connection per worker thread, kept CONN_MAX_AGE seconds (development, small VMs).
- `native`: Django 5.2's psycopg pool in every process; CONN_MAX_AGE must be 0, the pool keeps the connections.
- `pgbouncer`: PgBouncer or a provider's pooled URL (Neon) in transaction mode: a server connection belongs to
  us only for one transaction, so nothing may span two — no server-side cursor (a named cursor lives across
  transactions), no named prepared statement. CONN_MAX_AGE=0 because PgBouncer does the reusing.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured

from config.env import HINT, parse_database_url

POOL_MODES = ("none", "native", "pgbouncer")
POSTGRESQL = "django.db.backends.postgresql"
# libpq's TCP limits for a dead link (a peer that no longer acknowledges: a cut cable, a vanished host), which no
# query deadline of a non-web process sees. An idle kept connection is probed after 30 s and declared dead after
# 3 unanswered probes 10 s apart (60 s); data sent and not acknowledged for 10 s fails the connection. A database
# that acknowledges but stops answering is config/query_deadline.py's case. A URL's own ?keepalives_idle= wins.
TCP_LIMITS = {
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
    "tcp_user_timeout": 10_000,  # milliseconds
}


def database_entry(
    url: str,
    *,
    name: str = "DATABASE_URL",
    pool: str = "none",
    conn_max_age: int = 60,
    pool_min_size: int = 2,
    pool_max_size: int = 4,
    pool_timeout: float = 2.0,
    connect_timeout: int | None = None,
) -> dict[str, Any]:
    """A DATABASES entry for `url` in pooling mode `pool`; a mode the URL cannot support stops start-up.

    `connect_timeout` (seconds) bounds each new PostgreSQL connection, unless the URL's own `?connect_timeout=` does.
    """
    if pool not in POOL_MODES:
        modes = ", ".join(POOL_MODES)
        raise ImproperlyConfigured(f"DB_POOL={pool!r} is not a pooling mode: use one of {modes}; {HINT}.")
    entry = parse_database_url(name, url, conn_max_age=conn_max_age, conn_health_checks=True)
    if entry["ENGINE"] == POSTGRESQL:
        options = entry.setdefault("OPTIONS", {})
        for option, value in TCP_LIMITS.items():
            options.setdefault(option, value)
        if connect_timeout is not None:
            options.setdefault("connect_timeout", connect_timeout)
    if pool == "none":
        return entry
    if entry["ENGINE"] != POSTGRESQL:
        raise ImproperlyConfigured(f"DB_POOL={pool} needs a PostgreSQL {name}; use DB_POOL=none for SQLite; {HINT}.")
    entry["CONN_MAX_AGE"] = 0
    entry.setdefault("OPTIONS", {})
    if pool == "native":
        if not 0 <= pool_min_size <= pool_max_size or pool_max_size < 1:
            raise ImproperlyConfigured(
                f"DB_POOL_MIN_SIZE={pool_min_size} and DB_POOL_MAX_SIZE={pool_max_size} make no pool: "
                f"need 0 <= min <= max and max >= 1; {HINT}."
            )
        if pool_timeout <= 0:
            raise ImproperlyConfigured(f"DB_POOL_TIMEOUT={pool_timeout} must be a positive number of seconds; {HINT}.")
        # A request waits at most `timeout` for a free connection, then fails (a 500, or 503 from /health/)
        # instead of hanging while the load balancer's own health check times out.
        entry["OPTIONS"]["pool"] = {"min_size": pool_min_size, "max_size": pool_max_size, "timeout": pool_timeout}
    else:
        entry["DISABLE_SERVER_SIDE_CURSORS"] = True
        # Django already binds parameters on the client and never prepares statements unless told to; spelled
        # out here so that nobody turns either on for a transaction pooler (folio.E003, folio.E004).
        entry["OPTIONS"]["server_side_binding"] = False
        entry["OPTIONS"]["prepare_threshold"] = None
    return entry


def direct_entry(url: str, default: dict[str, Any], *, name: str = "DATABASE_DIRECT_URL") -> dict[str, Any]:
    """The session-mode connection migrations use in place of `default`: same database, no pooler, no pool."""
    entry = parse_database_url(name, url, conn_max_age=0, conn_health_checks=True)
    if entry["ENGINE"] != default["ENGINE"]:
        raise ImproperlyConfigured(f"{name} and DATABASE_URL must name the same kind of database; {HINT}.")
    return entry
