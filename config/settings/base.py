"""Settings shared by every target. Targets (development, production, vercel, test) only override.

Each environment variable is read once, in the module that uses it: here what every target uses, in production.py
what only a deployed server uses (the S3 set, BEHIND_PROXY, SECURE_SSL_REDIRECT), in vercel.py what only Vercel
uses. `.env.example` lists them all.
"""

from __future__ import annotations

from config.database import database_entry, direct_entry
from config.env import BASE_DIR, env, parse_database_url, web_hosts  # noqa: F401 - test.py builds its entry with it
from config.mail import admins, email_settings

# READ_DOT_ENV is the one variable that must come from the real environment: it decides whether .env is read.
if env.bool("READ_DOT_ENV", default=False):
    env.read_env(BASE_DIR / ".env")

# BUILD
# DJANGO_BUILD=1 lets `collectstatic` run in a Docker build or on Vercel's builder, where no secret or
# database exists yet. production.py honours it for collectstatic only.
BUILD_MODE = env.bool("DJANGO_BUILD", default=False)

# CORE
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# The admin's path; production should pick one nobody guesses (see .env.example).
ADMIN_URL = env.str("ADMIN_URL", default="admin/")

ROOT_URLCONF = "config.urls"
# No ASGI_APPLICATION: Vercel's Django builder prefers it over WSGI_APPLICATION, and its function would then skip
# config/wsgi.py (start-up checks, the page cache's front door) and the maxDuration vercel.json sets for that file.
WSGI_APPLICATION = "config.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "users.User"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# APPS
DJANGO_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
]
THIRD_PARTY_APPS = [
    "django_tasks",
    "django_tasks_db",
]
LOCAL_APPS = [
    "apps.core",
    "apps.users",
    "apps.content",
]
INSTALLED_APPS = DJANGO_APPS + THIRD_PARTY_APPS + LOCAL_APPS

