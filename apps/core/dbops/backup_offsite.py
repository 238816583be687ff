"""The off-site copy: each new backup file uploaded to BACKUP_BUCKET with boto3 (django-storages' own client).

Retention there is the bucket's lifecycle rule, not ours: a host that is broken into should not be able to delete
the copies, so the credentials need only s3:PutObject on the bucket.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError

PREFIX = "backups/"


def _client():
    import boto3  # imported on use: only a site with BACKUP_BUCKET pays for boto3

    options = {
        "endpoint_url": settings.AWS_S3_ENDPOINT_URL,
        "region_name": settings.AWS_S3_REGION_NAME,
        "aws_access_key_id": settings.AWS_ACCESS_KEY_ID,
        "aws_secret_access_key": settings.AWS_SECRET_ACCESS_KEY,
    }
    # Empty values are left out so boto3's own lookup (an IAM role, ~/.aws) still applies.
    return boto3.client("s3", **{key: value for key, value in options.items() if value})


def upload(paths: list[Path], *, bucket: str) -> list[str]:
    """Upload each file as backups/<name>; the keys written, or one line saying which file failed and why."""
    from boto3.exceptions import Boto3Error  # upload_file's own (S3UploadFailedError wraps the ClientError)
    from botocore.exceptions import BotoCoreError, ClientError

    client = _client()
    keys = []
    for path in paths:
        key = PREFIX + path.name
        try:
            client.upload_file(str(path), bucket, key)
        except (Boto3Error, BotoCoreError, ClientError) as exc:
            raise CommandError(
                f"{path} was written, but its off-site copy to BACKUP_BUCKET={bucket} failed: {exc}"
            ) from None
        keys.append(key)
    return keys
