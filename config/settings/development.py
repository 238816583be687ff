"""Local development: DEBUG on, SQLite unless DATABASE_URL says otherwise, e-mail to the console."""

from __future__ import annotations

from .base import *

# Development is always DEBUG; set DJANGO_SETTINGS_MODULE=config.settings.production to try the real thing.
DEBUG = True
# A fixed development key keeps sessions across restarts; production.py refuses anything like it.
SECRET_KEY = SECRET_KEY or "django-insecure-development-only-never-deploy-this-key"
ALLOWED_HOSTS = [*ALLOWED_HOSTS, "localhost", "127.0.0.1", "[::1]"]
INTERNAL_IPS = ["127.0.0.1"]
