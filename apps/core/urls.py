from __future__ import annotations

from django.urls import path

from . import health

app_name = "core"

urlpatterns = [
    path("health/", health.health, name="health"),
    path("health/live", health.live, name="health_live"),
]
