"""Uploads on S3-compatible storage (moto's server on loopback): the object lands in the bucket, the page links
to it, and nothing is written to the function's disk."""

from __future__ import annotations

import io
import re
import urllib.request
import uuid
from html import unescape

import psycopg
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from PIL import Image

from harness.vercel_build import VERCEL_HOST
from tests.vercel.conftest import ADMIN_PASSWORD, ADMIN_USERNAME, vercel_env

pytestmark = pytest.mark.services


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 5), (200, 80, 40)).save(buffer, format="PNG")
    return buffer.getvalue()


def fetch(url: str) -> bytes:
    assert url.startswith("http://127.0.0.1:"), f"media URL leaves loopback: {url}"
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback moto server only
        return response.read()


def test_default_storage_writes_to_the_bucket_and_serves_a_working_url(s3_server, settings, tmp_path):
    bucket = s3_server.create_bucket(f"media-{uuid.uuid4().hex[:8]}")
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {**settings.STORAGES, "default": s3_server.storage_settings(bucket)}

    name = default_storage.save("covers/note.txt", ContentFile(b"stored on S3"))

    assert s3_server.keys(bucket) == [f"media/{name}"]
    assert fetch(default_storage.url(name)) == b"stored on S3"
    assert not settings.MEDIA_ROOT.exists()


def test_a_second_upload_with_the_same_name_does_not_overwrite_the_first(s3_server, settings):
    bucket = s3_server.create_bucket(f"media-{uuid.uuid4().hex[:8]}")
    settings.STORAGES = {**settings.STORAGES, "default": s3_server.storage_settings(bucket)}
    first = default_storage.save("covers/cover.png", ContentFile(b"first"))
    second = default_storage.save("covers/cover.png", ContentFile(b"second"))
    assert first != second
    assert fetch(default_storage.url(first)) == b"first"


@pytest.mark.postgres
def test_admin_cover_upload_on_vercel_lands_in_the_bucket_and_the_essay_page_links_to_it(
    s3_server,
    vercel_database_url,
    vercel_builds,
    tmp_path,
):
    invoke = vercel_builds["zero-config"].invoke
    bucket = s3_server.create_bucket(f"media-{uuid.uuid4().hex[:8]}")
    media_root = tmp_path / "media"
    env = vercel_env(
        DATABASE_URL=vercel_database_url,
        MEDIA_ROOT=str(media_root),
        **s3_server.env(bucket),
    )
    with psycopg.connect(vercel_database_url) as db:
        admin_id = db.execute("SELECT id FROM users_user WHERE username = %s", [ADMIN_USERNAME]).fetchone()[0]

    login_url = "/admin/login/"
    form = invoke("GET", login_url, env=env)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
    csrf = form.cookies["csrftoken"]
    login = invoke(
        "POST",
        login_url,
        env=env,
        body=f"csrfmiddlewaretoken={token}&username={ADMIN_USERNAME}&password={ADMIN_PASSWORD}".encode(),
        headers={
            "content-type": "application/x-www-form-urlencoded",
            "cookie": f"csrftoken={csrf}",
            "referer": f"https://{VERCEL_HOST}{login_url}",
        },
    )
    assert login.status == 302, login.log[-2000:]
    cookie = f"csrftoken={csrf}; sessionid={login.cookies['sessionid']}"

    add_url = "/admin/content/essay/add/"
    add_form = invoke("GET", add_url, env=env, headers={"cookie": cookie})
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', add_form.text).group(1)
    slug = f"cover-{uuid.uuid4().hex[:8]}"
    cover = io.BytesIO(png_bytes())
    cover.name = "harbour.png"
    body = encode_multipart(
        BOUNDARY,
        {
            "csrfmiddlewaretoken": token,
            "title": "An essay with a cover",
            "slug": slug,
            "author": str(admin_id),
            "body": "A short essay about a harbour at dawn.",
            "cover": cover,
            "status": "published",
            "published_at_0": "2026-01-02",
            "published_at_1": "08:00:00",
            "_save": "Save",
        },
    )
    saved = invoke(
        "POST",
        add_url,
        env=env,
        body=body,
        headers={"content-type": MULTIPART_CONTENT, "cookie": cookie, "referer": f"https://{VERCEL_HOST}{add_url}"},
    )
    assert saved.status == 302, re.findall(r'class="errorlist[^"]*">(.*?)</ul>', saved.text) or saved.log[-2000:]

    keys = s3_server.keys(bucket)
    assert len(keys) == 1 and re.fullmatch(r"media/covers/\d{4}/\d{2}/[\w-]+\.png", keys[0]), keys

    page = invoke("GET", f"/essays/{slug}/", env=env)
    assert page.status == 200
    image = re.search(r'<img src="([^"]+)"', page.text)
    assert image and f"/{bucket}/{keys[0]}" in image.group(1)
    assert fetch(unescape(image.group(1))) == png_bytes()
    assert not media_root.exists(), "an upload was written to the function's disk"
