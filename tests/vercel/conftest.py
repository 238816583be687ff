"""Fixtures for the Vercel tests: Vercel's own build of both vercel.json forms, and a migrated, seeded PostgreSQL
database the built function's fresh processes share."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from django.conf import settings

from harness.availability import unavailable
from harness.postgres import Cluster
from harness.processes import ServiceDidNotStart
from harness.project import STRONG_SECRET, clean_env, manage_steps
from harness.s3 import S3Server, running_s3
from harness.vercel_build import CLI, BuildFailed, VercelBuild, cached_builds
from tests.conftest import postgres_problem

ADMIN_USERNAME = "vercel-admin"
ADMIN_PASSWORD = "a-long-harness-password-9731"
CRON_SECRET = "cron-" + "Zq8Xw3Vt6Rp1Mn4Lk7Jh0Gf2Ds5Ab9Ce" * 2


def vercel_env(**overrides: str) -> dict[str, str]:
    """What a Vercel function of Folio sees: VERCEL=1 (so config/wsgi.py picks the vercel settings) and the
    project's variables. The database URL must be given; S3 points at a bucket nothing contacts unless a test
    uploads."""
    return clean_env(
        **{
            "VERCEL": "1",
            "VERCEL_ENV": "production",
            "DJANGO_SECRET_KEY": STRONG_SECRET,
            "ALLOWED_HOSTS": "folio.example.org",
            "AWS_STORAGE_BUCKET_NAME": "folio-media",
            "AWS_S3_ENDPOINT_URL": "http://127.0.0.1:9",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_S3_REGION_NAME": "us-east-1",
            "CRON_SECRET": CRON_SECRET,
            **overrides,
        }
    )


@pytest.fixture(scope="session")
def vercel_builds() -> dict[str, VercelBuild]:
    """`vercel build --prod` of both forms (harness/vercel_build.py), once per state of the tree."""
    if not CLI.exists():
        unavailable(f"Vercel's CLI is not installed at {CLI} (make vercel-cli)")
    if shutil.which("node") is None:
        unavailable("node is not installed (.ci/system-packages installs nodejs)")
    try:
        return cached_builds()
    except BuildFailed as failure:
        pytest.fail(str(failure), pytrace=False)


@pytest.fixture(scope="module", params=["zero-config", "builds-form"])
def vercel_build(request, vercel_builds) -> VercelBuild:
    """Each test that takes this runs against both forms' built function."""
    return vercel_builds[request.param]


@pytest.fixture(scope="session")
def vercel_database_url() -> Iterator[str]:
    """A database of its own (the function's processes are not inside pytest-django's test transaction),
    migrated and seeded the way a deploy would do it: `migrate`, `seed_demo`, `createsuperuser --noinput`."""
    if problem := postgres_problem():
        unavailable(problem)
    database = settings.DATABASES["default"]
    with Cluster.from_settings(database).scratch_database(f"{database['NAME'].removeprefix('test_')}_vercel") as url:
        env = vercel_env(
            DATABASE_URL=url,
            DJANGO_SETTINGS_MODULE="config.settings.vercel",
            DJANGO_SUPERUSER_USERNAME=ADMIN_USERNAME,
            DJANGO_SUPERUSER_EMAIL="admin@example.org",
            DJANGO_SUPERUSER_PASSWORD=ADMIN_PASSWORD,
        )
        manage_steps(("migrate", "--noinput"), ("seed_demo",), ("createsuperuser", "--noinput"), env=env)
        yield url


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory) -> Iterator[S3Server]:
    """moto's S3 API, one for the session: each test makes a bucket of its own."""
    try:
        with running_s3(tmp_path_factory.mktemp("moto") / "moto.log") as server:
            yield server
    except ServiceDidNotStart as exc:
        unavailable(str(exc))
