"""The migration linter (make migrate-check) fails on each unsafe kind of migration and passes Folio's own.

tests/migration_fixtures/unsafe_app holds one migration per unsafe kind, plus a safe control; it is installed
only inside these tests.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from apps.core.dbops.migration_lint import folio_app_labels, lint_migrations
from harness.project import ROOT

# sqlmigrate of a CONCURRENTLY migration refuses to run inside the test-case transaction.
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

FIXTURE_APP = "tests.migration_fixtures.unsafe_app"

UNSAFE_KINDS = {
    "0002_not_null_column_without_default": "NOT_NULL",
    "0003_drop_column": "DROP_COLUMN",
    "0004_rename_column": "RENAME_COLUMN",
    "0005_drop_table": "DROP_TABLE",
    "0006_rename_table": "RENAME_TABLE",
    "0007_column_type_change": "ALTER_COLUMN",
    "0008_index_not_concurrent": "CREATE_INDEX",
    "0009_unique_on_existing_table": "ADD_UNIQUE",
    "0010_irreversible_runpython": "RUNPYTHON_REVERSIBLE",
    "0011_irreversible_runsql": "RUNSQL_REVERSIBLE",
}


@pytest.fixture
def unsafe_app():
    with override_settings(INSTALLED_APPS=[*settings.INSTALLED_APPS, FIXTURE_APP]):
        yield "unsafe_app"


def lint_one(app_label: str, name: str) -> set[str]:
    (result,) = lint_migrations([app_label], names=[name])
    return result.codes


@pytest.mark.parametrize(("migration", "code"), UNSAFE_KINDS.items(), ids=list(UNSAFE_KINDS))
def test_the_linter_catches_each_unsafe_kind(unsafe_app, migration, code):
    assert lint_one(unsafe_app, migration) == {code}


def test_the_linter_lets_an_expand_with_a_reversible_backfill_through(unsafe_app):
    assert lint_one(unsafe_app, "0012_safe_expand") == set()


def test_folios_own_migrations_pass_the_linter():
    results = lint_migrations(folio_app_labels())
    assert {(r.app_label, r.name) for r in results} >= {
        ("content", "0003_essay_visible_idx"),
        ("content", "0004_add_word_count"),
        ("content", "0005_backfill_word_count"),
    }
    assert {f"{r.app_label}.{r.name}": r.problems for r in results if r.problems} == {}


def test_migrate_check_passes_on_folio_and_fails_with_an_unsafe_app(unsafe_app, capsys):
    with override_settings(INSTALLED_APPS=[a for a in settings.INSTALLED_APPS if a != FIXTURE_APP]):
        call_command("migrate_check")
    assert "Migrations are consistent and safe to deploy." in capsys.readouterr().out

    with pytest.raises(CommandError, match="unsafe on a live database"):
        call_command("migrate_check")
    assert "unsafe_app.0003_drop_column: DROP_COLUMN" in capsys.readouterr().err


def test_the_fixture_app_is_in_no_real_settings():
    for module in (ROOT / "config" / "settings").glob("*.py"):
        assert "migration_fixtures" not in module.read_text(), module.name
    assert FIXTURE_APP not in settings.INSTALLED_APPS
