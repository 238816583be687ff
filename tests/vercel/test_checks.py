"""folio.E020–E023: the serverless pitfalls `manage.py check` reports."""

from __future__ import annotations

from apps.core.checks.serverless import (
    cron_budget_of_nothing,
    tasks_backend_cron_cannot_drain,
    uploads_on_local_disk,
    weak_cron_secret,
)

S3 = {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {"bucket_name": "media"}}
DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def ids(problems) -> list[str]:
    return [problem.id for problem in problems]


def all_problems() -> list:
    checks = (uploads_on_local_disk, tasks_backend_cron_cannot_drain, cron_budget_of_nothing, weak_cron_secret)
    return [problem for check in checks for problem in check()]


def serverless(settings, **values):
    settings.SERVERLESS = True
    settings.STORAGES = {**settings.STORAGES, "default": S3}
    settings.TASKS = DATABASE_TASKS
    settings.CRON_SECRET = "x" * 32
    for name, value in values.items():
        setattr(settings, name, value)
    return settings


def test_a_well_configured_vercel_deploy_passes(settings):
    serverless(settings)
    assert all_problems() == []


def test_uploads_on_local_disk_on_vercel_are_an_error(settings):
    serverless(
        settings, STORAGES={**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}
    )
    assert ids(uploads_on_local_disk()) == ids(all_problems()) == ["folio.E020"]


def test_a_tasks_backend_the_cron_cannot_drain_is_an_error_on_vercel(settings):
    serverless(settings, TASKS={"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}})
    assert ids(tasks_backend_cron_cannot_drain()) == ids(all_problems()) == ["folio.E021"]


def test_a_cron_budget_of_zero_is_an_error(settings):
    settings.TASKS_CRON_BUDGET = 0
    assert ids(cron_budget_of_nothing()) == ids(all_problems()) == ["folio.E022"]


def test_a_missing_or_short_cron_secret_is_an_error_on_vercel(settings):
    serverless(settings, CRON_SECRET="")
    assert ids(weak_cron_secret()) == ids(all_problems()) == ["folio.E023"]
    settings.CRON_SECRET = "short"
    assert ids(weak_cron_secret()) == ids(all_problems()) == ["folio.E023"]


def test_outside_vercel_local_uploads_and_no_cron_secret_are_fine(settings):
    settings.SERVERLESS = False
    settings.CRON_SECRET = ""
    assert all_problems() == []
