"""`manage.py preflight --target …`: a passing and a failing configuration for each target, in a fresh process."""

from __future__ import annotations

import psycopg
import pytest
from django.db import connection

from harness.project import manage, production_env
from tests.operations.conftest import ADMIN_URL

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

CRON_SECRET = "cron-" + "s3cr3t" * 4


@pytest.fixture
def database_url() -> str:
    """The suite's migrated PostgreSQL test database, reached directly."""
    settings = connection.settings_dict
    return f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT'] or 5432}/{settings['NAME']}"


@pytest.fixture
def empty_database_url(database_url):
    """A PostgreSQL database nothing has been migrated into."""
    name = "folio_h8_preflight_empty"
    # CREATE/DROP DATABASE refuse to run inside the test's transaction: a separate autocommit connection.
    admin = database_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as server:
        server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        server.execute(f'CREATE DATABASE "{name}"')
    yield database_url.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(admin, autocommit=True) as server:
        server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def target_env(target: str, database_url: str, static_root, **overrides: str) -> dict[str, str]:
    """A configuration that should pass preflight for `target`; tests spoil one thing at a time."""
    env = production_env(
        DATABASE_URL=database_url,
        ALLOWED_HOSTS="folio.example.org",
        ADMIN_URL=ADMIN_URL,
        STATIC_ROOT=str(static_root),
        BEHIND_PROXY="true",
    )
    if target == "vercel":
        env.update(
            DJANGO_SETTINGS_MODULE="config.settings.vercel",
            AWS_STORAGE_BUCKET_NAME="folio-media",
            AWS_S3_REGION_NAME="eu-central-1",
            CRON_SECRET=CRON_SECRET,
        )
    if target == "docker":
        env.update(AWS_STORAGE_BUCKET_NAME="folio-media", AWS_S3_REGION_NAME="eu-central-1")
    env.update(overrides)
    return env


def preflight(target: str, env: dict[str, str]):
    # The suite's postgres pass connects as the local trust user; the linter needs no network either.
    return manage("preflight", "--target", target, env=env, timeout=180)


def finding_lines(stdout: str) -> list[str]:
    """The report's findings ("  ERROR   id: message"), without their hints."""
    return [line.strip() for line in stdout.splitlines() if line.strip().startswith(("ERROR ", "WARNING "))]


@pytest.mark.parametrize("target", ["vercel", "vm", "docker"])
def test_preflight_passes_a_sound_configuration(target, database_url, collected_static):
    result = preflight(target, target_env(target, database_url, collected_static))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"preflight passed for {target}" in result.stdout
    # The report names the database by engine and name only: it may be pasted into a CI log.
    assert "127.0.0.1" not in result.stdout


