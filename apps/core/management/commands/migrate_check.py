"""`make migrate-check`: the reference's pre-deploy migration steps, plus the linter, in one command."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS

from apps.core.dbops.migration_lint import folio_app_labels, lint_migrations


class Command(BaseCommand):
    help = "showmigrations, migrate --plan, makemigrations --check and the migration linter; fails on any finding."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="Database alias (default: default).")

    def handle(self, *args: Any, **options: Any) -> None:
        database = options["database"]
        self.stdout.write(self.style.MIGRATE_HEADING("1/4 showmigrations"))
        call_command("showmigrations", database=database, stdout=self.stdout)
        self.stdout.write(self.style.MIGRATE_HEADING("2/4 migrate --plan"))
        call_command("migrate", plan=True, database=database, stdout=self.stdout)
        self.stdout.write(self.style.MIGRATE_HEADING("3/4 makemigrations --check"))
        try:
            call_command("makemigrations", check=True, dry_run=True, stdout=self.stdout)
        except SystemExit as exc:
            raise CommandError("Models changed without a migration: run `manage.py makemigrations`.") from exc
        self.stdout.write(self.style.MIGRATE_HEADING("4/4 migration linter (PostgreSQL rules)"))
        findings = [result for result in lint_migrations(folio_app_labels(), database=database) if result.problems]
        for result in findings:
            for problem in result.problems:
                self.stderr.write(f"{result.app_label}.{result.name}: {problem}")
        if findings:
            raise CommandError(
                f"{len(findings)} migration(s) are unsafe on a live database; split them (expand, backfill, "
                "contract) or mark one safe with django_migration_linter's IgnoreMigration and say why."
            )
        self.stdout.write(self.style.SUCCESS("Migrations are consistent and safe to deploy."))
