"""A private Docker engine for the tests: Debian's dockerd on a socket, data root and exec root of its own.

Or the engine DOCKER_HOST names (GitHub's runners ship one), used as it is. The private engine:
- changes nothing on the host's network: no iptables rules, no IP forwarding, no docker0 (`--bridge=none`); its
  networks come from ADDRESS_POOL, a block no other test bed of this project uses (README, "Docker");
- keeps its data root under CACHE_HOME, outside the clone, so images built by an earlier run (the stand-ins, the
  project's layers) are reused; only containers, networks and volumes are removed, at start and at the end;
- is one per machine at a time: a lock file serialises runs, and a dockerd left by a crashed run is stopped.

`running_engine()` works outside pytest too (benchmarks); tests/docker's `engine` fixture turns EngineUnavailable
into `unavailable()`.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from harness.processes import stop_group, stop_process_group

# 10.213.0.0/16 in /24 networks: compose projects and test networks get theirs from here.
ADDRESS_POOL = "base=10.213.0.0/16,size=24"
# The stand-ins, the project image and its build layers need about 3 GiB; the rest is margin for a compose run.
MIN_FREE_BYTES = 8 * 1024**3
START_TIMEOUT = 90.0
STOP_TIMEOUT = 30.0
LOCK_TIMEOUT = 20 * 60.0
# Short on purpose: unix socket paths are limited to 108 bytes and containerd nests its own under the exec root.
RUN_DIR = Path("/run/folio-docker")


class EngineUnavailable(RuntimeError):
    """No engine can be had; the message is one line saying why and what to do."""


def cache_home() -> Path:
    """Where the engine's data root and the stand-ins' artefacts live between runs (never inside the clone)."""
    configured = os.environ.get("FOLIO_DOCKER_HOME")
    if configured:
        return Path(configured)
    if os.geteuid() == 0:
        return Path("/var/cache/folio-docker")
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "folio-docker"


@dataclass
class Engine:
    """How to reach one Docker engine; `docker()` runs the CLI against it."""

    host: str
    private: bool
    env: dict[str, str] = field(default_factory=dict)

    def docker(
        self, *args: str, timeout: float = 600.0, check: bool = True, input: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        completed = subprocess.run(
            ["docker", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            input=input,
            check=False,
        )
        if check and completed.returncode != 0:
            raise subprocess.CalledProcessError(
                completed.returncode, completed.args, completed.stdout, completed.stderr
            )
        return completed

    def ids(self, *args: str) -> list[str]:
        return self.docker(*args).stdout.split()

    def remove_everything_but_images(self) -> None:
        """Containers, networks and volumes: what a run creates. Images stay, they are the cache."""
        containers = self.ids("ps", "--all", "--quiet")
        if containers:
            self.docker("rm", "--force", "--volumes", *containers, timeout=120)
        self.docker("network", "prune", "--force")
        volumes = self.ids("volume", "ls", "--quiet")
        if volumes:
            self.docker("volume", "rm", "--force", *volumes)


def client_env(host: str) -> dict[str, str]:
    # DOCKER_BUILDKIT=0: the classic builder, which needs no registry (BuildKit would fetch the `# syntax=`
    # frontend image, and the Debian client ships no buildx). README, "Docker", says why that is honest.
    env = {**os.environ, "DOCKER_HOST": host, "DOCKER_BUILDKIT": "0"}
    # The CLI's own config (contexts, auth) stays out of the tests' way.
    env["DOCKER_CONFIG"] = str(RUN_DIR / "client") if not os.environ.get("DOCKER_CONFIG") else env["DOCKER_CONFIG"]
    return env


def check_disk(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(path).free
    if free < MIN_FREE_BYTES:
        raise EngineUnavailable(
            f"only {free / 1024**3:.1f} GiB free under {path}; the Docker tests need "
            f"{MIN_FREE_BYTES / 1024**3:.0f} GiB: free some, or point FOLIO_DOCKER_HOME at a larger disk"
        )


def is_dockerd(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip() == "dockerd"
    except OSError:
        return False


def stop_leftover(pidfile: Path) -> None:
    """A dockerd of a crashed run still holds the data root: stop it (only it: the pid in our own pidfile)."""
    try:
        pid = int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return
    if is_dockerd(pid):
        # Started in a session of its own (below), so its pid is its group's: SIGTERM stops its containers first.
        stop_group(pid, grace=STOP_TIMEOUT)
    pidfile.unlink(missing_ok=True)


def wait_until_answering(engine: Engine, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace").strip().splitlines()[-1:]
            raise EngineUnavailable(f"dockerd exited with {process.returncode}: {' '.join(tail)} (log: {log})")
        if engine.docker("version", "--format", "{{.Server.Version}}", check=False, timeout=10).returncode == 0:
            return
        time.sleep(0.5)
    raise EngineUnavailable(f"dockerd did not answer within {START_TIMEOUT:.0f} s (log: {log})")


@contextlib.contextmanager
def machine_lock(path: Path) -> Iterator[None]:
    """One private engine per machine: a second run waits for the first instead of sharing its data root."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        deadline = time.monotonic() + LOCK_TIMEOUT
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise EngineUnavailable(
                        f"another run holds {path} for over {LOCK_TIMEOUT / 60:.0f} minutes"
                    ) from None
                time.sleep(1)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def dockerd_command(home: Path) -> Sequence[str]:
    return [
        "dockerd",
        f"--data-root={home / 'engine'}",
        f"--exec-root={RUN_DIR / 'exec'}",
        f"--host=unix://{RUN_DIR / 'docker.sock'}",
        f"--pidfile={RUN_DIR / 'dockerd.pid'}",
        "--iptables=false",
        "--ip-forward=false",
        "--ip-masq=false",
        "--bridge=none",
        f"--default-address-pool={ADDRESS_POOL}",
        # Debian's default (1048576) makes some servers allocate per possible descriptor; this is the limit
        # a production host would set.
        "--default-ulimit=nofile=20000:20000",
    ]


