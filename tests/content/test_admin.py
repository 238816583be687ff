"""Editing essays in the admin: covers checked by their content, drafts previewed by staff only."""

from __future__ import annotations

import html
import io
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from apps.content.models import Essay
from harness.project import clean_env, run_python

pytestmark = pytest.mark.django_db


def image_bytes(format: str = "PNG", size: tuple[int, int] = (64, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (154, 52, 18)).save(buffer, format=format)
    return buffer.getvalue()


@pytest.fixture
def media_root(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def stored_files(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def add_essay(admin_client, author, *, cover: SimpleUploadedFile | None = None, slug: str = "with-cover"):
    data = {
        "title": "With a cover",
        "slug": slug,
        "author": author.pk,
        "body": "A body.",
        "status": Essay.Status.PUBLISHED,
        "published_at_0": "2026-01-01",
        "published_at_1": "09:00:00",
    }
    if cover is not None:
        data["cover"] = cover
    return admin_client.post(reverse("admin:content_essay_add"), data)


def test_a_real_image_is_stored_under_the_name_its_content_deserves(admin_client, author, media_root, client):
    response = add_essay(admin_client, author, cover=SimpleUploadedFile("notes.txt", image_bytes("JPEG")))

    assert response.status_code == 302, response.content
    essay = Essay.objects.get(slug="with-cover")
    assert essay.cover.name.startswith("covers/") and essay.cover.name.endswith(".jpg")
    assert default_storage.exists(essay.cover.name)
    assert f'src="{essay.cover.url}"'.encode() in client.get(essay.get_absolute_url()).content


def test_a_cover_with_a_long_file_name_is_stored_under_its_new_name(admin_client, author, media_root):
    long_name = "a-photo-from-the-trip-" + "x" * 124 + ".jpg"
    assert len(long_name) == 150

    response = add_essay(admin_client, author, cover=SimpleUploadedFile(long_name, image_bytes("JPEG")))

    assert response.status_code == 302, response.context["adminform"].form.errors
    name = Essay.objects.get(slug="with-cover").cover.name
    assert name.endswith(".jpg") and len(name) < 100 and default_storage.exists(name)


def named(name: str, content: bytes) -> io.BytesIO:
    """An upload that keeps its whole name: SimpleUploadedFile would cut it to 255 characters before sending."""
    upload = io.BytesIO(content)
    upload.name = name
    return upload


def test_a_cover_name_no_file_system_holds_is_a_form_error_with_its_real_length(admin_client, author, media_root):
    response = add_essay(admin_client, author, cover=named("x" * 596 + ".jpg", image_bytes("JPEG")))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["cover"] == [
        "This file's name is 600 characters long; rename it to at most 255 and upload it again."
    ]
    # The rest of the form is kept for the editor to send again.
    assert response.context["adminform"].form["title"].value() == "With a cover"
    assert not Essay.objects.exists()
    assert stored_files(media_root) == []


def test_a_cover_name_too_long_for_djangos_parser_is_a_400_that_says_why(admin_client, author, media_root):
    response = add_essay(admin_client, author, cover=named("x" * 1200 + ".jpg", image_bytes("JPEG")))

    assert response.status_code == 400
    assert b"A file in the form has a name too long to read" in response.content
    assert not Essay.objects.exists()
    assert stored_files(media_root) == []


def test_a_cover_named_at_the_file_system_limit_is_stored(admin_client, author, media_root):
    response = add_essay(admin_client, author, cover=named("y" * 251 + ".png", image_bytes("PNG")))

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert default_storage.exists(Essay.objects.get(slug="with-cover").cover.name)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("cover.png", b"<html><script>alert(1)</script></html>"),
        ("cover.jpg", b"\xff\xd8\xff\xe0 not really a jpeg"),
        ("cover.gif", b"GIF89a" + b"\x00" * 20),
        ("cover.png", image_bytes("PNG")[:60]),
        ("cover.svg", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'),
    ],
    ids=["html-named-png", "jpeg-magic-only", "gif-header-only", "truncated-png", "svg"],
)
def test_a_non_image_is_a_form_error_and_nothing_is_stored(admin_client, author, media_root, name, content):
    response = add_essay(admin_client, author, cover=SimpleUploadedFile(name, content, content_type="image/png"))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["cover"]
    assert not Essay.objects.exists()
    assert stored_files(media_root) == []


def test_a_cover_over_the_limit_is_a_form_error_and_nothing_is_stored(admin_client, author, media_root, settings):
    big = image_bytes("PNG", size=(400, 400))
    settings.COVER_MAX_BYTES = len(big) - 1

    response = add_essay(admin_client, author, cover=SimpleUploadedFile("big.png", big))

    assert response.status_code == 200
    assert "the limit is" in " ".join(response.context["adminform"].form.errors["cover"])
    assert not Essay.objects.exists()
    assert stored_files(media_root) == []


def test_the_cover_limit_comes_from_cover_max_mb():
    code = "import django; django.setup(); from django.conf import settings; print(settings.COVER_MAX_BYTES)"
    default = run_python(code, env=clean_env(DJANGO_SETTINGS_MODULE="config.settings.development"))
    configured = run_python(code, env=clean_env(DJANGO_SETTINGS_MODULE="config.settings.development", COVER_MAX_MB="2"))

    assert default.stdout.strip() == str(5 * 1024 * 1024), default.stderr
    assert configured.stdout.strip() == str(2 * 1024 * 1024), configured.stderr


def test_staff_can_preview_a_draft(admin_client, make_essay):
    essay = make_essay("unfinished", status=Essay.Status.DRAFT, title="Work in progress")

    response = admin_client.get(essay.get_preview_url())

    assert response.status_code == 200
    assert b"Work in progress" in response.content
    assert b"Preview" in response.content
    assert b'<meta name="robots" content="noindex">' in response.content
    assert "no-store" in response["Cache-Control"]


def test_preview_of_a_scheduled_essay_does_not_publish_it(admin_client, client, make_essay):
    essay = make_essay("later", published_at=timezone.now() + timedelta(days=1))
    assert admin_client.get(essay.get_preview_url()).status_code == 200
    assert client.get(essay.get_absolute_url()).status_code == 404


def test_readers_cannot_preview(client, make_essay, django_user_model):
    essay = make_essay("secret", status=Essay.Status.DRAFT, title="Secret draft")

    anonymous = client.get(essay.get_preview_url())
    client.force_login(django_user_model.objects.create(username="reader"))
    reader = client.get(essay.get_preview_url())

    for response in (anonymous, reader):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))
        assert b"Secret draft" not in response.content


def test_changelist_has_filters_search_and_preview_links(admin_client, make_essay):
    make_essay("alpha-essay", title="Alpha")
    make_essay("beta-draft", title="Beta", status=Essay.Status.DRAFT)
    url = reverse("admin:content_essay_changelist")

    everything = admin_client.get(url).content.decode()
    searched = admin_client.get(url, {"q": "alpha"}).content.decode()
    drafts = admin_client.get(url, {"status__exact": "draft"}).content.decode()

    assert 'id="changelist-filter"' in everything
    assert 'href="/essays/alpha-essay/preview/"' in everything
    assert "Alpha" in searched and "Beta" not in searched
    assert "Beta" in drafts and "Alpha" not in drafts


def test_add_form_prepopulates_the_slug_from_the_title(admin_client):
    page = html.unescape(admin_client.get(reverse("admin:content_essay_add")).content.decode())
    assert '"id": "#id_slug"' in page
    assert '"dependency_ids": ["#id_title"]' in page
