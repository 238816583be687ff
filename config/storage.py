"""STORAGES entries for S3-compatible object storage (AWS S3, Cloudflare R2, MinIO), built from settings values.

Only dotted paths and plain options here: django-storages (and boto3 behind it) is imported the first time a
file is stored or a URL is built, never while settings load, so a cold start does not pay for boto3.
"""

from __future__ import annotations

from typing import Any


def s3_options(
    *,
    bucket: str,
    endpoint_url: str,
    region: str,
    access_key: str,
    secret_key: str,
    custom_domain: str,
    location: str,
) -> dict[str, Any]:
    """Options for django-storages' S3 backends; empty values are left out so boto3's own lookup still applies."""
    options: dict[str, Any] = {
        "bucket_name": bucket,
        "location": location,
        # Two uploads named cover.jpg must not overwrite each other: a page would show the newer image.
        "file_overwrite": False,
        # Object ACLs are disabled on new AWS buckets and unsupported on R2; access comes from the bucket policy.
        "default_acl": None,
    }
    optional = {
        "endpoint_url": endpoint_url,
        "region_name": region,
        "access_key": access_key,
        "secret_key": secret_key,
        "custom_domain": custom_domain,
    }
    options.update({key: value for key, value in optional.items() if value})
    return options


def s3_media_storage(**options: Any) -> dict[str, Any]:
    """Uploads: signed URLs from a private bucket, or plain URLs when a public CDN domain fronts it."""
    return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": s3_options(location="media", **options)}


def s3_static_storage(**options: Any) -> dict[str, Any]:
    """Static files on S3 behind a CDN, with hashed names so the CDN may cache them for a year."""
    return {
        "BACKEND": "storages.backends.s3.S3ManifestStaticStorage",
        "OPTIONS": {**s3_options(location="static", **options), "querystring_auth": False, "file_overwrite": True},
    }
