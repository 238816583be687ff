"""The committed examples (deploy/*/example/): what the files look like for folio.example.org on Debian 12."""

from __future__ import annotations

from pathlib import Path

from .nginx import NginxSite, nginx_files
from .systemd import SystemdUnits, systemd_files
from .templates import DEPLOY_DIR

EXAMPLE_SITE = NginxSite(
    domain="folio.example.org",
    aliases=("www.folio.example.org",),
    static_root=Path("/srv/folio/staticfiles"),
    media_root=Path("/srv/folio/media"),
    upstream="127.0.0.1:8000",
    upstream_timeout=120,
    upstream_keepalive=5,
    admin_url="editors-only/",
    body_limit_bytes=20 * 1024 * 1024,
    security_headers=[
        ("Strict-Transport-Security", "max-age=31536000; includeSubDomains"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "same-origin"),
        ("X-Frame-Options", "DENY"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
    ],
)
EXAMPLE_UNITS = SystemdUnits(
    project_dir=Path("/srv/folio/app"),
    venv=Path("/srv/folio/venv"),
    env_file=Path("/etc/folio/folio.env"),
    writable_paths=(Path("/srv/folio/media"),),
)


def example_files() -> dict[Path, str]:
    nginx = {DEPLOY_DIR / "nginx" / "example" / name: text for name, text in nginx_files(EXAMPLE_SITE).items()}
    units = {DEPLOY_DIR / "systemd" / "example" / name: text for name, text in systemd_files(EXAMPLE_UNITS).items()}
    return {**nginx, **units}
