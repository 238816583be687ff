"""What `manage.py preflight --target vercel|vm|docker` checks before a deploy, as one report.

Order: Django's system checks with the deployment ones (`check --deploy`, which include folio's database,
serverless and operations checks; any warning counts as an error here), then the pitfalls the deployment
reference names for the target, then the database: reachable, no unapplied migration, migrations that pass the
linter. Ids folio.E030–E049 / W030–W049 belong to this module and apps/core/operations_checks.py.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from config.env import check_secret_key

TARGETS = ("vercel", "vm", "docker")
ERROR, WARNING = "error", "warning"
FILESYSTEM_STORAGE = "django.core.files.storage.FileSystemStorage"
POSTGRESQL = "django.db.backends.postgresql"
SQLITE = "django.db.backends.sqlite3"
# PgBouncer's customary port, and Neon's pooled host names ("ep-...-pooler.region.aws.neon.tech").
POOLER_PORT = 6432
POOLER_HOST_MARK = "-pooler"


@dataclass(frozen=True)
class Finding:
    level: str
    id: str
    message: str
    hint: str = ""


@dataclass(frozen=True)
class Section:
    title: str
    findings: list[Finding]
    # Shown instead of "ok" when the section had nothing to check (e.g. linter not installed).
    note: str = ""


# SYSTEM CHECKS


def system_checks() -> list[Finding]:
    """`manage.py check --deploy`, with every warning promoted: a deploy should carry none."""
    messages = checks.run_checks(include_deployment_checks=True)
    findings = []
    for message in messages:
        if message.is_silenced() or message.level < checks.WARNING:
            continue
        findings.append(Finding(ERROR, message.id or "check", str(message.msg), message.hint or ""))
    return findings


# EVERY TARGET


def common_pitfalls() -> list[Finding]:
    findings = []
    if settings.DEBUG:
        findings.append(
            Finding(
                ERROR,
                "folio.E030",
                "DEBUG is on.",
                "Tracebacks with settings would be shown to anyone; unset DEBUG (production's default is false).",
            )
        )
    try:
        check_secret_key("DJANGO_SECRET_KEY", settings.SECRET_KEY or "")
    except ImproperlyConfigured:
        findings.append(
            Finding(
                ERROR,
                "folio.E031",
                "DJANGO_SECRET_KEY is a default, a placeholder or shorter than 50 characters.",
                "Generate one: python -c 'import secrets; print(secrets.token_urlsafe(50))'.",
            )
        )
    if not settings.ALLOWED_HOSTS:
        findings.append(
            Finding(ERROR, "folio.E032", "ALLOWED_HOSTS is empty.", "List the site's host names in ALLOWED_HOSTS.")
        )
    elif "*" in settings.ALLOWED_HOSTS:
        findings.append(
            Finding(
                ERROR,
                "folio.E033",
                "ALLOWED_HOSTS contains '*'.",
                "Any Host header is then trusted, in password-reset links too; list the real host names.",
            )
        )
    findings.extend(static_files_pitfalls())
    findings.extend(pooler_pitfalls())
    return findings


def static_files_pitfalls() -> list[Finding]:
    backend = settings.STORAGES.get("staticfiles", {}).get("BACKEND", "")
    if "s3" in backend.lower() or getattr(settings, "WHITENOISE_USE_FINDERS", False):
        return []  # files live in a bucket, or are served straight from the apps' folders: no STATIC_ROOT
    root = Path(settings.STATIC_ROOT) if settings.STATIC_ROOT else None
    if root is None or not root.is_dir() or not any(root.iterdir()):
        return [
            Finding(
                ERROR,
                "folio.E034",
                f"STATIC_ROOT ({root or 'unset'}) is missing or empty.",
                "Run `manage.py collectstatic --noinput` in the build (Docker image, Vercel builder, VM deploy).",
            )
        ]
    if "Manifest" in backend and not (root / "staticfiles.json").is_file():
        return [
            Finding(
                ERROR,
                "folio.E035",
                "STATIC_ROOT has no staticfiles.json manifest: every page with a stylesheet would fail (500).",
                "Run `manage.py collectstatic --noinput` with these settings.",
            )
        ]
    return []


def pooler_pitfalls() -> list[Finding]:
    database = settings.DATABASES.get("default", {})
    if database.get("ENGINE") != POSTGRESQL:
        return []
    host, port = str(database.get("HOST") or ""), str(database.get("PORT") or "")
    looks_pooled = port == str(POOLER_PORT) or POOLER_HOST_MARK in host
    if looks_pooled and not database.get("DISABLE_SERVER_SIDE_CURSORS"):
        return [
            Finding(
                ERROR,
                "folio.E036",
                "DATABASE_URL looks like a transaction pooler (port 6432 or a -pooler host) while server-side "
                "cursors are on.",
                "Set DB_POOL=pgbouncer: .iterator() would otherwise fail with 'cursor does not exist'.",
            )
        ]
    return []


# PER TARGET


def vercel_pitfalls() -> list[Finding]:
    findings = []
    if not getattr(settings, "SERVERLESS", False):
        findings.append(
            Finding(
                WARNING,
                "folio.W032",
                f"Settings are {settings.SETTINGS_MODULE}, not config.settings.vercel.",
                "Vercel's runtime picks config.settings.vercel through VERCEL=1; check with the same settings.",
            )
        )
    databases = settings.DATABASES.values()
    if any(database.get("ENGINE") == SQLITE for database in databases):
        findings.append(
            Finding(
                ERROR,
                "folio.E037",
                "SQLite on Vercel: the function's disk is thrown away, and every write with it.",
                "Set DATABASE_URL to a managed PostgreSQL (Neon, Supabase), its pooled URL with DB_POOL=pgbouncer.",
            )
        )
    if settings.STORAGES.get("default", {}).get("BACKEND") == FILESYSTEM_STORAGE:
        findings.append(
            Finding(
                ERROR,
                "folio.E038",
                "Uploads go to local disk on Vercel, which is ephemeral.",
                "Set AWS_STORAGE_BUCKET_NAME (S3, or R2 with AWS_S3_ENDPOINT_URL).",
            )
        )
    if any(database.get("CONN_MAX_AGE", 0) != 0 for database in databases):
        findings.append(
            Finding(
                ERROR,
                "folio.E039",
                "Persistent database connections (CONN_MAX_AGE > 0) on serverless.",
                "A frozen function keeps its connection open on the database; use CONN_MAX_AGE=0.",
            )
        )
    if any(database.get("OPTIONS", {}).get("pool") for database in databases):
        findings.append(
            Finding(
                ERROR,
                "folio.E040",
                "An in-process connection pool (DB_POOL=native) on serverless: each instance keeps its own.",
                "Use the provider's pooled URL with DB_POOL=pgbouncer.",
            )
        )
    return findings


def vm_pitfalls() -> list[Finding]:
    return proxy_pitfalls()


def docker_pitfalls() -> list[Finding]:
    findings = proxy_pitfalls()
    if settings.STORAGES.get("default", {}).get("BACKEND") == FILESYSTEM_STORAGE and not on_mounted_volume(
        Path(settings.MEDIA_ROOT)
    ):
        findings.append(
            Finding(
                WARNING,
                "folio.W033",
                f"Uploads go to MEDIA_ROOT ({settings.MEDIA_ROOT}), which is not a mounted volume here.",
                "In a container they would vanish with it: mount a named volume there or set AWS_STORAGE_BUCKET_NAME.",
            )
        )
    return findings


def proxy_pitfalls() -> list[Finding]:
    if settings.SECURE_SSL_REDIRECT and not settings.SECURE_PROXY_SSL_HEADER:
        return [
            Finding(
                WARNING,
                "folio.W034",
                "SECURE_SSL_REDIRECT is on but Django does not trust X-Forwarded-Proto.",
                "Behind nginx or a load balancer that ends TLS, every request would redirect to itself: set "
                "BEHIND_PROXY=true (or SECURE_SSL_REDIRECT=false when Django itself is never reached over HTTP).",
            )
        ]
    return []


def on_mounted_volume(path: Path) -> bool:
    path = path.resolve()
    for folder in (path, *path.parents):
        if folder == Path(folder.anchor):
            return False
        if folder.exists() and os.path.ismount(folder):
            return True
    return False


TARGET_PITFALLS: dict[str, Callable[[], list[Finding]]] = {
    "vercel": vercel_pitfalls,
    "vm": vm_pitfalls,
    "docker": docker_pitfalls,
}
# A target pitfall that a system check already reported is not reported twice.
SAME_AS = {
    "folio.E037": "folio.E005",
    "folio.E038": "folio.E020",
    "folio.E039": "folio.E006",
    "folio.E036": "folio.E002",
}


# DATABASE


def database_findings() -> tuple[list[Finding], list[Finding]]:
    """(migrations, linter): the database must answer before either can be checked."""
    from django.db import connections
    from django.db.migrations.executor import MigrationExecutor

    connection = connections["default"]
    try:
        connection.ensure_connection()
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception as exc:  # any failure to reach the database is the finding
        unreachable = Finding(
            ERROR,
            "folio.E041",
            f"The database does not answer ({type(exc).__name__}: {str(exc).strip().splitlines()[0][:200]}).",
            "Check DATABASE_URL, the network path and credentials; migrations could not be checked.",
        )
        return [unreachable], []
    migrations = []
    if plan:
        names = ", ".join(f"{migration.app_label}.{migration.name}" for migration, _backwards in plan)
        migrations.append(
            Finding(
                ERROR,
                "folio.E042",
                f"{len(plan)} unapplied migration(s): {names}.",
                "Run `manage.py migrate` (the release step) before the new code serves traffic.",
            )
        )
    return migrations, lint_findings()


def lint_findings() -> list[Finding]:
    try:
        from apps.core.dbops.migration_lint import folio_app_labels, lint_migrations
    except ImportError:
        return []
    try:
        results = lint_migrations(folio_app_labels())
    except ImportError:
        return []  # django-migration-linter is a dev dependency: not in production images
    return [
        Finding(ERROR, "folio.E043", f"Migration {result.app_label}.{result.name}: {problem}.")
        for result in results
        for problem in result.problems
    ]


def linter_available() -> bool:
    try:
        import django_migration_linter  # noqa: F401
    except ImportError:
        return False
    return True


# REPORT


def run(target: str) -> list[Section]:
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}; use one of {', '.join(TARGETS)}")
    system = system_checks()
    reported = {finding.id for finding in system}
    pitfalls = [
        finding
        for finding in [*common_pitfalls(), *TARGET_PITFALLS[target]()]
        if SAME_AS.get(finding.id) not in reported
    ]
    migrations, lint = database_findings()
    linter_note = "" if linter_available() else "skipped: django-migration-linter is not installed (dev dependency)"
    return [
        Section("check --deploy", system),
        Section(f"{target} pitfalls", pitfalls),
        Section("migrations applied", migrations),
        Section("migration linter", lint, note=linter_note),
    ]


def errors(sections: Iterable[Section]) -> list[Finding]:
    return [finding for section in sections for finding in section.findings if finding.level == ERROR]


def database_label() -> str:
    """Engine and database name only: the report may end up in CI logs, so no host, user or password."""
    database = settings.DATABASES.get("default", {})
    engine = str(database.get("ENGINE", "")).rsplit(".", 1)[-1]
    name = Path(str(database.get("NAME", ""))).name if engine == "sqlite3" else database.get("NAME", "")
    return f"{engine}:{name}"
