"""The admin's essay form: a cover is accepted for what it is (Pillow decodes it), never for its name or type."""

from __future__ import annotations

import uuid

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat

from .models import Essay

# Pillow names the formats it decoded; these are the ones every browser shows.
COVER_FORMATS = {"JPEG": "jpg", "PNG": "png", "GIF": "gif", "WEBP": "webp"}
# A small file can still decode to a huge bitmap (a "decompression bomb"); nobody needs a cover this large.
COVER_MAX_PIXELS = 40_000_000
# The name is replaced, so any name a file system can hold is fine; a longer one (up to the ~940 characters Django's
# parser reads, apps/core/http/errors.py handler400 beyond) was made up, and is refused with its real length.
COVER_NAME_MAX_CHARACTERS = 255


class CoverField(forms.ImageField):
    """forms.ImageField, minus its checks of the file name (its extension, its length): the upload is renamed from
    its content (clean_cover), so what the reader's computer called it never reaches storage."""

    default_validators = []

    def __init__(self, *args, **kwargs) -> None:
        # The model field's max_length (100) bounds the stored name, which is a UUID; applied to the uploaded name it
        # refused a valid cover over a long file name, quoting a length Django had already cut to 255.
        kwargs["max_length"] = None
        super().__init__(*args, **kwargs)


class EssayAdminForm(forms.ModelForm):
    class Meta:
        model = Essay
        fields = ["title", "slug", "author", "body", "cover", "status", "published_at"]
        field_classes = {"cover": CoverField}

    def clean_cover(self) -> UploadedFile | None:
        cover = self.cleaned_data.get("cover")
        # Only a new upload needs checking; an unchanged cover is a FieldFile already in storage.
        if not isinstance(cover, UploadedFile):
            return cover
        # The length as sent (apps/content/uploads.py): Django has cut the name itself to 255 by now.
        sent_length = getattr(cover, "sent_name_length", len(cover.name))
        if sent_length > COVER_NAME_MAX_CHARACTERS:
            raise forms.ValidationError(
                "This file's name is %(length)s characters long; rename it to at most %(limit)s and upload it again.",
                code="name_too_long",
                params={"length": f"{sent_length:,}", "limit": f"{COVER_NAME_MAX_CHARACTERS:,}"},
            )
        if cover.size > settings.COVER_MAX_BYTES:
            raise forms.ValidationError(
                "This cover is %(size)s; the limit is %(limit)s. Export it smaller and upload it again.",
                code="too_large",
                params={"size": filesizeformat(cover.size), "limit": filesizeformat(settings.COVER_MAX_BYTES)},
            )
        # forms.ImageField has already opened and verified the file with Pillow and attached the image.
        image = getattr(cover, "image", None)
        if image is None or image.format not in COVER_FORMATS:
            raise forms.ValidationError("Upload a JPEG, PNG, GIF or WebP image.", code="unsupported_format")
        width, height = image.size
        if width * height > COVER_MAX_PIXELS:
            raise forms.ValidationError(
                "This cover is %(width)s×%(height)s pixels; scale it down below 40 megapixels.",
                code="too_many_pixels",
                params={"width": width, "height": height},
            )
        # The stored name comes from what the file is, not from what the upload called itself.
        cover.name = f"{uuid.uuid4().hex}.{COVER_FORMATS[image.format]}"
        return cover
