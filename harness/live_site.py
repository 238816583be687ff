"""The real site on a free loopback port: production settings, DEBUG off, static files built by collectstatic
(hashed names, compressed copies, the manifest) and served by WhiteNoise, the demo essays in a SQLite file.

    with start_site(tmp_path, {"REDIS_URL": "redis://127.0.0.1:6379/0"}) as site:
        urllib.request.urlopen(site.url("/"))
        assert "..." in site.log_text()

Everything it writes (database, static root, media, server log) lives under the directory it is given, and the
server is always stopped (harness/gunicorn.py kills its whole process group).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from harness.gunicorn import Gunicorn, running_gunicorn
from harness.project import SITE_STEPS, manage_steps, production_env

HOST = "127.0.0.1"


@dataclass(frozen=True)
class LiveSite:
    base_url: str
    env: dict[str, str]
    directory: Path
    server: Gunicorn

    def url(self, path: str = "/") -> str:
        return self.base_url + path

    def log_text(self) -> str:
        """Gunicorn's access and error log, with Django's log lines (all on stdout/stderr)."""
        return self.server.log_text()


def site_env(directory: Path, overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    return production_env(
        **{
            "DATABASE_URL": f"sqlite:///{directory / 'folio.sqlite3'}",
            "ALLOWED_HOSTS": f"{HOST},localhost",
            "STATIC_ROOT": str(directory / "static"),
            "MEDIA_ROOT": str(directory / "media"),
            # Plain HTTP on loopback: TLS is nginx's job (tests/vm), and a redirect to https:// here would only
            # lead the browser to a port where nothing listens.
            "SECURE_SSL_REDIRECT": "false",
            # Two workers: enough to show a shared cache is shared, little on a 2-core machine.
            "WEB_CONCURRENCY": "2",
            "GUNICORN_THREADS": "2",
            **(overrides or {}),
        }
    )


def prepare(env: dict[str, str]) -> None:
    """What a deploy runs before serving: collectstatic, migrate, and here the demo essays."""
    # --skip-checks: production's checks rightly refuse SQLite (folio.E005); a throwaway file is the point here,
    # and the checks have tests of their own.
    manage_steps(*((*command, "--skip-checks") for command in SITE_STEPS), env=env)


@contextlib.contextmanager
def start_site(directory: Path, env_overrides: Mapping[str, str] | None = None) -> Iterator[LiveSite]:
    """Prepare and serve Folio from `directory` (a tmp_path); `env_overrides` adds or replaces variables."""
    directory.mkdir(parents=True, exist_ok=True)
    env = site_env(directory, env_overrides)
    prepare(env)
    with running_gunicorn(env=env, log=directory / "gunicorn.log", host=HOST) as server:
        yield LiveSite(base_url=server.url("").rstrip("/"), env=env, directory=directory, server=server)
