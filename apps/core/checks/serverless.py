"""The serverless (Vercel) pitfalls and background work: folio.E020–E023, W032."""

from __future__ import annotations

from django.conf import settings

from .rules import rule
from .targets import on_vercel

FILESYSTEM_STORAGE = "django.core.files.storage.FileSystemStorage"
MIN_CRON_SECRET_LENGTH = 16  # what Vercel recommends for CRON_SECRET


@rule("folio.E020", hint="Vercel's disk is gone after the invocation; set AWS_STORAGE_BUCKET_NAME (S3 or R2).")
def uploads_on_local_disk() -> str | None:
    if on_vercel() and settings.STORAGES.get("default", {}).get("BACKEND", "") == FILESYSTEM_STORAGE:
        return "Uploads are stored on the local disk of a serverless function."
    return None


@rule("folio.E021", hint="Only the database backend keeps tasks until the cron endpoint runs them.")
def tasks_backend_cron_cannot_drain() -> str | None:
    tasks_backend = settings.TASKS.get("default", {}).get("BACKEND", "")
    if on_vercel() and tasks_backend != "django_tasks_db.DatabaseBackend":
        return f"TASKS uses {tasks_backend or 'no backend'} on Vercel."
    return None


@rule("folio.E022", hint="Use a number of seconds well below the function's maxDuration in vercel.json, e.g. 40.")
def cron_budget_of_nothing() -> str | None:
    if settings.TASKS_CRON_BUDGET <= 0:
        return f"TASKS_CRON_BUDGET={settings.TASKS_CRON_BUDGET} leaves the cron endpoint no time to run tasks."
    return None


@rule("folio.E023", hint="Unset, cron never runs tasks; short, it can be guessed. Use 16+ random characters.")
def weak_cron_secret() -> str | None:
    if on_vercel() and len(settings.CRON_SECRET) < MIN_CRON_SECRET_LENGTH:
        return "CRON_SECRET is unset or shorter than 16 characters on Vercel."
    return None


@rule(
    "folio.W032", hint="Vercel's runtime picks config.settings.vercel through VERCEL=1; check with the same settings."
)
def vercel_target_without_vercel_settings() -> str | None:
    if on_vercel() and not getattr(settings, "SERVERLESS", False):
        return f"Settings are {settings.SETTINGS_MODULE}, not config.settings.vercel."
    return None