MIDDLEWARE = [
    # First: the request id is set before anything below can log (apps/core/http/request_id.py).
    "apps.core.http.request_id.RequestIdMiddleware",
    # A request whose headers Django could not read (apps/core/http/unreadable.py) is a 400, with the id above.
    "apps.core.http.unreadable.RefuseUnreadableRequests",
    # Before SecurityMiddleware and the host check: probes get the real answer over plain HTTP, any Host.
    "apps.core.health.views.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # WhiteNoise right after SecurityMiddleware, so static files skip everything below.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # django-csp, with the policy built once per process (apps/core/http/csp.py).
    "apps.core.http.csp.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# DATABASES
# Development falls back to SQLite; production and vercel require DATABASE_URL (see production.py).
# `?sslmode=require` and other query options pass through to psycopg for managed databases.
DATABASE_URL = env.str("DATABASE_URL", default="")
SQLITE_FALLBACK_URL = f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
CONN_MAX_AGE = env.int("CONN_MAX_AGE", default=60)
# Pooling mode (config/database.py): none | native (Django's psycopg pool) | pgbouncer (transaction pooler).
DB_POOL = env.str("DB_POOL", default="none").strip().lower()
DB_POOL_MIN_SIZE = env.int("DB_POOL_MIN_SIZE", default=2)
DB_POOL_MAX_SIZE = env.int("DB_POOL_MAX_SIZE", default=4)
# Short on purpose: a request (or /health/) waiting longer for a pooled connection is better off failing.
DB_POOL_TIMEOUT = env.float("DB_POOL_TIMEOUT", default=2.0)
# A session-mode URL for migrations when DATABASE_URL goes through a transaction pooler (PgBouncer, Neon).
DATABASE_DIRECT_URL = env.str("DATABASE_DIRECT_URL", default="")
# Seconds; `migrate` sets these on PostgreSQL so DDL queued behind a long transaction fails fast instead of
# stalling every query queued behind it. 0 turns a limit off (e.g. for one long CREATE INDEX CONCURRENTLY).
MIGRATION_LOCK_TIMEOUT = env.float("DB_LOCK_TIMEOUT", default=5.0)
MIGRATION_STATEMENT_TIMEOUT = env.float("DB_STATEMENT_TIMEOUT", default=30.0)
# Seconds to establish a PostgreSQL connection (libpq's minimum is 2). Without it, a database that accepts TCP
# and never answers holds every request, and then every worker, until Gunicorn's timeout kills it.
DATABASE_CONNECT_TIMEOUT = env.int("DATABASE_CONNECT_TIMEOUT", default=3)
# Seconds a web process waits for any answer from PostgreSQL on an open connection before closing it
# (config/query_deadline.py): a database that stops answering costs a request this plus the connect timeout (8 s),
# not the whole freeze. Longer than any page's queries should ever take; 0 turns it off.
DATABASE_QUERY_DEADLINE = env.seconds("DB_QUERY_DEADLINE", default=5.0)
DATABASES = {
    "default": database_entry(
        DATABASE_URL or SQLITE_FALLBACK_URL,
        # collectstatic at build time may see DB_POOL but no DATABASE_URL yet; it never connects.
        pool="none" if BUILD_MODE else DB_POOL,
        conn_max_age=CONN_MAX_AGE,
        pool_min_size=DB_POOL_MIN_SIZE,
        pool_max_size=DB_POOL_MAX_SIZE,
        pool_timeout=DB_POOL_TIMEOUT,
        connect_timeout=DATABASE_CONNECT_TIMEOUT,
    ),
}
# Not a DATABASES alias: `migrate` and `make backup` put it in place of "default" for the whole command, so every
# migration runs on it, third-party data migrations that ignore the alias they are given included.
MIGRATION_DATABASE = direct_entry(DATABASE_DIRECT_URL, DATABASES["default"]) if DATABASE_DIRECT_URL else None

# STATIC AND MEDIA
STATIC_URL = "/static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Hashed names let nginx and CDNs cache for a year; compressed copies save WhiteNoise the work per request.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# Uploads stream to a temp file beyond 2.5 MB; nginx caps bodies at 20 MB, so Django caps them too.
DATA_UPLOAD_MAX_MEMORY_SIZE = 20 * 1024 * 1024
# Django's own two handlers, in Django's order, keeping the length of each name as sent (apps/content/uploads.py).
FILE_UPLOAD_HANDLERS = ["apps.content.uploads.MemoryUploads", "apps.content.uploads.TemporaryFileUploads"]

# CACHES
# Local memory per process unless REDIS_URL is set (redis://, rediss:// for TLS). Short socket timeouts: a Redis
# that hangs must cost a page half a second, once, not a worker (apps/content/pagecache/store.py then skips it
# for a while).
REDIS_URL = env.str("REDIS_URL", default="")
# What every cache key starts with: sites (or a staging copy) sharing one Redis database keep apart by it.
CACHE_KEY_PREFIX = env.str("CACHE_KEY_PREFIX", default="folio")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# How long an anonymous reader's page may be served from the cache at most (seconds). Saves and deletes
# invalidate sooner, and no entry outlives the next scheduled essay's published_at.
PAGE_CACHE_SECONDS = env.int("PAGE_CACHE_SECONDS", default=600)
# How long after an essay or an author's name is written — admin, shell, QuerySet.update, raw SQL, any process —
# a process may still serve the old page (seconds). Each process reads the database's page generation (changed by
# triggers) at most this often: one single-row SELECT per interval per Gunicorn worker or Vercel instance.
PAGE_CACHE_STALE_SECONDS = env.seconds("PAGE_CACHE_STALE_SECONDS", default=2.0)
# When that read fails (database down): true keeps serving the pages cached before, each until its entry expires
# (PAGE_CACHE_SECONDS), so readers are served through an outage, at the price that a page edited or unpublished
# just before it may stay as it was for as long; false renders every page, which with the database down is the
# 503 page. True by default: an outage stops every edit anyway, and the page public a moment ago beats a 503.
PAGE_CACHE_STALE_IF_ERROR = env.bool("PAGE_CACHE_STALE_IF_ERROR", default=True)

# SEVERAL APP HOSTS
# The app hosts nginx balances over (`render_deploy nginx`), host:port each, comma-separated; empty = this machine's
# Gunicorn (GUNICORN_BIND) alone. More than one needs every piece of state shared (preflight, folio.E044).
WEB_HOSTS = web_hosts("WEB_HOSTS", env.list("WEB_HOSTS", default=[]))

# ESSAYS
# Cover uploads above this size are refused with a form error (megabytes, default 5).
COVER_MAX_BYTES = env.int("COVER_MAX_MB", default=5) * 1024 * 1024

# PROXY
# Whether config/wsgi.py puts config/proxy.py's filter of forwarding headers around the app: only where a WSGI
# server may hear from both a proxy and its clients (production.py), never where a platform builds the environ.
FILTER_FORWARDED_HEADERS = False

# EMAIL
# One URL says it all (smtp+tls://user:password@host:587, consolemail://), parsed by config/mail.py: smtps:// and
# smtp+tls:// mean STARTTLS, smtp+ssl:// implicit TLS; ?timeout=, ?ssl_certfile= and ?ssl_keyfile= in the query.
# A URL Folio cannot use stops start-up instead of silencing every mail.
# EMAIL_TIMEOUT is 5 s unless ?timeout= says otherwise: Django's default is none, and error mail is sent while the
# failed request waits (apps/core/http/error_mail.py), so an SMTP server that accepts and never answers would hold
# the 500, and a worker thread, forever. The limit is per SMTP step (connect, greeting, each command): a server that
# accepts and never answers costs the 500 one wait of 5 s; one that answers each step just in time, more.
_email = email_settings("EMAIL_URL", env.str("EMAIL_URL", default="consolemail://"), default_timeout=5.0)
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email["EMAIL_HOST"]
EMAIL_PORT = _email["EMAIL_PORT"]
EMAIL_HOST_USER = _email["EMAIL_HOST_USER"]
EMAIL_HOST_PASSWORD = _email["EMAIL_HOST_PASSWORD"]
EMAIL_FILE_PATH = _email["EMAIL_FILE_PATH"]
EMAIL_USE_TLS = _email["EMAIL_USE_TLS"]
EMAIL_USE_SSL = _email["EMAIL_USE_SSL"]
EMAIL_TIMEOUT = _email["EMAIL_TIMEOUT"]
EMAIL_SSL_CERTFILE = _email["EMAIL_SSL_CERTFILE"]
EMAIL_SSL_KEYFILE = _email["EMAIL_SSL_KEYFILE"]
# Who gets a mail for each unhandled error (a 500, a database outage's 503) while DEBUG is off; empty: nobody.
ADMINS = admins("ADMINS", env.str("ADMINS", default=""))
SERVER_EMAIL = env.str("SERVER_EMAIL", default="folio@localhost")
DEFAULT_FROM_EMAIL = SERVER_EMAIL
EMAIL_SUBJECT_PREFIX = "[Folio] "
# Error mails show the request's cookies by name only: Django's own filter would send the session cookie in clear.
DEFAULT_EXCEPTION_REPORTER_FILTER = "apps.core.http.error_mail.ErrorReportFilter"
# At most this many mails per error (the same exception type raised at the same line) in the hour after its first
# mail (ERROR_MAIL_WINDOW, seconds); the rest are only logged. Counted in the cache (apps/core/http/error_mail.py):
# with REDIS_URL every worker and machine sharing that Redis and CACHE_KEY_PREFIX shares one count, so N workers
# send at most ERROR_MAIL_LIMIT per error per hour between them; without Redis (or while it fails) each worker
# process counts alone: up to N × ERROR_MAIL_LIMIT (WEB_CONCURRENCY workers), and a worker Gunicorn replaces starts
# from 0. 0 sends none.
ERROR_MAIL_LIMIT = env.int("ERROR_MAIL_LIMIT", default=5)
ERROR_MAIL_WINDOW = 3600

# TASKS
# Requests enqueue into the database; `manage.py worker` (VM, Docker) or the cron endpoint (Vercel) drains it.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
# Seconds a task may stay RUNNING before its worker is presumed dead (SIGKILL, OOM, a cron function past its
# maxDuration): django-tasks-db itself leaves such a row RUNNING for ever. Then a scheduled job's row is queued
# again, any other task's is marked failed (apps/core/scheduling/leases.py). Keep it above the longest task's run
# time, or a slow job is run a second time beside itself; 0 turns recovery off.
TASKS_LEASE = env.seconds("TASKS_LEASE", default=3600.0)
# Finished task results (and the schedule's slot rows) older than this many days are deleted by the
# `prune_task_results` job; django-tasks-db keeps every row for ever otherwise.
TASK_RESULT_RETENTION_DAYS = env.int("TASK_RESULT_RETENTION_DAYS", default=7)
if TASK_RESULT_RETENTION_DAYS < 1:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(
        f"TASK_RESULT_RETENTION_DAYS={TASK_RESULT_RETENTION_DAYS} is not a number of days: use 1 or more; "
        "see .env.example."
    )

# SCHEDULE
# Jobs enqueued at most once per period (`every`, seconds) by the worker and the cron endpoint alike
# (apps/core/scheduling/): configuration, like Celery's beat_schedule, so a site may change a period without code.
# Every job must be idempotent: a run its worker died in is run again (TASKS_LEASE).
SCHEDULED_JOBS = {
    "clearsessions": {"task": "apps.core.scheduling.tasks.clear_expired_sessions", "every": 24 * 3600},
    "prune_task_results": {"task": "apps.core.scheduling.tasks.prune_task_results", "every": 24 * 3600},
    # Essays whose stored HTML a deploy (rows the previous release wrote) or an upgrade of markdown or nh3 left out
    # of date, stored again within the hour: until then their pages render the body on every cache miss.
    "render_essays": {"task": "apps.content.tasks.render_stale_essays", "every": 3600},
}

# BACKUPS
# `make backup`, the VM's folio-backup.timer and the worker's `backup_database` job (apps/core/dbops/backups.py)
# write here: the directory is made 0700 and every file 0600, because a dump holds every password hash and session.
BACKUP_DIR = env.path("BACKUP_DIR", default=BASE_DIR / "backups")
# How many dated backups to keep; older ones are deleted only after a new dump succeeded, so the newest good one
# always stays. A dump given its own name (`make backup BACKUP=before-upgrade.dump`) is never counted or deleted.
BACKUP_KEEP = env.int("BACKUP_KEEP", default=14)
if BACKUP_KEEP < 1:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(
        f"BACKUP_KEEP={BACKUP_KEEP} would keep no backup: use 1 or more (default 14); see .env.example."
    )
# Whether the worker's schedule dumps the database: Docker's way to schedule backups. Off by default: on a VM
# folio-backup.timer does it (a job as well would dump twice), and Vercel's cron function has neither pg_dump nor a
# disk that outlives the call (vercel.py refuses it).
BACKUP_PERIODS = {"off": None, "hourly": 3600, "daily": 24 * 3600, "weekly": 7 * 24 * 3600}
BACKUP_SCHEDULE = env.str("BACKUP_SCHEDULE", default="off").strip().lower()
if BACKUP_SCHEDULE not in BACKUP_PERIODS:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(
        f"BACKUP_SCHEDULE={BACKUP_SCHEDULE!r} is not a schedule: use one of {', '.join(BACKUP_PERIODS)}; "
        "see .env.example."
    )
if BACKUP_PERIODS[BACKUP_SCHEDULE]:
    SCHEDULED_JOBS = {
        **SCHEDULED_JOBS,
        "backup_database": {
            "task": "apps.core.scheduling.tasks.backup_database",
            "every": BACKUP_PERIODS[BACKUP_SCHEDULE],
        },
    }
# The bucket backups are copied to off the host; production.py reads it beside the S3 credentials it needs.
BACKUP_BUCKET = ""

# CRON
# Vercel's cron sends `Authorization: Bearer $CRON_SECRET`; unset, the cron endpoint refuses to run.
CRON_SECRET = env.str("CRON_SECRET", default="")
# Seconds one cron call may spend draining the queue; keep it well below the function's maxDuration (vercel.json).
TASKS_CRON_BUDGET = env.float("TASKS_CRON_BUDGET", default=40.0)

# LOGGING
# The reference's layout: everything to the console (stdout is what systemd, Docker and Vercel collect).
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").upper()
# verbose (the reference's format, plus the request id) or json (one object per line, for log collectors).
LOG_FORMAT = env.str("LOG_FORMAT", default="verbose").strip().lower()
if LOG_FORMAT not in ("verbose", "json"):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(f"LOG_FORMAT={LOG_FORMAT!r} is not a log format: use verbose or json; see .env.example.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        # Every line gets the id of the request it belongs to (apps/core/http/request_id.py), "-" outside one.
        "request_context": {"()": "apps.core.http.logging.RequestContextFilter"},
        "without_traceback": {"()": "apps.core.http.logging.WithoutTraceback"},
        "require_debug_false": {"()": "django.utils.log.RequireDebugFalse"},
    },
    "formatters": {
        # A handler added without the filter still formats: request_id then defaults to "-".
        "verbose": {
            "()": "logging.Formatter",
            "fmt": "{levelname} {asctime} {module} {request_id} {message}",
            "style": "{",
            "defaults": {"request_id": "-"},
        },
        "json": {"()": "apps.core.http.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_context"]},
        # Django's AdminEmailHandler with the request id in the subject and a limit per error (ERROR_MAIL_LIMIT).
        "mail_admins": {
            "class": "apps.core.http.error_mail.ErrorMailHandler",
            "level": "ERROR",
            "filters": ["require_debug_false"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Django's INFO is noise in production; its warnings and request errors are not.
        "django": {"handlers": ["console"], "level": "WARNING", "propagate": False},
        # Unhandled errors (5xx, logged at ERROR) also go to ADMINS by mail; 4xx are WARNING and never mailed.
        "django.request": {"handlers": ["console", "mail_admins"], "level": "ERROR", "propagate": False},
        # Anyone can send a Host the site does not serve: one line each, without Django's traceback, never a mail
        # (Django's own LOGGING mails these through the `django` logger).
        "django.security.DisallowedHost": {
            "handlers": ["console"],
            "filters": ["without_traceback"],
            "level": "ERROR",
            "propagate": False,
        },
        "apps": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
    },
}

# OPERATIONS
# Seconds /health/ and /health/ready wait for all their checks together; keep it under the probe's own timeout
# (2 s is common) so a hanging dependency yields a 503, not a probe timeout.
HEALTH_CHECK_TIMEOUT = env.float("HEALTH_CHECK_TIMEOUT", default=1.5)
# /health/ready is public (through nginx's `location /`, on Vercel): anyone gets its status, only these see each
# check's result and duration. Addresses or networks, judged on the client address after config/proxy.py (a forged
# X-Forwarded-For counts for nothing); or a request carrying `Authorization: Bearer <HEALTH_DETAIL_TOKEN>`.
HEALTH_DETAIL_FROM = env.networks("HEALTH_DETAIL_FROM", default=["127.0.0.1", "::1"])
HEALTH_DETAIL_TOKEN = env.str("HEALTH_DETAIL_TOKEN", default="")

# SECURITY
# A year, with subdomains, is what check --deploy asks for; lower it while first trying HTTPS on a domain.
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
# Preloading is a promise browsers keep for months even after you change your mind: opt in explicitly.
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# No script reads the CSRF cookie (Folio has no JavaScript), so nothing is lost by hiding it from scripts.
CSRF_COOKIE_HTTPONLY = True
# Strict and identical for every visitor: no 'unsafe-inline' and no nonces, because pages are cached and a
# nonce in a cached page would be shared by everyone. Templates therefore carry no inline script or style.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        # Essay bodies may show images from any https origin (Markdown allow-list) and media may live on S3.
        "img-src": ["'self'", "https:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# ERROR REPORTING
# Sentry is imported and started only when SENTRY_DSN is set (apps/core/http/sentry.py): a lean cold start otherwise.
SENTRY_DSN = env.str("SENTRY_DSN", default="")
# The build this process runs: the Docker image's FOLIO_RELEASE (`make docker-release` bakes it in); empty elsewhere.
RELEASE = env.str("FOLIO_RELEASE", default="")
# The release events are tagged with: SENTRY_RELEASE, else the image's release, else (vercel.py) the commit Vercel
# deploys; else sentry-sdk's own guess.
SENTRY_RELEASE = env.str("SENTRY_RELEASE", default="") or RELEASE
SENTRY_ENVIRONMENT = env.str("SENTRY_ENVIRONMENT", default="production")
SENTRY_TRACES_SAMPLE_RATE = env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0)
