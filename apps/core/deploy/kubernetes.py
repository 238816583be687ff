"""Kubernetes manifests for Folio's image, from the settings in force (`manage.py render_deploy kubernetes`).

What the image already fixes (production settings, Gunicorn on 0.0.0.0:8000, uid 10001, static files collected
in) is not repeated; what the settings decide (probe paths, the readiness deadline, the ports the pods talk to,
Gunicorn's graceful timeout) is read from them. Configuration reaches the pods by reference only: each variable of
`.env.example` a cluster sets becomes a key of the `folio-config` ConfigMap or the `folio-secrets` Secret, both
made by the operator (README, "Outgrowing one machine"), so no secret value can appear in a rendered file.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.urls import reverse
from gunicorn.config import GracefulTimeout

from config.env import BASE_DIR

from .nginx import gunicorn_values
from .templates import RenderError, check_host_name, render

# The image's own (Dockerfile: USER, EXPOSE and GUNICORN_BIND); tests hold these to it.
APP_UID = 10001
CONTAINER_PORT = 8000
# Seconds a terminating pod keeps serving while the endpoints controller and the proxies stop sending it traffic:
# without it, requests still routed to a pod that has begun shutting down are refused.
PRESTOP_SECONDS = 10
# Beyond the pre-stop sleep and Gunicorn's graceful timeout: the kubelet's SIGKILL comes only after both.
GRACE_MARGIN_SECONDS = 5
WEB_REPLICAS, WEB_MAX_REPLICAS = 2, 6
CONFIG_MAP, SECRET = "folio-config", "folio-secrets"
# The task worker, as the systemd unit runs it (a test holds the two together).
WORKER_COMMAND = ("python", "manage.py", "worker")
TLS_SECRET = "folio-tls"  # noqa: S105 - the name of the Secret holding the certificate, not a secret

# Variables whose value is a credential, or a URL that may carry one: always a Secret key.
SECRET_VARIABLES = frozenset(
    {
        "DJANGO_SECRET_KEY",
        "DATABASE_URL",
        "DATABASE_DIRECT_URL",
        "REDIS_URL",
        "EMAIL_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "SENTRY_DSN",
        "HEALTH_DETAIL_TOKEN",
    }
)
# What a pod could not start without: a missing key stops the pod (CreateContainerConfigError), not a request.
# Media must live in a bucket: pods share no disk, and their root file system is read-only.
REQUIRED_VARIABLES = frozenset(
    {"DJANGO_SECRET_KEY", "DATABASE_URL", "ALLOWED_HOSTS", "FORWARDED_ALLOW_IPS", "AWS_STORAGE_BUCKET_NAME"}
)
# Set in the manifests themselves: the same in every cluster.
FIXED_VALUES = {
    # Configuration comes from the ConfigMap and the Secret; a .env file in the image must never be read.
    "READ_DOT_ENV": "false",
    # The Gateway or Ingress ends TLS; FORWARDED_ALLOW_IPS names its pods' network.
    "BEHIND_PROXY": "true",
}
# .env.example's variables a cluster never sets, and why.
NOT_FOR_A_CLUSTER = {
    "DJANGO_SETTINGS_MODULE": "the image sets production",
    "GUNICORN_BIND": "the image binds 0.0.0.0:8000",
    "STATIC_ROOT": "collected into the image",
    "MEDIA_ROOT": "media live in the bucket (AWS_STORAGE_BUCKET_NAME)",
    "FOLIO_RELEASE": "the image carries its release",
    "WEB_HOSTS": "the Service balances over the pods; WEB_HOSTS is for nginx in front of VMs",
    "DEBUG": "production refuses it",
    "DJANGO_BUILD": "build time only",
    "STATIC_FROM_FINDERS": "Vercel only",
    "CRON_SECRET": "Vercel's cron route; the worker schedules jobs here",
    "TASKS_CRON_BUDGET": "Vercel's cron route",
    "VERCEL_GIT_COMMIT_SHA": "Vercel only",
    "TEST_DATABASE_URL": "the test suite's",
    "DJANGO_SUPERUSER_USERNAME": "a one-off `createsuperuser --noinput`, not the pods' environment",
    "DJANGO_SUPERUSER_EMAIL": "likewise",
    "DJANGO_SUPERUSER_PASSWORD": "likewise",
}
# Kubernetes object names (RFC 1123 labels): the migration Job's name carries the release.
NAME_PART = re.compile(r"[^a-z0-9-]+")
NAMESPACE = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")

CORE_FILES = [
    "web-deployment.yaml",
    "worker-deployment.yaml",
    "service.yaml",
    "migrate-job.yaml",
    "pdb.yaml",
    "hpa.yaml",
    "networkpolicy.yaml",
]
GATEWAY_FILES = ["gateway.yaml", "httproute.yaml"]
INGRESS_FILES = ["ingress.yaml"]


def env_example_variables() -> list[str]:
    text = (BASE_DIR / ".env.example").read_text(encoding="utf-8")
    return re.findall(r"^([A-Z][A-Z0-9_]+)=", text, flags=re.MULTILINE)


@dataclass(frozen=True)
class EnvEntry:
    name: str
    value: str | None = None  # a fixed value, or None for a reference
    source: str = ""  # "configMapKeyRef" or "secretKeyRef"
    source_name: str = ""
    optional: bool = True


def pod_environment(variables: list[str]) -> list[EnvEntry]:
    """Every variable a pod gets: the fixed ones, then a reference for each of `variables` a cluster sets."""
    entries = [EnvEntry(name, value=value) for name, value in FIXED_VALUES.items()]
    for name in variables:
        if name in FIXED_VALUES or name in NOT_FOR_A_CLUSTER:
            continue
        secret = name in SECRET_VARIABLES
        entries.append(
            EnvEntry(
                name,
                source="secretKeyRef" if secret else "configMapKeyRef",
                source_name=SECRET if secret else CONFIG_MAP,
                optional=name not in REQUIRED_VARIABLES,
            )
        )
    return entries


@dataclass(frozen=True)
class KubernetesSite:
    image: str
    domain: str
    release: str
    probe_paths: tuple[str, str]  # liveness, readiness
    readiness_timeout_seconds: int
    graceful_timeout_seconds: int
    egress_ports: tuple[int, ...]
    worker_command: tuple[str, ...]
    gateway_class: str = "default"
    namespace: str = "folio"

    def context(self) -> dict[str, Any]:
        if not self.image or any(character.isspace() for character in self.image):
            raise RenderError("--image names the image to run, e.g. registry.example.org/folio:1.4.0")
        check_host_name(self.domain)
        if not NAMESPACE.fullmatch(self.namespace):
            raise RenderError(f"--namespace {self.namespace!r} is not a namespace name: lower-case letters, digits, -")
        release = NAME_PART.sub("-", self.release.lower()).strip("-")[:40].strip("-")
        if not release:
            raise RenderError(
                "the migration Job is named after the release: set FOLIO_RELEASE or give --image a tag or digest"
            )
        return {
            "image": self.image,
            "domain": self.domain,
            "release": release,
            "uid": APP_UID,
            "port": CONTAINER_PORT,
            "live_path": self.probe_paths[0],
            "ready_path": self.probe_paths[1],
            "readiness_timeout": self.readiness_timeout_seconds,
            "prestop_seconds": PRESTOP_SECONDS,
            "grace_seconds": PRESTOP_SECONDS + self.graceful_timeout_seconds + GRACE_MARGIN_SECONDS,
            "replicas": WEB_REPLICAS,
            "max_replicas": WEB_MAX_REPLICAS,
            "environment": pod_environment(env_example_variables()),
            "egress_ports": self.egress_ports,
            "worker_command": list(self.worker_command),
            "config_map": CONFIG_MAP,
            "secret": SECRET,
            "tls_secret": TLS_SECRET,
            "gateway_class": self.gateway_class,
            "namespace": self.namespace,
        }


def release_from_image(image: str) -> str:
    """The tag of an image reference (`folio:1.4.0`, `folio:1.4.0@sha256:…`), else its digest's first 12 characters."""
    name, _, digest = image.partition("@")
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        return last.split(":", 1)[1]
    return digest.split(":", 1)[-1][:12]


