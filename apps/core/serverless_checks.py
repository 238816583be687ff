"""System checks for the serverless (Vercel) pitfalls and background work: folio.E020–E029."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, register

MIN_CRON_SECRET_LENGTH = 16  # what Vercel recommends for CRON_SECRET


def _serverless() -> bool:
    return getattr(settings, "SERVERLESS", False)


@register("folio", Tags.compatibility)
def check_serverless_storage(app_configs=None, **kwargs) -> list[Error]:
    problems = []
    backend = settings.STORAGES.get("default", {}).get("BACKEND", "")
    if _serverless() and backend == "django.core.files.storage.FileSystemStorage":
        problems.append(
            Error(
                "Uploads are stored on the local disk of a serverless function.",
                hint="Vercel's disk is gone after the invocation; set AWS_STORAGE_BUCKET_NAME (S3 or R2).",
                id="folio.E020",
            )
        )
    tasks_backend = settings.TASKS.get("default", {}).get("BACKEND", "")
    if _serverless() and tasks_backend != "django_tasks_db.DatabaseBackend":
        problems.append(
            Error(
                f"TASKS uses {tasks_backend or 'no backend'} on Vercel.",
                hint="Only the database backend keeps tasks until the cron endpoint runs them.",
                id="folio.E021",
            )
        )
    if settings.TASKS_CRON_BUDGET <= 0:
        problems.append(
            Error(
                f"TASKS_CRON_BUDGET={settings.TASKS_CRON_BUDGET} leaves the cron endpoint no time to run tasks.",
                hint="Use a number of seconds well below the function's maxDuration in vercel.json, e.g. 40.",
                id="folio.E022",
            )
        )
    return problems


@register("folio", Tags.security, deploy=True)
def check_cron_secret(app_configs=None, **kwargs) -> list[Error]:
    if _serverless() and len(settings.CRON_SECRET) < MIN_CRON_SECRET_LENGTH:
        return [
            Error(
                "CRON_SECRET is unset or shorter than 16 characters on Vercel.",
                hint="Unset, cron never runs tasks; short, it can be guessed. Use 16+ random characters.",
                id="folio.E023",
            )
        ]
    return []
