"""The database settings against the pooling mode and the target: folio.E001–E007, W001, W002, E036.

Each rule reads a `DatabaseSetup`: the settings in force for a check run, or any other for
`database_problems()`, which tests and tools call with a configuration of their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.checks import Error, Warning

from config.database import POSTGRESQL

from . import targets
from .ids import VERCEL
from .rules import Rule, rule

SERVERLESS_OR_PRODUCTION = (".production", ".vercel")
SQLITE = "django.db.backends.sqlite3"
# PgBouncer's customary port, and Neon's pooled host names ("ep-...-pooler.region.aws.neon.tech").
POOLER_PORT = 6432
POOLER_HOST_MARK = "-pooler"


@dataclass(frozen=True)
class DatabaseSetup:
    databases: dict[str, dict[str, Any]]
    pool_mode: str  # DB_POOL
    settings_module: str
    # The entry DATABASE_DIRECT_URL made (settings.MIGRATION_DATABASE).
    migration_database: dict[str, Any] | None
    target: str | None

    @property
    def default(self) -> dict[str, Any]:
        return self.databases.get("default", {})

    @property
    def options(self) -> dict[str, Any]:
        return self.default.get("OPTIONS", {})


def setup_in_force(**kwargs: Any) -> tuple[DatabaseSetup]:
    setup = DatabaseSetup(
        settings.DATABASES,
        pool_mode=getattr(settings, "DB_POOL", "none"),
        settings_module=settings.SETTINGS_MODULE or "",
        migration_database=getattr(settings, "MIGRATION_DATABASE", None),
        target=targets.current(),
    )
    return (setup,)


def database_rule(check_id: str, *, hint: str):
    return rule(check_id, hint=hint, reads=setup_in_force)


@database_rule("folio.E001", hint="A pooled connection goes back to the pool after each request; set CONN_MAX_AGE=0.")
def pool_with_persistent_connections(setup: DatabaseSetup) -> str | None:
    if setup.options.get("pool") and setup.default.get("CONN_MAX_AGE", 0) != 0:
        return "Django's connection pool is on and CONN_MAX_AGE is not 0."
    return None


@database_rule(
    "folio.E002",
    hint=(
        "A transaction pooler hands the next transaction to another server connection, where "
        "an .iterator() cursor does not exist; set DISABLE_SERVER_SIDE_CURSORS=True."
    ),
)
def pgbouncer_with_server_side_cursors(setup: DatabaseSetup) -> str | None:
    if setup.pool_mode == "pgbouncer" and not setup.default.get("DISABLE_SERVER_SIDE_CURSORS"):
        return "DB_POOL=pgbouncer with server-side cursors enabled."
    return None


@database_rule(
    "folio.E003", hint="Remove OPTIONS['server_side_binding']: client-side binding is what transaction poolers need."
)
def pgbouncer_with_server_side_binding(setup: DatabaseSetup) -> str | None:
    if setup.pool_mode == "pgbouncer" and setup.options.get("server_side_binding"):
        return "DB_POOL=pgbouncer with server-side parameter binding."
    return None


@database_rule(
    "folio.E004",
    hint=(
        "A named prepared statement lives on one server connection; the next transaction may run "
        "on another. Remove prepare_threshold."
    ),
)
def pgbouncer_with_prepared_statements(setup: DatabaseSetup) -> str | None:
    if setup.pool_mode == "pgbouncer" and setup.options.get("prepare_threshold") is not None:
        return "DB_POOL=pgbouncer with prepared statements (OPTIONS['prepare_threshold'])."
    return None


@database_rule("folio.W001", hint="Set DATABASE_DIRECT_URL to a session-mode (direct) URL of the same database.")
def pgbouncer_without_direct_url(setup: DatabaseSetup) -> str | None:
    if setup.pool_mode == "pgbouncer" and setup.migration_database is None:
        return "DB_POOL=pgbouncer without DATABASE_DIRECT_URL: `migrate` will refuse to run."
    return None


@database_rule("folio.W002", hint="Use the provider's pooled URL with DB_POOL=pgbouncer instead.")
def native_pool_on_vercel(setup: DatabaseSetup) -> str | None:
    if setup.options.get("pool") and setup.target == VERCEL:
        return "DB_POOL=native on Vercel: every function instance keeps its own pool."
    return None


@database_rule(
    "folio.E005",
    hint=(
        "A VM's SQLite file does not survive a second server and Vercel's disk does not survive the "
        "request; set DATABASE_URL to PostgreSQL."
    ),
)
def sqlite_in_production(setup: DatabaseSetup) -> str | None:
    # config/settings/vercel.py refuses SQLite at start-up already; this is the same rule for a check run about
    # Vercel under other settings, and for production's.
    deployed = setup.settings_module.endswith(SERVERLESS_OR_PRODUCTION) or setup.target == VERCEL
    if deployed and setup.default.get("ENGINE") == SQLITE:
        where = "Vercel" if setup.target == VERCEL else setup.settings_module
        return f"SQLite as the database of {where}."
    return None


@database_rule(
    "folio.E006", hint="A frozen function keeps its connection open on the database; Vercel needs CONN_MAX_AGE=0."
)
def persistent_connections_on_vercel(setup: DatabaseSetup) -> str | None:
    if setup.target == VERCEL and any(db.get("CONN_MAX_AGE", 0) != 0 for db in setup.databases.values()):
        return "A persistent database connection (CONN_MAX_AGE > 0) on Vercel."
    return None


@database_rule(
    "folio.E007",
    hint="Migrations would change a database the site does not use; point both at the same database.",
)
def direct_url_names_another_database(setup: DatabaseSetup) -> str | None:
    direct, default = setup.migration_database, setup.default
    if direct and default.get("ENGINE") == POSTGRESQL and direct.get("NAME") != default.get("NAME"):
        return "DATABASE_DIRECT_URL names another database than DATABASE_URL."
    return None


@database_rule(
    "folio.E036", hint="Set DB_POOL=pgbouncer: .iterator() would otherwise fail with 'cursor does not exist'."
)
def pooler_url_with_server_side_cursors(setup: DatabaseSetup) -> str | None:
    """E002's twin for a pooler nobody declared: DB_POOL=pgbouncer is E002's, so each setup gets one of the two."""
    if setup.default.get("ENGINE") != POSTGRESQL or setup.pool_mode == "pgbouncer":
        return None
    host, port = str(setup.default.get("HOST") or ""), str(setup.default.get("PORT") or "")
    looks_pooled = port == str(POOLER_PORT) or POOLER_HOST_MARK in host
    if looks_pooled and not setup.default.get("DISABLE_SERVER_SIDE_CURSORS"):
        return (
            "DATABASE_URL looks like a transaction pooler (port 6432 or a -pooler host) while server-side "
            "cursors are on."
        )
    return None


RULES: tuple[Rule, ...] = (
    pool_with_persistent_connections,
    pgbouncer_with_server_side_cursors,
    pgbouncer_with_server_side_binding,
    pgbouncer_with_prepared_statements,
    pgbouncer_without_direct_url,
    native_pool_on_vercel,
    sqlite_in_production,
    persistent_connections_on_vercel,
    direct_url_names_another_database,
    pooler_url_with_server_side_cursors,
)


def database_problems(
    databases: dict[str, dict[str, Any]],
    *,
    pool_mode: str,
    settings_module: str,
    migration_database: dict[str, Any] | None = None,
) -> list[Error | Warning]:
    """What is wrong with `databases` for `pool_mode` (DB_POOL) under `settings_module` (which names the target)."""
    target = VERCEL if settings_module.endswith(".vercel") else None
    setup = DatabaseSetup(databases, pool_mode, settings_module, migration_database, target)
    return [problem for check in RULES for problem in check.messages(setup)]
