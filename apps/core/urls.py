from __future__ import annotations

from django.urls import path

from .health import views as health
from .http.deferred_views import ImportedOnFirstRequest

app_name = "core"

urlpatterns = [
    path("health/", health.health, name="health"),
    path("health/live", health.live, name="health_live"),
    path("health/ready", health.ready, name="health_ready"),
    # Vercel Cron calls this path (vercel.json `crons`); a test checks the two agree. Imported by its first request:
    # the task worker it drains by is no part of a cold start.
    path("cron/", ImportedOnFirstRequest("apps.core.scheduling.cron.run"), name="cron"),
]
