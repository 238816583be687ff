"""The test suite: SQLite by default, the local PostgreSQL when TEST_DATABASE_URL is set (postgres tier)."""

from __future__ import annotations

import os

from .base import *

SECRET_KEY = "test-only-" + "k" * 60
DEBUG = False
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]

TEST_DATABASE_URL = env.str("TEST_DATABASE_URL", default="")
DATABASES = {
    "default": parse_database_url("TEST_DATABASE_URL", TEST_DATABASE_URL or "sqlite://", conn_max_age=0),
}
# Two runs on one machine (CI beside `make test-under-load`, or parallel worktrees) share one PostgreSQL: each
# creates and drops its own test database, named by the process that runs it, instead of both taking "test_<name>"
# and dropping it under the other. SQLite's test database is in memory and needs no name.
if TEST_DATABASE_URL:
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{os.getpid()}"}
# The suite's database is TEST_DATABASE_URL alone: a DB_POOL or DATABASE_DIRECT_URL left in the shell must not
# make `migrate` refuse, or migrate the database the direct URL names instead of the test database.
DB_POOL = "none"
MIGRATION_DATABASE = None
# Hashing passwords slowly is the point in production and pure waste in tests.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Tests render pages without running collectstatic; the manifest storage is tested through real builds.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Serve static files from the finders, as in development: the suite never runs collectstatic first.
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True
