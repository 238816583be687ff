from django.apps import AppConfig
from django.conf import settings


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"

    def ready(self) -> None:
        # Importing registers the system checks (their ids: apps/core/checks/ids.py).
        from .checks import database, deploy, hosts, probes, security, serverless  # noqa: F401

        # Imported only when asked for: sentry-sdk costs a serverless cold start real time (http/sentry.py).
        if settings.SENTRY_DSN:
            from .http import sentry

            sentry.start()
