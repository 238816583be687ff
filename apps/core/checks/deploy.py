"""What a deploy target needs from files, proxies and probes: folio.E034, E035, W033, W034, W035."""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings

from .ids import DOCKER, VERCEL
from .rules import rule
from .serverless import FILESYSTEM_STORAGE
from .targets import current


def _static_root_needed() -> bool:
    backend = settings.STORAGES.get("staticfiles", {}).get("BACKEND", "")
    # Files in a bucket, or served straight from the apps' folders: no STATIC_ROOT.
    return not ("s3" in backend.lower() or getattr(settings, "WHITENOISE_USE_FINDERS", False))


@rule(
    "folio.E034",
    hint="Run `manage.py collectstatic --noinput` in the build (Docker image, Vercel builder, VM deploy).",
)
def static_root_empty() -> str | None:
    root = Path(settings.STATIC_ROOT) if settings.STATIC_ROOT else None
    if _static_root_needed() and (root is None or not root.is_dir() or not any(root.iterdir())):
        return f"STATIC_ROOT ({root or 'unset'}) is missing or empty."
    return None


@rule("folio.E035", hint="Run `manage.py collectstatic --noinput` with these settings.")
def static_manifest_missing() -> str | None:
    backend = settings.STORAGES.get("staticfiles", {}).get("BACKEND", "")
    root = Path(settings.STATIC_ROOT) if settings.STATIC_ROOT else None
    if not _static_root_needed() or root is None or not root.is_dir() or not any(root.iterdir()):
        return None  # nothing collected at all is E034's
    if "Manifest" in backend and not (root / "staticfiles.json").is_file():
        return "STATIC_ROOT has no staticfiles.json manifest: every page with a stylesheet would fail (500)."
    return None


@rule(
    "folio.W033",
    hint="In a container they would vanish with it: mount a named volume there or set AWS_STORAGE_BUCKET_NAME.",
)
def uploads_outside_a_volume() -> str | None:
    on_disk = settings.STORAGES.get("default", {}).get("BACKEND") == FILESYSTEM_STORAGE
    if current() == DOCKER and on_disk and not on_mounted_volume(Path(settings.MEDIA_ROOT)):
        return f"Uploads go to MEDIA_ROOT ({settings.MEDIA_ROOT}), which is not a mounted volume here."
    return None


@rule(
    "folio.W034",
    hint="Behind nginx or a load balancer that ends TLS, every request would redirect to itself: set "
    "BEHIND_PROXY=true (or SECURE_SSL_REDIRECT=false when Django itself is never reached over HTTP).",
)
def https_redirect_without_proxy_header() -> str | None:
    if current() != VERCEL and settings.SECURE_SSL_REDIRECT and not settings.SECURE_PROXY_SSL_HEADER:
        return "SECURE_SSL_REDIRECT is on but Django does not trust X-Forwarded-Proto."
    return None


@rule("folio.W035", hint="Keep it below the probes' own timeout, e.g. the default 1.5.")
def health_deadline_outlasts_probes() -> str | None:
    # Kubernetes' and most load balancers' probes give up after 1–2 s: a slower 503 arrives as a probe timeout.
    if settings.HEALTH_CHECK_TIMEOUT >= 2:
        return f"HEALTH_CHECK_TIMEOUT={settings.HEALTH_CHECK_TIMEOUT} s: a hanging dependency would outlast a probe."
    return None


def on_mounted_volume(path: Path) -> bool:
    path = path.resolve()
    for folder in (path, *path.parents):
        if folder == Path(folder.anchor):
            return False
        if folder.exists() and os.path.ismount(folder):
            return True
    return False
