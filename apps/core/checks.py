"""System checks for deployment mistakes Django cannot see on its own (`manage.py check`, runserver, migrate).

Ids: folio.E001 to E019 and folio.W001 to W019 are the database's (this section); other areas number from 020.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Warning, register

from config.database import POSTGRESQL

SERVERLESS_OR_PRODUCTION = (".production", ".vercel")


# DATABASES


def database_problems(
    databases: dict[str, dict[str, Any]],
    *,
    pool_mode: str,
    settings_module: str,
    migration_database: dict[str, Any] | None = None,
) -> list[Error | Warning]:
    """What is wrong with `databases` for `pool_mode` (DB_POOL) under `settings_module` (the target);
    `migration_database` is the entry DATABASE_DIRECT_URL made (settings.MIGRATION_DATABASE)."""
    database = databases.get("default", {})
    options = database.get("OPTIONS", {})
    problems: list[Error | Warning] = []
    if options.get("pool") and database.get("CONN_MAX_AGE", 0) != 0:
        problems.append(
            Error(
                "Django's connection pool is on and CONN_MAX_AGE is not 0.",
                hint="A pooled connection goes back to the pool after each request; set CONN_MAX_AGE=0.",
                id="folio.E001",
            )
        )
    if pool_mode == "pgbouncer":
        problems += _transaction_pooler_problems(database, has_direct_url=migration_database is not None)
    if options.get("pool") and settings_module.endswith(".vercel"):
        problems.append(
            Warning(
                "DB_POOL=native on Vercel: every function instance keeps its own pool.",
                hint="Use the provider's pooled URL with DB_POOL=pgbouncer instead.",
                id="folio.W002",
            )
        )
    if settings_module.endswith(SERVERLESS_OR_PRODUCTION) and database.get("ENGINE") == "django.db.backends.sqlite3":
        problems.append(
            Error(
                f"SQLite as the database of {settings_module}.",
                hint=(
                    "A VM's SQLite file does not survive a second server and Vercel's disk does not survive the "
                    "request; set DATABASE_URL to PostgreSQL."
                ),
                id="folio.E005",
            )
        )
    if settings_module.endswith(".vercel") and any(db.get("CONN_MAX_AGE", 0) != 0 for db in databases.values()):
        problems.append(
            Error(
                "A persistent database connection (CONN_MAX_AGE > 0) on Vercel.",
                hint="A frozen function keeps its connection open on the database; Vercel needs CONN_MAX_AGE=0.",
                id="folio.E006",
            )
        )
    direct = migration_database
    if direct and database.get("ENGINE") == POSTGRESQL and direct.get("NAME") != database.get("NAME"):
        problems.append(
            Error(
                "DATABASE_DIRECT_URL names another database than DATABASE_URL.",
                hint="Migrations would change a database the site does not use; point both at the same database.",
                id="folio.E007",
            )
        )
    return problems


def _transaction_pooler_problems(database: dict[str, Any], *, has_direct_url: bool) -> list[Error | Warning]:
    options = database.get("OPTIONS", {})
    problems: list[Error | Warning] = []
    if not database.get("DISABLE_SERVER_SIDE_CURSORS"):
        problems.append(
            Error(
                "DB_POOL=pgbouncer with server-side cursors enabled.",
                hint=(
                    "A transaction pooler hands the next transaction to another server connection, where "
                    "an .iterator() cursor does not exist; set DISABLE_SERVER_SIDE_CURSORS=True."
                ),
                id="folio.E002",
            )
        )
    if options.get("server_side_binding"):
        problems.append(
            Error(
                "DB_POOL=pgbouncer with server-side parameter binding.",
                hint="Remove OPTIONS['server_side_binding']: client-side binding is what transaction poolers need.",
                id="folio.E003",
            )
        )
    if options.get("prepare_threshold") is not None:
        problems.append(
            Error(
                "DB_POOL=pgbouncer with prepared statements (OPTIONS['prepare_threshold']).",
                hint=(
                    "A named prepared statement lives on one server connection; the next transaction may run "
                    "on another. Remove prepare_threshold."
                ),
                id="folio.E004",
            )
        )
    if not has_direct_url:
        problems.append(
            Warning(
                "DB_POOL=pgbouncer without DATABASE_DIRECT_URL: `migrate` will refuse to run.",
                hint="Set DATABASE_DIRECT_URL to a session-mode (direct) URL of the same database.",
                id="folio.W001",
            )
        )
    return problems


@register("folio", "database")
def check_databases(app_configs=None, **kwargs) -> list[Error | Warning]:
    return database_problems(
        settings.DATABASES,
        pool_mode=getattr(settings, "DB_POOL", "none"),
        settings_module=settings.SETTINGS_MODULE or "",
        migration_database=getattr(settings, "MIGRATION_DATABASE", None),
    )
