"""Vercel serverless: production settings, minus everything a fresh, short-lived function cannot keep."""

from __future__ import annotations

from .production import *

# Every invocation may be a fresh process; a connection kept open would outlive it on the database side.
DATABASES["default"]["CONN_MAX_AGE"] = 0
ALLOWED_HOSTS = [*ALLOWED_HOSTS, ".vercel.app"]
