"""Stand-ins for the base images the Dockerfile and the compose files name, built locally because no registry is
reachable: Debian bookworm (`debootstrap --variant=minbase`, imported) under recipes in standins/.

Each recipe implements the part of the official image's contract the project's files use (its Dockerfile says
which); README, "Docker", lists what differs from the real images. The tags are read from the project's own
Dockerfile and compose files, so a changed `FROM` or `image:` is built under its new name.

The cache is the private engine's data root (kept between runs, outside the clone) plus the rootfs tarball next
to it: an image is rebuilt only when its label `folio.standin.recipe` differs from the hash of its recipe and
inputs. FOLIO_DOCKER_CACHE=off rebuilds everything from Debian's archive, with Docker's layer cache off too.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from harness.docker.engine import Engine, cache_home

ROOT = Path(__file__).resolve().parent.parent.parent
RECIPES = Path(__file__).resolve().parent / "standins"
PROJECT_FILES = [ROOT / "Dockerfile", ROOT / "docker-compose.yml", ROOT / "docker-compose.production.yml"]
SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
LABEL = "folio.standin.recipe"
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
PRODUCTION_REQUIREMENTS = ROOT / "requirements" / "production.txt"
# The systemd host runs CPython 3.12 from the python stand-in (Pillow's current wheels need 3.12; bookworm has 3.11).
SYSTEMD_TAG = "folio-standin/systemd:bookworm"
PYENV_VERSIONS = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
# Not needed to run a site, and a quarter of the tree: the stdlib's own tests, Tk, IDLE.
PYTHON_EXCLUDES = ("test", "idlelib", "tkinter", "turtledemo", "lib2to3/tests")
# Which recipe stands in for which repository (the tag comes from the project's files).
RECIPE_FOR = {
    "python": "python",
    "ghcr.io/astral-sh/uv": "uv",
    "postgres": "postgres",
    "redis": "redis",
    "nginx": "nginx",
    "edoburu/pgbouncer": "pgbouncer",
}
IMAGE_REFERENCE = re.compile(r"^\s*(?:FROM\s+(?:--platform=\S+\s+)?|image:\s*)([^\s$#]+)", re.MULTILINE | re.IGNORECASE)


class StandInError(RuntimeError):
    """A stand-in cannot be built; the message says which and why."""


def cache_enabled() -> bool:
    return os.environ.get("FOLIO_DOCKER_CACHE", "on").lower() not in ("off", "0", "no")


def referenced_images() -> dict[str, str]:
    """{tag: recipe} for every base image the Dockerfile and compose files name."""
    wanted: dict[str, str] = {}
    for path in PROJECT_FILES:
        for reference in IMAGE_REFERENCE.findall(path.read_text(encoding="utf-8")):
            repository = reference.rsplit(":", 1)[0] if ":" in reference.split("/")[-1] else reference
            if repository in RECIPE_FOR:
                wanted[reference] = RECIPE_FOR[repository]
            elif path.name == "Dockerfile" and reference in stage_names():
                continue
            else:
                raise StandInError(f"{path.name} names {reference}, which has no stand-in in {RECIPES}")
    return wanted


def stage_names() -> set[str]:
    return set(re.findall(r"^FROM\s+\S+\s+AS\s+(\S+)", (ROOT / "Dockerfile").read_text(), re.MULTILINE | re.I))


def digest(*parts: bytes) -> str:
    hasher = hashlib.sha256()
    for part in parts:
        hasher.update(hashlib.sha256(part).digest())
    return hasher.hexdigest()[:16]


def recipe_bytes(name: str) -> bytes:
    directory = RECIPES / name
    return b"".join(path.name.encode() + path.read_bytes() for path in sorted(directory.iterdir()))


def host_python() -> Path:
    """The newest pyenv CPython 3.12 on this machine (the machine kind ships one; building it takes too long)."""
    candidates = sorted(PYENV_VERSIONS.glob("3.12.*"), key=lambda p: [int(x) for x in p.name.split(".") if x.isdigit()])
    if not candidates:
        raise StandInError(f"no CPython 3.12 under {PYENV_VERSIONS}: `pyenv install 3.12` first")
    return candidates[-1]


def uv_version() -> str:
    for reference in referenced_images():
        if reference.startswith("ghcr.io/astral-sh/uv:"):
            return reference.rsplit(":", 1)[1]
    raise StandInError("the Dockerfile names no ghcr.io/astral-sh/uv image")


@dataclass
class Builder:
    engine: Engine
    log: Path
    timings: dict[str, float]

    def run(self, *command: str, timeout: float = 1800.0) -> None:
        with self.log.open("a") as output:
            output.write(f"$ {' '.join(command)}\n")
            output.flush()
            completed = subprocess.run(
                command, env=self.engine.env, stdout=output, stderr=subprocess.STDOUT, timeout=timeout, check=False
            )
        if completed.returncode != 0:
            tail = self.log.read_text(errors="replace").strip().splitlines()[-3:]
            raise StandInError(f"`{' '.join(command[:3])}…` failed: {' / '.join(tail)} (log: {self.log})")

    def label_of(self, tag: str) -> str | None:
        completed = self.engine.docker(
            "image", "inspect", "--format", f'{{{{index .Config.Labels "{LABEL}"}}}}', tag, check=False
        )
        return completed.stdout.strip() if completed.returncode == 0 else None

    def fresh(self, tag: str, key: str) -> bool:
        return cache_enabled() and self.label_of(tag) == key

    def base(self) -> str:
        """Debian bookworm minbase, imported as folio-standin/bookworm:<hash of how it is made>."""
        key = digest(f"{SUITE} {MIRROR} minbase".encode(), (RECIPES / "rootfs.sh").read_bytes())
        tag = f"folio-standin/{SUITE}:{key}"
        if self.fresh(tag, key):
            return tag
        started = time.monotonic()
        workdir = Path(tempfile.mkdtemp(prefix="rootfs-", dir=cache_home()))
        try:
            self.run(
                "bash", str(RECIPES / "rootfs.sh"), SUITE, str(workdir / "rootfs"), MIRROR, str(workdir / "rootfs.tar")
            )
            self.run(
                "docker",
                "import",
                "--change",
                f"LABEL {LABEL}={key}",
                "--change",
                'CMD ["bash"]',
                str(workdir / "rootfs.tar"),
                tag,
            )
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        self.timings["bookworm (debootstrap + import)"] = time.monotonic() - started
        return tag

    def build(self, tag: str, recipe: str, base: str) -> None:
        inputs = [recipe_bytes(recipe), base.encode()]
        if recipe == "python":
            python = host_python()
            inputs += [python.name.encode(), HOST_CA_BUNDLE.read_bytes()]
        if recipe == "uv":
            inputs.append(uv_version().encode())
        if recipe == "systemd":
            inputs.append(PRODUCTION_REQUIREMENTS.read_bytes())
        key = digest(*inputs)
        if self.fresh(tag, key):
            return
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix=f"standin-{recipe}-", dir=cache_home()) as context:
            context_path = Path(context)
            for path in (RECIPES / recipe).iterdir():
                shutil.copy2(path, context_path / path.name)
            if recipe == "python":
                pack_python(host_python(), context_path / "python.tar")
                shutil.copy(HOST_CA_BUNDLE, context_path / "host-ca-certificates.crt")
            if recipe == "uv":
                unpack_uv(uv_version(), context_path, self)
            if recipe == "systemd":
                download_wheels(context_path / "wheels", self)
            # --network host: apt reaches Debian's archive the way the host does (the engine has no NAT).
            self.run(
                "docker",
                "build",
                "--network",
                "host",
                "--build-arg",
                f"BASE={base}",
                "--label",
                f"{LABEL}={key}",
                *([] if cache_enabled() else ["--no-cache"]),
                "--tag",
                tag,
                str(context_path),
            )
        self.timings[tag] = time.monotonic() - started


def pack_python(python: Path, tarball: Path) -> None:
    """The pyenv tree as /usr/local/{bin,lib,include,share}, without what PYTHON_EXCLUDES names."""
    stdlib = f"lib/python{'.'.join(python.name.split('.')[:2])}/"
    skipped = tuple(stdlib + name for name in PYTHON_EXCLUDES)

    def keep(member: tarfile.TarInfo) -> tarfile.TarInfo | None:
        relative = member.name.split("/", 1)[1] if "/" in member.name else ""
        if relative.startswith(skipped):
            return None
        member.uid = member.gid = 0
        member.uname = member.gname = "root"
        return member

    with tarfile.open(tarball, "w") as archive:
        for child in sorted(python.iterdir()):
            archive.add(child, arcname=f"./{child.name}", filter=keep)


def unpack_uv(version: str, directory: Path, builder: Builder) -> None:
    """uv and uvx from uv's manylinux wheel on PyPI."""
    wheels = directory / "wheels"
    pip_download(builder, wheels, "--no-deps", "--platform", "manylinux_2_17_x86_64", f"uv=={version}")
    wheel = next(wheels.glob("uv-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            if name.endswith(("/scripts/uv", "/scripts/uvx")):
                target = directory / Path(name).name
                target.write_bytes(archive.read(name))
                target.chmod(0o755)
    shutil.rmtree(wheels)


def pip_download(builder: Builder, directory: Path, *args: str) -> None:
    """Binary wheels only, into `directory`, through the host's pip (its index and certificates)."""
    builder.run(
        sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:", "--dest", str(directory), *args
    )


def download_wheels(directory: Path, builder: Builder) -> None:
    """The wheels requirements/production.txt pins (hashes checked), for CPython 3.12 on manylinux x86_64."""
    platforms = [
        item
        for tag in ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64", "any")
        for item in ("--platform", tag)
    ]
    pip_download(
        builder, directory, "--python-version", "3.12", "--implementation", "cp", "--abi", "cp312", *platforms,
        "--require-hashes", "-r", str(PRODUCTION_REQUIREMENTS),
    )  # fmt: skip


def ensure_systemd_standin(engine: Engine) -> str:
    """A bookworm host that boots systemd as PID 1 (standins/systemd), on the python stand-in; returns its tag."""
    home = cache_home()
    home.mkdir(parents=True, exist_ok=True)
    builder = Builder(engine=engine, log=home / "standins-systemd.log", timings={})
    builder.log.write_text("")
    python = next(tag for tag, recipe in referenced_images().items() if recipe == "python")
    builder.build(python, "python", builder.base())
    builder.build(SYSTEMD_TAG, "systemd", python)
    return SYSTEMD_TAG


def ensure_standins(engine: Engine) -> dict[str, float]:
    """Every base image the project names exists in the engine; returns the seconds each build took (none: cached)."""
    home = cache_home()
    home.mkdir(parents=True, exist_ok=True)
    builder = Builder(engine=engine, log=home / "standins.log", timings={})
    builder.log.write_text("")
    base = builder.base()
    for tag, recipe in sorted(referenced_images().items()):
        builder.build(tag, recipe, base)
    return builder.timings
