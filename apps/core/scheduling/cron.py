"""The endpoint Vercel Cron calls (vercel.json `crons`): scheduled jobs, then the task queue, within a budget.

Vercel sends `Authorization: Bearer $CRON_SECRET` with every cron request; anything else gets 401, and without
a CRON_SECRET the endpoint does nothing at all rather than run for whoever finds the URL.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.utils.crypto import constant_time_compare, get_random_string
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .drain import task_queue_drain
from .due import scheduled_jobs_enqueue_due

logger = logging.getLogger(__name__)


def authorized(request: HttpRequest, secret: str) -> bool:
    """The whole header against the expected one, in constant time: no prefix or length leaks by timing."""
    return constant_time_compare(request.headers.get("Authorization", ""), f"Bearer {secret}")


@never_cache
@require_GET
def run(request: HttpRequest) -> JsonResponse:
    if not settings.CRON_SECRET:
        logger.error("cron: CRON_SECRET is not set, refusing to run; set it in the Vercel project (.env.example)")
        return JsonResponse({"error": "cron is not configured"}, status=503)
    if not authorized(request, settings.CRON_SECRET):
        response = JsonResponse({"error": "unauthorized"}, status=401)
        response["WWW-Authenticate"] = "Bearer"
        return response
    enqueued = scheduled_jobs_enqueue_due()
    report = task_queue_drain(budget=settings.TASKS_CRON_BUDGET, worker_id=f"cron-{get_random_string(16)}")
    logger.info(
        "cron: enqueued %s, ran %d tasks (%d failed), more=%s", enqueued, len(report.ran), report.failed, report.more
    )
    return JsonResponse({"enqueued": enqueued, "ran": len(report.ran), "failed": report.failed, "more": report.more})
