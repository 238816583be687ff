"""The project's own image, built by a real engine from the unchanged Dockerfile, and containers run from it.

The build uses Docker's classic builder (engine.client_env sets DOCKER_BUILDKIT=0): it needs no registry, while
BuildKit would first pull the `# syntax=docker/dockerfile:1` frontend image. The Dockerfile uses nothing the classic
builder lacks (no RUN --mount, no heredocs), so both builders make the same image from it. `--network host`: the
engine has no NAT, and uv reaches PyPI the way the host does (the python stand-in trusts the host's CA store).
"""

from __future__ import annotations

import contextlib
import json
import secrets
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from harness.docker.engine import Engine
from harness.docker.standins import ROOT, cache_enabled

IMAGE = "folio:latest"
# The Dockerfile's backup stage, under the name docker-compose.production.yml gives it by default.
BACKUP_IMAGE = "folio-backup:latest"
# Who the Dockerfile says the app runs as.
APP_UID = 10001


def build_project_image(
    engine: Engine,
    tag: str = IMAGE,
    *,
    log: Path,
    build_args: dict[str, str] | None = None,
    target: str | None = None,
) -> float:
    """`docker build` of the repository (its last stage, or `target`); returns the seconds it took. Raises
    RuntimeError with the log's tail."""
    started = time.monotonic()
    command = ["build", "--network", "host", "--tag", tag, *(["--target", target] if target else [])]
    for name, value in (build_args or {}).items():
        command += ["--build-arg", f"{name}={value}"]
    if not cache_enabled():
        command.append("--no-cache")
    completed = engine.docker(*command, str(ROOT), timeout=1800, check=False)
    log.write_text(completed.stdout + completed.stderr)
    if completed.returncode != 0:
        tail = " / ".join((completed.stdout + completed.stderr).strip().splitlines()[-5:])
        raise RuntimeError(f"docker build of {ROOT} failed: {tail} (log: {log})")
    return time.monotonic() - started


def image_size(engine: Engine, tag: str = IMAGE) -> int:
    return int(engine.docker("image", "inspect", "--format", "{{.Size}}", tag).stdout.strip())


def inspect(engine: Engine, container: str) -> dict:
    return json.loads(engine.docker("inspect", container).stdout)[0]


def wait_for(predicate, *, timeout: float, what: str, interval: float = 0.5):
    """Poll `predicate` until it returns something truthy; the bound is generous (the machine is shared)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout:.0f} s")
        time.sleep(interval)


@dataclass
class Network:
    engine: Engine
    name: str

    def run(self, *args: str, name: str, aliases: tuple[str, ...] = ()) -> str:
        """`docker run --detach` on this network; returns the container's name."""
        alias_args = [item for alias in aliases for item in ("--network-alias", alias)]
        self.engine.docker("run", "--detach", "--name", name, "--network", self.name, *alias_args, *args)
        return name


@contextlib.contextmanager
def network(engine: Engine) -> Iterator[Network]:
    """A user-defined bridge network (from the engine's address pool), removed with its containers at the end."""
    name = f"folio-test-{uuid.uuid4().hex[:8]}"
    engine.docker("network", "create", name)
    try:
        yield Network(engine, name)
    finally:
        attached = engine.ids("ps", "--all", "--quiet", "--filter", f"network={name}")
        if attached:
            engine.docker("rm", "--force", "--volumes", *attached, timeout=120, check=False)
        engine.docker("network", "rm", name, check=False)


@dataclass(frozen=True)
class Database:
    host: str
    user: str
    password: str
    name: str

    @property
    def url(self) -> str:
        return f"postgres://{self.user}:{self.password}@{self.host}:5432/{self.name}"


def start_postgres(net: Network, image: str, *, alias: str = "db") -> Database:
    """The postgres stand-in on `net`, healthy (pg_isready on the initialised database) before returning."""
    database = Database(host=alias, user="folio", password=secrets.token_urlsafe(16), name="folio")
    container = net.run(
        "--env",
        f"POSTGRES_USER={database.user}",
        "--env",
        f"POSTGRES_PASSWORD={database.password}",
        "--env",
        f"POSTGRES_DB={database.name}",
        image,
        name=f"{net.name}-{alias}",
        aliases=(alias,),
    )

    def ready() -> bool:
        probe = net.engine.docker(
            "exec",
            container,
            "pg_isready",
            "-U",
            database.user,
            "-d",
            database.name,
            "-h",
            "127.0.0.1",
            check=False,
            timeout=30,
        )
        return probe.returncode == 0

    wait_for(ready, timeout=120, what="the postgres stand-in accepting connections")
    return database


def app_environment(database: Database, host: str = "folio.test") -> dict[str, str]:
    """What .env.production gives web: production settings, behind a proxy that says https."""
    return {
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": host,
        "CSRF_TRUSTED_ORIGINS": f"https://{host}",
        "DATABASE_URL": database.url,
        "ADMIN_URL": "site-admin/",
        "BEHIND_PROXY": "true",
        "FORWARDED_ALLOW_IPS": "*",
        "WEB_CONCURRENCY": "2",
    }


def env_args(environment: dict[str, str]) -> list[str]:
    return [item for name, value in environment.items() for item in ("--env", f"{name}={value}")]


def published_port(engine: Engine, container: str, port: int = 8000) -> int:
    """The loopback port docker-proxy publishes `port` on (`-p 127.0.0.1::8000`)."""
    mapping = engine.docker("port", container, f"{port}/tcp").stdout.split()[0]
    return int(mapping.rsplit(":", 1)[1])


def health(engine: Engine, container: str) -> str:
    state = inspect(engine, container)["State"]
    return state.get("Health", {}).get("Status", "none")


def logs(engine: Engine, container: str) -> str:
    completed = engine.docker("logs", container, check=False)
    return completed.stdout + completed.stderr


def run_once(engine: Engine, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return engine.docker("run", "--rm", *args, timeout=timeout, check=False)
