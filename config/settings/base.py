"""Settings shared by every target. Targets (development, production, vercel, test) only override.

Every environment variable the project reads is read here, once; `.env.example` lists them all.
"""

from __future__ import annotations

from email.utils import getaddresses

from config.env import BASE_DIR, env, parse_database_url

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
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"
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
    "django.middleware.security.SecurityMiddleware",
    # WhiteNoise right after SecurityMiddleware, so static files skip everything below.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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
DATABASES = {
    "default": parse_database_url(
        "DATABASE_URL",
        DATABASE_URL or SQLITE_FALLBACK_URL,
        conn_max_age=CONN_MAX_AGE,
        conn_health_checks=True,
    ),
}

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

# CACHES
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# EMAIL
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
ADMINS = getaddresses([env.str("ADMINS", default="")])
ADMINS = [(name, address) for name, address in ADMINS if address]
SERVER_EMAIL = env.str("SERVER_EMAIL", default="folio@localhost")
DEFAULT_FROM_EMAIL = SERVER_EMAIL

# TASKS
# Requests enqueue into the database; `manage.py db_worker` (VM, Docker) or the cron endpoint (Vercel) drains it.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}

# LOGGING
# The reference's layout: everything to the console (stdout is what systemd, Docker and Vercel collect).
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "verbose": {"format": "{levelname} {asctime} {module} {message}", "style": "{"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "verbose"},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Django's INFO is noise in production; its warnings and request errors are not.
        "django": {"handlers": ["console"], "level": "WARNING", "propagate": False},
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
        "apps": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
    },
}
