"""What the vercel settings refuse at start-up, and what they make of the S3 variables."""

from __future__ import annotations

import json

import pytest

from harness.project import manage
from tests.vercel.conftest import vercel_env

PRINT = (
    "from django.conf import settings; import json; "
    "print(json.dumps({'storages': settings.STORAGES, 'hosts': settings.ALLOWED_HOSTS, "
    "'ages': [db['CONN_MAX_AGE'] for db in settings.DATABASES.values()], 'static_url': settings.STATIC_URL}))"
)
POSTGRES = "postgres://folio@db.invalid:5432/folio"


def vercel_settings(**overrides: str) -> dict:
    env = vercel_env(DJANGO_SETTINGS_MODULE="config.settings.vercel", DATABASE_URL=POSTGRES, **overrides)
    result = manage("shell", "-c", PRINT, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_vercel_settings_refuse_sqlite_with_a_sentence_that_says_why():
    env = vercel_env(DJANGO_SETTINGS_MODULE="config.settings.vercel", DATABASE_URL="sqlite:////tmp/folio.db")
    result = manage("check", env=env)
    assert result.returncode == 1
    assert "SQLite, which does not persist on Vercel" in result.stderr
    assert "Traceback" not in result.stderr


def test_vercel_settings_require_a_media_bucket():
    env = vercel_env(DJANGO_SETTINGS_MODULE="config.settings.vercel", DATABASE_URL=POSTGRES)
    env.pop("AWS_STORAGE_BUCKET_NAME")
    result = manage("check", env=env)
    assert result.returncode == 1
    assert "Set the AWS_STORAGE_BUCKET_NAME environment variable" in result.stderr


def test_vercel_media_goes_to_the_s3_bucket_from_the_environment():
    found = vercel_settings(AWS_STORAGE_BUCKET_NAME="essays-media", AWS_S3_ENDPOINT_URL="https://r2.example.org")
    media = found["storages"]["default"]
    assert media["BACKEND"] == "storages.backends.s3.S3Storage"
    assert media["OPTIONS"]["bucket_name"] == "essays-media"
    assert media["OPTIONS"]["endpoint_url"] == "https://r2.example.org"
    assert media["OPTIONS"]["file_overwrite"] is False


def test_vercel_allows_its_own_hosts_and_keeps_no_connection():
    found = vercel_settings(CONN_MAX_AGE="600")
    assert ".vercel.app" in found["hosts"]
    assert found["ages"] and set(found["ages"]) == {0}


@pytest.mark.parametrize("missing", ["AWS_STATIC_BUCKET_NAME", "STATIC_CDN_DOMAIN"])
def test_static_on_s3_needs_both_the_bucket_and_the_cdn_domain(missing):
    both = {"AWS_STATIC_BUCKET_NAME": "folio-static", "STATIC_CDN_DOMAIN": "static.example.org"}
    both.pop(missing)
    env = vercel_env(DJANGO_SETTINGS_MODULE="config.settings.production", DATABASE_URL=POSTGRES, **both)
    result = manage("check", env=env)
    assert result.returncode == 1
    assert "Set both AWS_STATIC_BUCKET_NAME and STATIC_CDN_DOMAIN" in result.stderr


def test_production_static_on_s3_is_served_from_the_cdn_domain_with_hashed_names():
    env = vercel_env(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        DATABASE_URL=POSTGRES,
        AWS_STATIC_BUCKET_NAME="folio-static",
        STATIC_CDN_DOMAIN="static.example.org",
    )
    result = manage("shell", "-c", PRINT, env=env)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["static_url"] == "https://static.example.org/static/"
    static = found["storages"]["staticfiles"]
    assert static["BACKEND"] == "storages.backends.s3.S3ManifestStaticStorage"
    assert static["OPTIONS"]["custom_domain"] == "static.example.org"
    assert static["OPTIONS"]["querystring_auth"] is False


def test_production_keeps_uploads_on_disk_without_a_bucket():
    env = vercel_env(DJANGO_SETTINGS_MODULE="config.settings.production", DATABASE_URL=POSTGRES)
    env.pop("AWS_STORAGE_BUCKET_NAME")
    result = manage("shell", "-c", PRINT, env=env)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["storages"]["default"]["BACKEND"] == "django.core.files.storage.FileSystemStorage"
