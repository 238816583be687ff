"""System checks for operations (ids folio.E030–E049 / W030–W049): what `check --deploy` should catch for us."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Tags, Warning, register

GUESSABLE_ADMIN_URLS = frozenset({"admin/", "admin", "django-admin/", "administration/", "backend/", "manage/"})


@register(Tags.security, deploy=True)
def check_admin_url(app_configs=None, **kwargs) -> list[Warning]:
    if settings.ADMIN_URL.strip("/").lower() + "/" in GUESSABLE_ADMIN_URLS:
        return [
            Warning(
                f"The admin is at the guessable path /{settings.ADMIN_URL}.",
                hint="Set ADMIN_URL to a path nobody guesses, e.g. `python -c 'import secrets; "
                'print(secrets.token_urlsafe(9) + "/")\'`; bots probe /admin/ on every site.',
                id="folio.W030",
            )
        ]
    return []


@register(Tags.security, deploy=True)
def check_hsts_preload(app_configs=None, **kwargs) -> list[Warning]:
    # The preload list refuses a max-age under a year or a policy without includeSubDomains.
    if settings.SECURE_HSTS_PRELOAD and (
        settings.SECURE_HSTS_SECONDS < 31536000 or not settings.SECURE_HSTS_INCLUDE_SUBDOMAINS
    ):
        return [
            Warning(
                "SECURE_HSTS_PRELOAD is on but the preload list would refuse this policy.",
                hint="Preloading needs SECURE_HSTS_SECONDS >= 31536000 and SECURE_HSTS_INCLUDE_SUBDOMAINS=true.",
                id="folio.W031",
            )
        ]
    return []


@register("folio", deploy=True)
def check_health_deadline(app_configs=None, **kwargs) -> list[Warning]:
    # Kubernetes' and most load balancers' probes give up after 1–2 s: a slower 503 arrives as a probe timeout.
    if settings.HEALTH_CHECK_TIMEOUT >= 2:
        return [
            Warning(
                f"HEALTH_CHECK_TIMEOUT={settings.HEALTH_CHECK_TIMEOUT} s: a hanging dependency would outlast a probe.",
                hint="Keep it below the probes' own timeout, e.g. the default 1.5.",
                id="folio.W035",
            )
        ]
    return []
