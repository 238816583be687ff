"""Self-signed certificates for the HTTPS servers the tests and benchmarks start (nginx in front of Gunicorn)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


def self_signed_certificate(cert: Path, key: Path, *, domain: str, ip: str = "") -> tuple[Path, Path]:
    """A two-day P-256 certificate for `domain` (and `ip`) written to `cert` and `key`: a client that checks the
    name (Python's ssl with the certificate as its CA) accepts it; nothing outside the test ever sees it."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise FileNotFoundError("openssl is not installed (apt-get install openssl)")
    names = f"DNS:{domain}" + (f",IP:{ip}" if ip else "")
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", f"/CN={domain}",
         "-addext", f"subjectAltName={names}"],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    return cert, key
