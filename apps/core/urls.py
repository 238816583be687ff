from __future__ import annotations

from django.urls import path

from .health import views as health
from .scheduling import cron

app_name = "core"

urlpatterns = [
    path("health/", health.health, name="health"),
    path("health/live", health.live, name="health_live"),
    path("health/ready", health.ready, name="health_ready"),
    # Vercel Cron calls this path (vercel.json `crons`); a test checks the two agree.
    path("cron/", cron.run, name="cron"),
]