@contextlib.contextmanager
def running_engine() -> Iterator[Engine]:
    """The DOCKER_HOST engine, or a private dockerd started here and stopped on exit."""
    if os.environ.get("DOCKER_HOST"):
        engine = Engine(host=os.environ["DOCKER_HOST"], private=False, env=client_env(os.environ["DOCKER_HOST"]))
        if engine.docker("version", check=False, timeout=30).returncode != 0:
            raise EngineUnavailable(f"DOCKER_HOST={engine.host} does not answer `docker version`")
        yield engine
        return
    if shutil.which("dockerd") is None or shutil.which("docker") is None:
        raise EngineUnavailable("dockerd is not installed (bash .ci/system-packages installs docker.io)")
    if os.geteuid() != 0:
        raise EngineUnavailable("a private dockerd needs root; or set DOCKER_HOST to an engine you may use")
    home = cache_home()
    check_disk(home)
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    with machine_lock(home / "engine.lock"):
        stop_leftover(RUN_DIR / "dockerd.pid")
        shutil.rmtree(RUN_DIR / "exec", ignore_errors=True)
        (RUN_DIR / "docker.sock").unlink(missing_ok=True)
        log = home / "dockerd.log"
        engine = Engine(host=f"unix://{RUN_DIR / 'docker.sock'}", private=True)
        engine.env = client_env(engine.host)
        with log.open("wb") as output:
            process = subprocess.Popen(
                dockerd_command(home), stdout=output, stderr=subprocess.STDOUT, start_new_session=True
            )
        try:
            wait_until_answering(engine, process, log)
            # What a crashed run left: its containers stopped by dockerd's restart, removed here.
            engine.remove_everything_but_images()
            yield engine
        finally:
            with contextlib.suppress(subprocess.SubprocessError, OSError):
                engine.remove_everything_but_images()
            stop_process_group(process, grace=STOP_TIMEOUT)
