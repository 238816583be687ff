"""The Kubernetes manifests as an operator renders them: production settings and the cluster's environment loaded,
every secret variable holding a value that must never reach a rendered file."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from harness.project import STRONG_SECRET, manage, production_env

IMAGE = "registry.example.org/folio@sha256:" + "0123456789abcdef" * 4
# A value for each variable a Secret holds; the output must contain none of them, nor their distinctive parts.
SECRET_VALUES = {
    "DJANGO_SECRET_KEY": STRONG_SECRET,
    "DATABASE_URL": "postgres://folio:db-pa55-word-9f3@db.internal:6432/folio",
    "DATABASE_DIRECT_URL": "postgres://folio:db-pa55-word-9f3@db.internal:5432/folio",
    "REDIS_URL": "redis://:redis-pa55-7c1@redis.internal:6380/0",
    "EMAIL_URL": "smtp+tls://mailer:mail-pa55-2b8@smtp.example.org:587",
    "AWS_ACCESS_KEY_ID": "AKIAFOLIOTESTKEY0001",
    "AWS_SECRET_ACCESS_KEY": "aws-secret-access-key-5e6f7a8b9c0d",
    "SENTRY_DSN": "https://sentry-public-key-4d2@o1.ingest.sentry.io/42",
    "HEALTH_DETAIL_TOKEN": "health-detail-token-8a9b",
}
SECRET_FRAGMENTS = ["db-pa55-word-9f3", "redis-pa55-7c1", "mail-pa55-2b8", "sentry-public-key-4d2"]


def cluster_env(**overrides: str) -> dict[str, str]:
    return production_env(
        ALLOWED_HOSTS="folio.example.org",
        AWS_STORAGE_BUCKET_NAME="folio-media",
        **{**SECRET_VALUES, **overrides},
    )


def render(out: Path, *arguments: str, env: dict[str, str] | None = None):
    return manage("render_deploy", "kubernetes", "--output-dir", str(out), *arguments, env=env or cluster_env())


@pytest.fixture(scope="session")
def rendered(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("kubernetes") / "manifests"
    result = render(out, "--image", IMAGE)
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(scope="session")
def objects(rendered) -> dict[tuple[str, str], dict]:
    """Every rendered object by (kind, name)."""
    found = {}
    for path in sorted(rendered.rglob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            found[(document["kind"], document["metadata"]["name"])] = document
    return found