@pytest.mark.parametrize(
    ("target", "processes"),
    [("vm", "Gunicorn worker"), ("docker", "Gunicorn worker"), ("vercel", "function instance")],
)
def test_preflight_prints_the_page_cache_staleness_bound_in_force(target, processes, database_url, collected_static):
    env = target_env(
        target, database_url, collected_static, PAGE_CACHE_STALE_SECONDS="3.5", PAGE_CACHE_STALE_IF_ERROR="false"
    )
    result = preflight(target, env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (
        f"  page cache: an edit reaches every {processes} within 3.5 s (PAGE_CACHE_STALE_SECONDS); "
        "database unreachable: pages rendered, so 503 (PAGE_CACHE_STALE_IF_ERROR=false)"
    ) in result.stdout.splitlines()
    # And the defaults, as a deploy that sets nothing gets them.
    result = preflight(target, target_env(target, database_url, collected_static))
    assert (
        f"  page cache: an edit reaches every {processes} within 2 s (PAGE_CACHE_STALE_SECONDS); "
        "database unreachable: cached pages served until they expire (PAGE_CACHE_STALE_IF_ERROR=true)"
    ) in result.stdout.splitlines()


def test_preflight_vm_fails_on_debug_and_unapplied_migrations(empty_database_url, collected_static):
    env = target_env("vm", empty_database_url, collected_static, DEBUG="true")
    result = preflight("vm", env)
    assert result.returncode != 0
    assert "ERROR   security.W018: You should not have DEBUG set to True" in result.stdout  # promoted to an error
    assert "folio.E042" in result.stdout and "content.0001_initial" in result.stdout
    assert "preflight failed" in result.stderr


def test_preflight_vm_fails_on_a_guessable_admin_and_a_wildcard_host(database_url, collected_static):
    env = target_env("vm", database_url, collected_static, ADMIN_URL="admin/", ALLOWED_HOSTS="*")
    result = preflight("vm", env)
    assert result.returncode != 0
    assert "folio.W030" in result.stdout
    assert "folio.E033" in result.stdout


def test_preflight_docker_fails_without_collected_static_files(database_url, tmp_path):
    result = preflight("docker", target_env("docker", database_url, tmp_path / "never-collected"))
    assert result.returncode != 0
    assert "folio.E034" in result.stdout


def test_preflight_docker_fails_on_a_manifest_missing_from_static_root(database_url, tmp_path):
    (tmp_path / "css").mkdir()
    (tmp_path / "css" / "folio.css").write_text("body {}")
    result = preflight("docker", target_env("docker", database_url, tmp_path))
    assert result.returncode != 0
    assert "folio.E035" in result.stdout


def test_preflight_docker_warns_about_uploads_in_the_container_filesystem(database_url, collected_static):
    env = target_env("docker", database_url, collected_static)
    del env["AWS_STORAGE_BUCKET_NAME"]
    result = preflight("docker", env)
    assert "folio.W033" in result.stdout


def test_preflight_vercel_fails_on_production_settings_with_local_media_and_kept_connections(
    database_url, collected_static
):
    # What deploying with the VM's settings would mean on Vercel: uploads to a throwaway disk, connections kept.
    env = target_env("vercel", database_url, collected_static, DJANGO_SETTINGS_MODULE="config.settings.production")
    del env["AWS_STORAGE_BUCKET_NAME"]
    env["CONN_MAX_AGE"] = "60"
    result = preflight("vercel", env)
    assert result.returncode != 0
    assert "folio.W032" in result.stdout
    # The serverless rules speak about the target preflight names, whatever the settings say.
    assert "folio.E020" in result.stdout
    assert "folio.E006" in result.stdout


def test_preflight_vercel_with_sqlite_stops_with_one_sentence(collected_static, tmp_path):
    env = target_env("vercel", f"sqlite:///{tmp_path / 'db.sqlite3'}", collected_static)
    result = preflight("vercel", env)
    assert result.returncode != 0
    assert "SQLite" in result.stderr
    assert "Traceback" not in result.stderr


def test_preflight_fails_on_a_transaction_pooler_url_with_server_side_cursors(database_url, collected_static):
    pooled = database_url.replace(f":{connection.settings_dict['PORT'] or 5432}/", ":6432/")
    result = preflight("vm", target_env("vm", pooled, collected_static))
    assert result.returncode != 0
    assert "folio.E036" in result.stdout
    # Nothing listens on 6432 here: the report says so instead of crashing.
    assert "folio.E041" in result.stdout


@pytest.mark.parametrize("target", ["vercel", "vm", "docker"])
def test_preflight_reports_debug_once(target, database_url, collected_static):
    result = preflight(target, target_env(target, database_url, collected_static, DEBUG="true"))
    assert result.returncode != 0
    about_debug = [line for line in finding_lines(result.stdout) if "DEBUG" in line]
    assert len(about_debug) == 1, result.stdout
    assert "security.W018" in about_debug[0]


def test_preflight_vercel_reports_an_in_process_pool_once(database_url, collected_static):
    result = preflight("vercel", target_env("vercel", database_url, collected_static, DB_POOL="native"))
    assert result.returncode != 0
    about_pools = [line for line in finding_lines(result.stdout) if "pool" in line.lower()]
    assert len(about_pools) == 1, result.stdout
    assert "folio.W002" in about_pools[0]
