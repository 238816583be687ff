"""Fixtures for the Vercel tests: a migrated, seeded PostgreSQL database the harness's fresh processes share."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from harness.availability import unavailable
from harness.postgres import Cluster
from harness.processes import ServiceDidNotStart
from harness.project import ROOT, manage_steps
from harness.s3 import S3Server, running_s3
from harness.vercel import VercelRuntime, vercel_env
from tests.conftest import postgres_problem

ADMIN_USERNAME = "vercel-admin"
ADMIN_PASSWORD = "a-long-harness-password-9731"
# Vercel's own runtime shim, installed from PyPI into a throwaway venv at test time (never committed).
VERCEL_RUNTIME_REQUIREMENT = "vercel-runtime==0.24.1"


@pytest.fixture(scope="session")
def vercel_database_url() -> Iterator[str]:
    """A database of its own (the harness's processes are not inside pytest-django's test transaction), migrated
    and seeded the way a deploy would do it: `migrate`, `seed_demo`, `createsuperuser --noinput`."""
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
        manage_steps(("migrate", "--noinput"), ("seed_demo",), ("createsuperuser", "--noinput"), env=env, timeout=120)
        yield url


def python_312_or_newer() -> str | None:
    """An interpreter vercel-runtime supports (its code uses 3.12 syntax), if this machine has one."""
    for name in ("python3.14", "python3.13", "python3.12"):
        path = shutil.which(name)
        probe = [path, "-c", "import sys; sys.exit(sys.version_info < (3, 12))"] if path else None
        if probe and subprocess.run(probe, capture_output=True, timeout=30, check=False).returncode == 0:
            return path
    return None


@pytest.fixture(scope="session")
def vercel_runtime(tmp_path_factory) -> VercelRuntime:
    """A Python 3.12+ venv with Folio's production requirements and the `vercel-runtime` package."""
    python = python_312_or_newer()
    if python is None:
        # Not a missing service: the shim cannot run on this Python at all, and our emulation still ran.
        pytest.skip("vercel-runtime needs Python 3.12+, which this machine lacks; only our runtime emulation ran")
    venv = tmp_path_factory.mktemp("vercel-runtime") / "venv"
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if uv is None:
        unavailable("uv is not installed (make install bootstraps it into .venv)")
    commands = [
        [uv, "venv", "--quiet", "--python", python, str(venv)],
        [
            uv,
            "pip",
            "install",
            "--quiet",
            "--python",
            str(venv / "bin" / "python"),
            "-r",
            str(ROOT / "requirements" / "production.txt"),
            VERCEL_RUNTIME_REQUIREMENT,
        ],
    ]
    for command in commands:
        result = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
        if result.returncode != 0:
            unavailable(f"could not install {VERCEL_RUNTIME_REQUIREMENT} for {python}: {result.stderr[-500:]}")
    return VercelRuntime(python=str(venv / "bin" / "python"))


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory) -> Iterator[S3Server]:
    """moto's S3 API, one for the session: each test makes a bucket of its own."""
    try:
        with running_s3(tmp_path_factory.mktemp("moto") / "moto.log") as server:
            yield server
    except ServiceDidNotStart as exc:
        unavailable(str(exc))
