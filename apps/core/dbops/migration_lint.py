"""Folio's migration policy on top of django-migration-linter: what may not reach a live PostgreSQL table.

The linter reads the SQL `sqlmigrate` prints for PostgreSQL and names the operations Squawk and strong_migrations
warn about. Folio treats every finding as an error, warnings included: a plain CREATE INDEX blocks writes for the
whole build, and a RunPython or RunSQL without a reverse leaves a failed deploy with no way back. A migration
that is safe anyway says so with the linter's `IgnoreMigration` operation and a comment saying why.

django-migration-linter is a development dependency: production images never import this module.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from django.apps import apps
from django.db import DEFAULT_DB_ALIAS, connections

# The analyser's rules are those of PostgreSQL, where Folio runs, whatever database the checker connects to.
ANALYSER = "postgresql"


@dataclass
class LintResult:
    app_label: str
    name: str
    problems: list[str] = field(default_factory=list)  # "CODE: message"

    @property
    def codes(self) -> set[str]:
        return {problem.split(":", 1)[0] for problem in self.problems}


def lint_migrations(
    app_labels: list[str], *, database: str = DEFAULT_DB_ALIAS, names: list[str] | None = None
) -> list[LintResult]:
    """Lint the migrations of `app_labels` (optionally only `names`); initial migrations create new tables only."""
    from django_migration_linter import MigrationLinter
    from django_migration_linter.sql_analyser.analyser import analyse_sql_statements, get_sql_analyser_class

    # It narrates every sqlmigrate call at INFO; the findings are what we report.
    logging.getLogger("django_migration_linter").setLevel(logging.WARNING)
    linter = MigrationLinter(
        database=database,
        no_cache=True,
        no_output=True,
        include_apps=app_labels,
        ignore_initial_migrations=True,
        all_warnings_as_errors=True,
        analyser_string=ANALYSER,
    )
    analyser = get_sql_analyser_class(connections[database].settings_dict["ENGINE"], analyser_string=ANALYSER)
    results = []
    for (app_label, name), migration in sorted(linter.migration_loader.disk_migrations.items()):
        if names is not None and name not in names:
            continue
        if linter.should_ignore_migration(app_label, name, migration.operations, is_initial=migration.initial):
            continue
        errors, _ignored, warnings = analyse_sql_statements(analyser, linter.get_sql(app_label, name))
        data_errors, _data_ignored, data_warnings = linter.analyse_data_migration(migration)
        issues = [*errors, *warnings, *data_errors, *data_warnings]
        results.append(LintResult(app_label, name, [f"{issue.code}: {issue.message}" for issue in issues]))
    return results


def folio_app_labels() -> list[str]:
    """The project's own apps: installed packages' migrations (Django's, third parties') are their maintainers'."""
    return [config.label for config in apps.get_app_configs() if "site-packages" not in Path(config.path).parts]


def linter_available() -> bool:
    try:
        import django_migration_linter  # noqa: F401
    except ImportError:
        return False
    return True
