"""VM and Docker: required secrets, HTTPS everywhere, persistent connections by default."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from config.env import check_secret_key, env, require, running_collectstatic
from config.storage import s3_media_storage, s3_static_storage

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

# STORAGE (S3)
# Uploads on S3-compatible object storage (AWS S3, Cloudflare R2 via AWS_S3_ENDPOINT_URL, MinIO): optional here (a
# Docker volume or the VM's disk also keeps uploads); required on Vercel (vercel.py), whose filesystem is thrown
# away after each invocation. Keys may stay empty where boto3 finds credentials itself (an IAM role).
AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME", default="")
AWS_S3_ENDPOINT_URL = env.str("AWS_S3_ENDPOINT_URL", default="")
AWS_S3_REGION_NAME = env.str("AWS_S3_REGION_NAME", default="")
AWS_ACCESS_KEY_ID = env.str("AWS_ACCESS_KEY_ID", default="")
AWS_SECRET_ACCESS_KEY = env.str("AWS_SECRET_ACCESS_KEY", default="")
AWS_S3_CUSTOM_DOMAIN = env.str("AWS_S3_CUSTOM_DOMAIN", default="")
_s3_credentials = {
    "endpoint_url": AWS_S3_ENDPOINT_URL,
    "region": AWS_S3_REGION_NAME,
    "access_key": AWS_ACCESS_KEY_ID,
    "secret_key": AWS_SECRET_ACCESS_KEY,
}
if AWS_STORAGE_BUCKET_NAME:
    STORAGES = {
        **STORAGES,
        "default": s3_media_storage(
            bucket=AWS_STORAGE_BUCKET_NAME, custom_domain=AWS_S3_CUSTOM_DOMAIN, **_s3_credentials
        ),
    }
# The reference's option 2: static files uploaded to S3 by collectstatic and served by a CDN in front of it.
# Without the CDN domain the pages would link to a bucket that is (rightly) not public: both or neither.
AWS_STATIC_BUCKET_NAME = env.str("AWS_STATIC_BUCKET_NAME", default="")
STATIC_CDN_DOMAIN = env.str("STATIC_CDN_DOMAIN", default="")
if bool(AWS_STATIC_BUCKET_NAME) != bool(STATIC_CDN_DOMAIN):
    raise ImproperlyConfigured(
        "Set both AWS_STATIC_BUCKET_NAME and STATIC_CDN_DOMAIN for static files on S3 and a CDN, or neither; "
        "see .env.example."
    )
if AWS_STATIC_BUCKET_NAME:
    STORAGES = {
        **STORAGES,
        "staticfiles": s3_static_storage(
            bucket=AWS_STATIC_BUCKET_NAME, custom_domain=STATIC_CDN_DOMAIN, **_s3_credentials
        ),
    }
    STATIC_URL = f"https://{STATIC_CDN_DOMAIN}/static/"

# BACKUPS (off-site)
# A bucket (same endpoint and credentials as above) that every backup is copied to after it is written, so a lost
# host does not take its backups with it. Use a private bucket of its own, with versioning or object lock and a
# lifecycle rule for retention: BACKUP_KEEP prunes only the local copies.
BACKUP_BUCKET = env.str("BACKUP_BUCKET", default="")

# PROXY
# Gunicorn, on a VM behind nginx or directly exposed, or in Docker: forwarding headers count only from the peers
# in FORWARDED_ALLOW_IPS (config/proxy.py, around the app in config/wsgi.py); anyone else's are dropped.
FILTER_FORWARDED_HEADERS = True
# true when nginx (or a platform's load balancer) ends TLS in front of Django. Then the scheme arrives as
# X-Forwarded-Proto, which the filter above keeps only from the proxy; this makes Django believe it. Never on a
# directly exposed server, where any client could claim https.
BEHIND_PROXY = env.bool("BEHIND_PROXY", default=False)
if BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# SECURITY
# HTTPS only. Load balancers and orchestrators still reach /health/* over plain HTTP with any Host:
# apps.core.health.views.HealthCheckMiddleware answers those before SecurityMiddleware and the ALLOWED_HOSTS check.
# Only here: development and the test suite speak plain HTTP.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
if not SECURE_HSTS_PRELOAD:
    # security.W021 asks for HSTS preloading, a commitment browsers keep for months: SECURE_HSTS_PRELOAD opts in.
    SILENCED_SYSTEM_CHECKS = [*globals().get("SILENCED_SYSTEM_CHECKS", []), "security.W021"]
# Static files on a CDN domain (STATIC_CDN_DOMAIN above) are another origin the pages load styles and images from.
if STATIC_URL.startswith("https://"):
    _static_origin = "https://" + STATIC_URL.split("/")[2]
    CONTENT_SECURITY_POLICY = {
        "DIRECTIVES": {
            **CONTENT_SECURITY_POLICY["DIRECTIVES"],
            **{
                directive: [*CONTENT_SECURITY_POLICY["DIRECTIVES"][directive], _static_origin]
                for directive in ("script-src", "style-src", "img-src", "font-src")
            },
        }
    }