def egress_ports(settings: Any) -> tuple[int, ...]:
    """Where the pods connect: the databases, Redis, the mail server, and HTTPS (S3, Sentry)."""
    ports = {443}
    for entry in (settings.DATABASES["default"], settings.MIGRATION_DATABASE):
        if entry and entry.get("ENGINE", "").endswith("postgresql"):
            ports.add(int(entry.get("PORT") or 5432))
    if settings.REDIS_URL:
        ports.add(urlsplit(settings.REDIS_URL).port or 6379)
    if settings.EMAIL_BACKEND.endswith("smtp.EmailBackend"):
        ports.add(int(settings.EMAIL_PORT))
    return tuple(sorted(ports))


def kubernetes_site_from_settings(
    settings: Any,
    *,
    image: str,
    domain: str | None,
    worker_command: tuple[str, ...],
    gateway_class: str = "default",
    namespace: str = "folio",
) -> KubernetesSite:
    if settings.SETTINGS_MODULE != "config.settings.production":
        raise RenderError(
            f"DJANGO_SETTINGS_MODULE is {settings.SETTINGS_MODULE}: render with the production settings and "
            "the cluster's environment loaded, as the pods will run"
        )
    hosts = [host for host in settings.ALLOWED_HOSTS if not host.startswith(".") and host != "*"]
    graceful = gunicorn_values().get("graceful_timeout", GracefulTimeout.default)
    return KubernetesSite(
        image=image or "",
        domain=domain or (hosts[0] if hosts else ""),
        release=settings.RELEASE or release_from_image(image or ""),
        probe_paths=(reverse("core:health_live"), reverse("core:health_ready")),
        # The probe must outwait the checks' own deadline, or a slow check reads as a dead pod.
        readiness_timeout_seconds=math.ceil(settings.HEALTH_CHECK_TIMEOUT) + 1,
        graceful_timeout_seconds=int(graceful),
        egress_ports=egress_ports(settings),
        worker_command=worker_command,
        gateway_class=gateway_class,
        namespace=namespace,
    )


def kubernetes_files(site: KubernetesSite) -> dict[str, str]:
    """Core files at the top; `gateway-api/` and `ingress/` hold the two ways in, of which a cluster applies one."""
    context = site.context()
    files = {
        **render("kubernetes", CORE_FILES, context),
        **{f"gateway-api/{name}": text for name, text in render("kubernetes", GATEWAY_FILES, context).items()},
        **{f"ingress/{name}": text for name, text in render("kubernetes", INGRESS_FILES, context).items()},
    }
    # The partials' loops leave blank lines where they end; YAML needs none.
    return {
        name: "".join(line for line in text.splitlines(keepends=True) if line.strip()) for name, text in files.items()
    }
