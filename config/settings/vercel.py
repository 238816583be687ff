"""Vercel serverless: production settings, minus everything a fresh, short-lived function cannot keep.

config/wsgi.py picks this module when Vercel's runtime sets VERCEL=1. Set DJANGO_SETTINGS_MODULE to it in the
Vercel project as well: the builder discovers settings by running manage.py, whose default is development.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from config.env import HINT, env, require

from .production import *

# SERVERLESS
SERVERLESS = True

# DATABASES
# SQLite would be a file on the function's throwaway disk: every write lost when the instance goes away.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    raise ImproperlyConfigured(
        "DATABASE_URL points at SQLite, which does not persist on Vercel (each function instance gets a "
        f"throwaway disk); use a managed PostgreSQL such as Neon or Supabase; {HINT}."
    )
# Every invocation may be a fresh process; a connection kept open would outlive it on the database side.
for _database in DATABASES.values():
    _database["CONN_MAX_AGE"] = 0

# BACKUPS
# A cron function has no pg_dump and no disk that outlives the call: the managed database's own backups apply.
if BACKUP_SCHEDULE != "off":
    raise ImproperlyConfigured(
        f"BACKUP_SCHEDULE={BACKUP_SCHEDULE} cannot run on Vercel (no pg_dump, no lasting disk): set it to off and "
        "rely on the managed database's backups (README, PostgreSQL); see .env.example."
    )

# CORE
ALLOWED_HOSTS = [*ALLOWED_HOSTS, ".vercel.app"]

# PROXY
# Vercel's runtime builds REMOTE_ADDR and the scheme from headers its edge sets itself (it overwrites a client's
# X-Forwarded-For), and the function has no proxy address to filter by: production's filter would drop them all.
FILTER_FORWARDED_HEADERS = False

# STORAGE (S3)
# Uploads written to the function's disk would vanish with the instance: media must go to object storage,
# which production.py configures from AWS_STORAGE_BUCKET_NAME.
if not BUILD_MODE:
    require("AWS_STORAGE_BUCKET_NAME", AWS_STORAGE_BUCKET_NAME)

# STATIC AND MEDIA
# Zero-config (vercel.json at the root): Vercel's builder runs collectstatic into its CDN and ships the manifest
# in STATIC_ROOT with the function, so production's manifest storage applies. The builds/routes form
# (deploy/vercel/vercel.json) runs no collectstatic: STATIC_FROM_FINDERS=true there makes WhiteNoise serve from the
# apps' static folders instead.
STATIC_FROM_FINDERS = env.bool("STATIC_FROM_FINDERS", default=False)
if STATIC_FROM_FINDERS:
    STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    WHITENOISE_USE_FINDERS = True
    # Nothing is collected in this form; WhiteNoise would warn about the missing folder on every cold start.
    STATIC_ROOT = None

# ERROR REPORTING
# Events are tagged with the commit Vercel deploys unless SENTRY_RELEASE names a release.
SENTRY_RELEASE = SENTRY_RELEASE or env.str("VERCEL_GIT_COMMIT_SHA", default="")
