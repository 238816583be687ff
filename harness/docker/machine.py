"""A Debian machine booted with systemd as PID 1 in the test engine (the systemd stand-in, standins/systemd), for
tests that install and drive the real units as an operator would on a VM.

How it boots: not `--privileged`, which asks the runtime for every capability and fails where the engine itself runs
without CAP_SYS_RESOURCE (this project's CI machines); every capability but that one instead, seccomp and AppArmor
unconfined (systemd sets up namespaces and mounts for the units' hardening), the host's cgroup tree writable (systemd
manages its sub-tree under the container's own cgroup, in the host's cgroup namespace) and /run, /run/lock on
tmpfs, as systemd expects.
"""

from __future__ import annotations

import contextlib
import subprocess
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from harness.docker.engine import Engine
from harness.docker.project import Network, inspect, wait_for
from harness.docker.standins import ROOT

BOOT_ARGS = (
    # The host's cgroup namespace: systemd finds its own cgroup (/docker/<id>) in the tree mounted below, on cgroup
    # v1 and v2 hosts alike (v2's default, a private namespace, would make the mounted root look like its own).
    "--cgroupns=host",
    "--cap-add=ALL",
    "--cap-drop=SYS_RESOURCE",
    "--security-opt", "seccomp=unconfined",
    "--security-opt", "apparmor=unconfined",
    "--volume", "/sys/fs/cgroup:/sys/fs/cgroup:rw",
    "--tmpfs", "/run",
    "--tmpfs", "/run/lock",
)  # fmt: skip
# Booting to multi-user.target (PostgreSQL's cluster included) took about 5 s on a quiet machine.
BOOT_TIMEOUT = 180.0


@dataclass
class Machine:
    engine: Engine
    name: str
    address: str

    def sh(self, script: str, *, env: dict[str, str] | None = None, timeout: float = 900.0, check: bool = True):
        """`bash -c script` as root inside the machine; output captured. Raises with the output when it fails."""
        env_args = [item for name, value in (env or {}).items() for item in ("--env", f"{name}={value}")]
        completed = self.engine.docker(
            "exec", *env_args, self.name, "bash", "-c", f"set -euo pipefail\n{script}", timeout=timeout, check=False
        )
        if check and completed.returncode != 0:
            raise AssertionError(
                f"exit {completed.returncode} in {self.name}:\n$ {script}\n{completed.stdout[-3000:]}"
                f"{completed.stderr[-3000:]}"
            )
        return completed

    def put(self, local: Path, remote: str) -> None:
        self.engine.docker("cp", str(local), f"{self.name}:{remote}")

    def journal(self, *units: str) -> str:
        unit_args = " ".join(f"-u {unit}" for unit in units)
        return self.sh(f"journalctl --no-pager -n 200 {unit_args}", check=False).stdout


def system_state(engine: Engine, name: str) -> str:
    completed = engine.docker("exec", name, "systemctl", "is-system-running", check=False, timeout=60)
    return completed.stdout.strip()


@contextlib.contextmanager
def booted(net: Network, image: str) -> Iterator[Machine]:
    """The machine, once systemd says the boot is over; removed with the network."""
    name = net.run(*BOOT_ARGS, image, name=f"{net.name}-vm")
    try:
        state = wait_for(
            lambda: (s := system_state(net.engine, name)) in ("running", "degraded") and s,
            timeout=BOOT_TIMEOUT,
            what="systemd finishing its boot",
        )
    except TimeoutError:
        logs = net.engine.docker("logs", name, check=False)
        raise AssertionError(f"{name} did not boot: {(logs.stdout + logs.stderr)[-3000:]}") from None
    address = next(iter(inspect(net.engine, name)["NetworkSettings"]["Networks"].values()))["IPAddress"]
    machine = Machine(net.engine, name, address)
    if state == "degraded":
        failed = machine.sh("systemctl --failed --no-legend --plain", check=False).stdout
        raise AssertionError(f"{name} booted degraded, failed units: {failed}")
    yield machine


def source_tarball(path: Path) -> Path:
    """The working tree as git sees it (committed and new files, not ignored ones) in `path`, under folio/: what
    `git archive --prefix=folio/` would hold if everything were committed."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    with tarfile.open(path, "w") as archive:
        for name in sorted(filter(None, listed)):
            file = ROOT / name.decode()
            if file.is_file():  # a tracked file deleted in the working tree is not part of it
                archive.add(file, arcname=f"folio/{name.decode()}", recursive=False)
    return path
