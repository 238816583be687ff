"""deploy/docker/make_env.py: env files that production settings accept, whose passwords agree, never overwritten."""

from __future__ import annotations

import stat
import subprocess
import sys
from urllib.parse import urlsplit

import pytest

from config.env import check_secret_key
from harness.project import ROOT, clean_env, run_python
from tests.docker import files

SCRIPT = ROOT / "deploy" / "docker" / "make_env.py"


def make_env(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=60, check=False)


def test_writes_both_env_files_owner_only_with_fresh_agreeing_secrets(tmp_path):
    result = make_env("blog.example.net", "--directory", str(tmp_path))
    assert result.returncode == 0, result.stderr
    app = files.read_env_file(tmp_path / ".env.production")
    database = files.read_env_file(tmp_path / ".env.postgres")
    for name in (".env.production", ".env.postgres"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600
        assert "change-me" not in (tmp_path / name).read_text()
    check_secret_key("DJANGO_SECRET_KEY", app["DJANGO_SECRET_KEY"])
    assert app["ALLOWED_HOSTS"] == "blog.example.net" and app["CSRF_TRUSTED_ORIGINS"] == "https://blog.example.net"
    assert database["POSTGRES_PASSWORD"] == database["DB_PASSWORD"]
    for variable in ("DATABASE_URL", "DATABASE_DIRECT_URL"):
        assert urlsplit(app[variable]).password == database["POSTGRES_PASSWORD"]

    second = make_env("blog.example.net", "--directory", str(tmp_path))
    assert second.returncode == 1 and "already exists" in second.stderr
    assert files.read_env_file(tmp_path / ".env.production") == app


def test_two_runs_never_share_a_secret(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    for directory in (first, second):
        directory.mkdir()
        assert make_env("folio.example.org", "--directory", str(directory)).returncode == 0
    assert (first / ".env.production").read_text() != (second / ".env.production").read_text()


def test_production_settings_load_from_a_generated_env_file(tmp_path):
    assert make_env("folio.example.org", "--directory", str(tmp_path)).returncode == 0
    env = {
        **files.read_env_file(tmp_path / ".env.production"),
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DB_POOL": "pgbouncer",
    }
    result = run_python("from django.conf import settings; print(settings.ALLOWED_HOSTS)", env=clean_env(**env))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['folio.example.org']"


@pytest.mark.parametrize("domain", ["", "folio", "folio.example.org\nDEBUG=true", "https://folio.example.org"])
def test_refuses_what_is_not_a_host_name(domain, tmp_path):
    result = make_env(domain, "--directory", str(tmp_path))
    assert result.returncode == 2 and not list(tmp_path.iterdir())
