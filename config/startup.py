"""Load settings before anything else, so a configuration mistake ends start-up with one readable line."""

from __future__ import annotations

import sys

from django.core.exceptions import ImproperlyConfigured


def load_settings_or_exit() -> None:
    """Import the settings module now; on ImproperlyConfigured print its sentence and exit with status 1."""
    from django.conf import settings

    try:
        settings.INSTALLED_APPS  # noqa: B018 - touching a setting is what imports the settings module
    except ImproperlyConfigured as exc:
        sys.exit(f"Folio cannot start: {exc}")
