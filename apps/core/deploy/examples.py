"""The committed examples (deploy/*/example/): what the files look like for folio.example.org on Debian 12."""

from __future__ import annotations

from pathlib import Path

from .kubernetes import WORKER_COMMAND, KubernetesSite, kubernetes_files
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
    project_dir=Path("/srv/folio/current"),
    venv=Path("/srv/folio/current/venv"),
    env_file=Path("/etc/folio/folio.env"),
    writable_paths=(Path("/srv/folio/media"),),
    backup_dir=Path("/srv/folio/backups"),
)

EXAMPLE_CLUSTER = KubernetesSite(
    # A tag to read, a digest to pin: checkov (CKV_K8S_43) and a rollout both want the digest.
    image="registry.example.org/folio:1.4.0@sha256:" + "5f0c" * 16,
    domain="folio.example.org",
    release="1.4.0",
    probe_paths=("/health/live", "/health/ready"),
    readiness_timeout_seconds=3,
    graceful_timeout_seconds=30,
    egress_ports=(443, 587, 5432, 6379),
    worker_command=WORKER_COMMAND,
)


def example_files() -> dict[Path, str]:
    nginx = {DEPLOY_DIR / "nginx" / "example" / name: text for name, text in nginx_files(EXAMPLE_SITE).items()}
    units = {DEPLOY_DIR / "systemd" / "example" / name: text for name, text in systemd_files(EXAMPLE_UNITS).items()}
    cluster = {
        DEPLOY_DIR / "kubernetes" / "example" / name: text for name, text in kubernetes_files(EXAMPLE_CLUSTER).items()
    }
    return {**nginx, **units, **cluster}
