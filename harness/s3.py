"""A local S3 API: moto's server mode in its own process group on a free loopback port.

`running_s3(log)` starts it (tests/vercel/conftest.py's `s3_server` fixture holds one per session);
`S3Server.storage_settings(bucket)` gives a STORAGES["default"] entry for it and `client()` a boto3 client to look
into the bucket as an operator would.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from config.storage import s3_media_storage
from harness.ports import free_port
from harness.processes import ServiceDidNotStart, read_log, stop_process_group, wait_until_listening

# Installed next to the interpreter running the tests (the project's .venv).
MOTO_SERVER = Path(sys.executable).parent / "moto_server"
REGION = "us-east-1"
ACCESS_KEY = "testing"
SECRET_KEY = "testing"


@dataclass
class S3Server:
    endpoint: str

    def client(self) -> Any:
        import boto3  # imported here: tests that never touch S3 should not pay for boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )

    def create_bucket(self, name: str) -> str:
        self.client().create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str) -> list[str]:
        listing = self.client().list_objects_v2(Bucket=bucket)
        return [item["Key"] for item in listing.get("Contents", [])]

    def env(self, bucket: str) -> dict[str, str]:
        """The environment variables that point Folio's media at this server."""
        return {
            "AWS_STORAGE_BUCKET_NAME": bucket,
            "AWS_S3_ENDPOINT_URL": self.endpoint,
            "AWS_S3_REGION_NAME": REGION,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        }

    def storage_settings(self, bucket: str, custom_domain: str = "") -> dict[str, Any]:
        return s3_media_storage(
            bucket=bucket,
            endpoint_url=self.endpoint,
            region=REGION,
            access_key=ACCESS_KEY,
            secret_key=SECRET_KEY,
            custom_domain=custom_domain,
        )


@contextlib.contextmanager
def running_s3(log: Path, *, startup_timeout: float = 30.0) -> Iterator[S3Server]:
    """moto's S3 API on a free loopback port until the block ends; its output goes to `log`. Raises
    ServiceDidNotStart when moto's server is missing or does not listen in time."""
    if not MOTO_SERVER.exists():
        raise ServiceDidNotStart(f"moto's server is not installed at {MOTO_SERVER} (dev dependency moto[server])")
    port = free_port()
    with log.open("w") as output:
        process = subprocess.Popen(
            [str(MOTO_SERVER), "-H", "127.0.0.1", "-p", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until_listening(process, [port], what="moto_server", timeout=startup_timeout, log=read_log(log))
        yield S3Server(endpoint=f"http://127.0.0.1:{port}")
    finally:
        stop_process_group(process, grace=10)
