"""VM and Docker: required secrets, HTTPS everywhere, persistent connections by default."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from config.env import check_secret_key, require, running_collectstatic

from .base import *

# BUILD
# Only collectstatic may run without a secret and database: it needs neither, and the Docker image and Vercel's
# builder run it before either exists. Anything else under DJANGO_BUILD would serve with a placeholder key.
if BUILD_MODE:
    if not running_collectstatic():
        raise ImproperlyConfigured(
            "DJANGO_BUILD=1 is only for `manage.py collectstatic` at build time; unset it to run the site."
        )
    SECRET_KEY = "build-only-" + "x" * 64
    ALLOWED_HOSTS = ["build.invalid"]
    DATABASES = {"default": {"ENGINE": "django.db.backends.dummy"}}
else:
    check_secret_key("DJANGO_SECRET_KEY", require("DJANGO_SECRET_KEY", SECRET_KEY))
    require("DATABASE_URL", DATABASE_URL)
    require("ALLOWED_HOSTS", ALLOWED_HOSTS)
