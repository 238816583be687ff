"""Security rules Django's own `check --deploy` does not have: folio.E031, E033, W030, W031.

Django already reports DEBUG (security.W018), an empty ALLOWED_HOSTS (W020) and a short secret key (W009);
these add what it cannot know.
"""

from __future__ import annotations

from django.conf import settings
from django.core.checks.security.base import check_secret_key as django_secret_key_check
from django.core.exceptions import ImproperlyConfigured

from config.env import check_secret_key

from .rules import rule

GUESSABLE_ADMIN_URLS = frozenset({"admin/", "admin", "django-admin/", "administration/", "backend/", "manage/"})


@rule("folio.E031", hint="Generate one: python -c 'import secrets; print(secrets.token_urlsafe(50))'.")
def placeholder_secret_key() -> str | None:
    # Production refuses such a key at start-up (config/settings/production.py); this catches other settings.
    if django_secret_key_check(None):
        return None  # too short or Django's own placeholder: security.W009 says so already
    try:
        check_secret_key("DJANGO_SECRET_KEY", settings.SECRET_KEY or "")
    except ImproperlyConfigured:
        return "DJANGO_SECRET_KEY is a default or a placeholder."
    return None


@rule("folio.E033", hint="Any Host header is then trusted, in password-reset links too; list the real host names.")
def any_host_allowed() -> str | None:
    return "ALLOWED_HOSTS contains '*'." if "*" in settings.ALLOWED_HOSTS else None


@rule(
    "folio.W030",
    hint="Set ADMIN_URL to a path nobody guesses, e.g. `python -c 'import secrets; "
    'print(secrets.token_urlsafe(9) + "/")\'`; bots probe /admin/ on every site.',
)
def guessable_admin_url() -> str | None:
    if settings.ADMIN_URL.strip("/").lower() + "/" in GUESSABLE_ADMIN_URLS:
        return f"The admin is at the guessable path /{settings.ADMIN_URL}."
    return None


@rule(
    "folio.W031",
    hint="Preloading needs SECURE_HSTS_SECONDS >= 31536000 and SECURE_HSTS_INCLUDE_SUBDOMAINS=true.",
)
def refused_hsts_preload() -> str | None:
    # The preload list refuses a max-age under a year or a policy without includeSubDomains.
    if settings.SECURE_HSTS_PRELOAD and (
        settings.SECURE_HSTS_SECONDS < 31536000 or not settings.SECURE_HSTS_INCLUDE_SUBDOMAINS
    ):
        return "SECURE_HSTS_PRELOAD is on but the preload list would refuse this policy."
    return None
