"""The database itself: it answers (folio.E041), has no unapplied migration (E042), its migrations pass the
linter (E043).

Only a run that names its target (preflight) reports them: `manage.py migrate`, `check --deploy` and every other
command leave the database alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import DEFAULT_DB_ALIAS

from .rules import rule
from .targets import current_run


@dataclass(frozen=True)
class DatabaseState:
    error: str | None  # why the database did not answer; None when it did
    unapplied: list[str] = field(default_factory=list)  # "app_label.name", in the order migrate would apply them


def database_state() -> DatabaseState:
    """One attempt per check run: three probes must not wait three connect timeouts for a silent database."""
    run = current_run()
    if run is not None and "database" in run.found:
        return run.found["database"]
    state = _probe()
    if run is not None:
        run.found["database"] = state
    return state


def _probe() -> DatabaseState:
    from django.db import connections
    from django.db.migrations.executor import MigrationExecutor

    connection = connections[DEFAULT_DB_ALIAS]
    try:
        connection.ensure_connection()
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception as exc:  # any failure to reach the database is the finding
        return DatabaseState(f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:200]}")
    return DatabaseState(None, [f"{migration.app_label}.{migration.name}" for migration, _backwards in plan])


@rule(
    "folio.E041",
    hint="Check DATABASE_URL, the network path and credentials; migrations could not be checked.",
)
def database_silent() -> str | None:
    error = database_state().error
    return f"The database does not answer ({error})." if error else None


@rule(
    "folio.E042",
    hint="Run `manage.py migrate` (the release step) before the new code serves traffic.",
)
def unapplied_migrations() -> str | None:
    unapplied = database_state().unapplied
    return f"{len(unapplied)} unapplied migration(s): {', '.join(unapplied)}." if unapplied else None


@rule(
    "folio.E043",
    hint="Split it (expand, backfill, contract) or mark it safe with django_migration_linter's IgnoreMigration and "
    "say why.",
)
def unsafe_migrations() -> list[str]:
    from apps.core.dbops.migration_lint import folio_app_labels, lint_migrations, linter_available

    if database_state().error or not linter_available():
        return []  # a silent database is E041's; the linter is a dev dependency, absent from production images
    results = lint_migrations(folio_app_labels())
    return [
        f"Migration {result.app_label}.{result.name}: {problem}." for result in results for problem in result.problems
    ]
