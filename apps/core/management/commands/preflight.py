"""`manage.py preflight --target vercel|vm|docker`: everything that should stop a deploy, in one report."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.core import preflight


class Command(BaseCommand):
    help = (
        "Check a deploy before it happens: check --deploy, the target's pitfalls, unapplied migrations and the "
        "migration linter. Exits non-zero on any error."
    )
    requires_system_checks = []  # preflight runs them itself, and reports them instead of stopping

    def add_arguments(self, parser) -> None:
        parser.add_argument("--target", required=True, choices=preflight.TARGETS, help="where this will run")

    def handle(self, *args, target: str, **options) -> None:
        sections = preflight.run(target)
        self.stdout.write(
            f"Folio preflight for {target}: settings {settings.SETTINGS_MODULE}, database {preflight.database_label()}"
        )
        for section in sections:
            if not section.findings:
                status = section.note or "ok"
                self.stdout.write(f"  {section.title}: {status}")
                continue
            self.stdout.write(f"  {section.title}:")
            for finding in section.findings:
                line = f"    {finding.level.upper():7} {finding.id}: {finding.message}"
                self.stdout.write(self.style.ERROR(line) if finding.level == "error" else self.style.WARNING(line))
                if finding.hint:
                    self.stdout.write(f"            {finding.hint}")
        problems = preflight.errors(sections)
        warnings = sum(1 for section in sections for finding in section.findings if finding.level == "warning")
        if problems:
            raise CommandError(f"preflight failed: {len(problems)} error(s), {warnings} warning(s).")
        self.stdout.write(self.style.SUCCESS(f"preflight passed for {target} ({warnings} warning(s))."))
