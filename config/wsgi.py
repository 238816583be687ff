"""WSGI entry point for Gunicorn (`config.wsgi:application`) and Vercel (`app`, the name Vercel looks up).

Production settings by default; on Vercel, whose runtime sets `VERCEL=1`, the vercel settings instead.
"""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

from config.startup import load_settings_or_exit

os.environ.setdefault(
    "DJANGO_SETTINGS_MODULE",
    "config.settings.vercel" if os.environ.get("VERCEL") else "config.settings.production",
)

load_settings_or_exit()
# Cached pages are answered in front of Django's handler (apps/content/front.py); everything else goes through.
application = get_wsgi_application()

from django.conf import settings  # noqa: E402

from apps.content.front import PageCacheFront  # noqa: E402 - needs the settings loaded above
from config.release import with_release_header  # noqa: E402

# Outermost: cached pages carry the answering build's X-Folio-Release too (config/release.py).
application = with_release_header(PageCacheFront(application), settings.RELEASE)
app = application
