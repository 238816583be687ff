"""`manage.py preflight --target vercel|vm|docker`: everything that should stop a deploy, in one report.

A thin layer over Django's check framework: `check --deploy` narrowed to the target's rules (their tags, see
apps/core/checks/ids.py) and Django's own checks, plus the database probes. Any error stops the deploy, and so
does any warning but the advisory ones: a deploy should carry none.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core import checks
from django.core.management.base import BaseCommand, CommandError

from apps.core.checks import targets
from apps.core.checks.ids import CHECK_IDS, DOCKER, TARGETS, VERCEL, VM
from apps.core.dbops.migration_lint import linter_available


def findings(target: str) -> list[checks.CheckMessage]:
    """Each problem once, errors first, then by id."""
    with targets.checking_for(target):
        messages = checks.run_checks(tags=targets.preflight_tags(target), include_deployment_checks=True)
    found = [message for message in messages if not message.is_silenced() and message.level >= checks.WARNING]
    return sorted(found, key=lambda message: (-message.level, message.id or ""))


def stops_the_deploy(message: checks.CheckMessage) -> bool:
    entry = CHECK_IDS.get(message.id or "")
    return message.level >= checks.ERROR or not (entry and entry.advisory)


def database_label() -> str:
    """Engine and database name only: the report may end up in CI logs, so no host, user or password."""
    database = settings.DATABASES.get("default", {})
    engine = str(database.get("ENGINE", "")).rsplit(".", 1)[-1]
    name = Path(str(database.get("NAME", ""))).name if engine == "sqlite3" else database.get("NAME", "")
    return f"{engine}:{name}"


# What serves pages on each target, each process with its own memory and its own read of the page generation.
PAGE_PROCESSES = {VM: "Gunicorn worker", DOCKER: "Gunicorn worker", VERCEL: "function instance"}


def page_cache_bound(target: str) -> str:
    """How stale a cached page may be on `target` with these settings: the bound an editor can rely on."""
    keep = settings.PAGE_CACHE_STALE_IF_ERROR
    outage = "cached pages served until they expire" if keep else "pages rendered, so 503"
    return (
        f"page cache: an edit reaches every {PAGE_PROCESSES[target]} within {settings.PAGE_CACHE_STALE_SECONDS:g} s "
        f"(PAGE_CACHE_STALE_SECONDS); database unreachable: {outage} "
        f"(PAGE_CACHE_STALE_IF_ERROR={'true' if keep else 'false'})"
    )


class Command(BaseCommand):
    help = (
        "Check a deploy before it happens: check --deploy for the target, unapplied migrations and the migration "
        "linter. Exits non-zero on any error."
    )
    requires_system_checks = []  # preflight runs them itself, and reports them instead of stopping

    def add_arguments(self, parser) -> None:
        parser.add_argument("--target", required=True, choices=TARGETS, help="where this will run")

    def handle(self, *args, target: str, **options) -> None:
        found = findings(target)
        self.stdout.write(
            f"Folio preflight for {target}: settings {settings.SETTINGS_MODULE}, database {database_label()}"
        )
        self.stdout.write(f"  {page_cache_bound(target)}")
        for message in found:
            level = "ERROR" if stops_the_deploy(message) else "WARNING"
            line = f"  {level:7} {message.id}: {message.msg}"
            self.stdout.write(self.style.ERROR(line) if level == "ERROR" else self.style.WARNING(line))
            if message.hint:
                self.stdout.write(f"          {message.hint}")
        if not found:
            self.stdout.write("  no findings")
        if not linter_available():
            self.stdout.write("  migration linter: skipped, django-migration-linter is not installed (dev dependency)")
        errors = sum(1 for message in found if stops_the_deploy(message))
        warnings = len(found) - errors
        if errors:
            raise CommandError(f"preflight failed: {errors} error(s), {warnings} warning(s).")
        self.stdout.write(self.style.SUCCESS(f"preflight passed for {target} ({warnings} warning(s))."))
