from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"

    def ready(self) -> None:
        # Importing registers the system checks (folio.E0xx / W0xx).
        from . import checks, serverless_checks  # noqa: F401
