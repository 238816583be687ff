"""Write docker-compose.production.yml's two env files from their templates, with fresh secrets.

    python deploy/docker/make_env.py folio.example.org

.env.production (Django) and .env.postgres (the database) get a new DJANGO_SECRET_KEY and one new database password
in every place it must appear. The files are created readable by their owner only, and an existing one is never
overwritten: a second run would lock the site out of a database initialised with the first password.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
TEMPLATES = {".env.production": HERE / "production.env.example", ".env.postgres": HERE / "postgres.env.example"}
PLACEHOLDERS = {
    "secret_key": "change-me-to-a-real-secret-key",
    "database_password": "change-me-database-password",
    "admin_path": "change-me-admin-path",
    "domain": "folio.example.org",
}
HOST_NAME = re.compile(r"(?=.{1,253}\Z)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")


def render(template: str, *, domain: str, secret_key: str, database_password: str, admin_path: str) -> str:
    values = {
        "secret_key": secret_key,
        "database_password": database_password,
        "domain": domain,
        "admin_path": admin_path,
    }
    for name, placeholder in PLACEHOLDERS.items():
        template = template.replace(placeholder, values[name])
    return template


def write_env_files(directory: Path, domain: str) -> list[Path]:
    """The env files in `directory`; FileExistsError if either is already there (nothing is written then)."""
    existing = [directory / name for name in TEMPLATES if (directory / name).exists()]
    if existing:
        raise FileExistsError(existing[0])
    # URL-safe alphabets: the password goes into postgres:// URLs unescaped.
    values = {
        "secret_key": secrets.token_urlsafe(50),
        "database_password": secrets.token_urlsafe(24),
        "admin_path": "admin-" + secrets.token_hex(6),
    }
    written = []
    for name, template in TEMPLATES.items():
        path = directory / name
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as output:
            output.write(render(template.read_text(encoding="utf-8"), domain=domain, **values))
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("domain", help="the site's host name, e.g. folio.example.org")
    parser.add_argument("--directory", type=Path, default=ROOT, help="where to write (default: the project root)")
    options = parser.parse_args(argv)
    domain = options.domain.strip().lower()
    if not HOST_NAME.fullmatch(domain):
        print(f"{options.domain!r} is not a host name: give one like folio.example.org", file=sys.stderr)
        return 2
    try:
        written = write_env_files(options.directory, domain)
    except FileExistsError as exc:
        print(
            f"{exc} already exists; it holds the secrets the database was set up with. Edit it instead.",
            file=sys.stderr,
        )
        return 1
    for path in written:
        print(f"wrote {path} (mode 600)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
