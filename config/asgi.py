"""ASGI entry point, for servers that speak ASGI (uvicorn, daphne); Folio's targets use WSGI."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

application = get_asgi_application()
