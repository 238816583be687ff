"""Gunicorn with the project's gunicorn.conf.py on a free loopback port, started and always stopped by a test.

    with running_gunicorn(env=production_env(...), log=tmp_path / "gunicorn.log") as server:
        server.url("/health/")

The server runs in its own process group so stopping it also stops every worker; its stdout and stderr (access
and error logs, per gunicorn.conf.py) go to `log`.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from harness.availability import unavailable
from harness.ports import free_port, port_open
from harness.processes import child_pids, lines_logged, stop_process_group, wait_until_ready
from harness.project import ROOT

GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
START_TIMEOUT = 60.0


@dataclass
class Gunicorn:
    process: subprocess.Popen
    host: str
    port: int
    log: Path

    def url(self, path: str = "/") -> str:
        return f"http://{self.host}:{self.port}{path}"

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def worker_pids(self) -> set[int]:
        return child_pids(self.process.pid)

    def wait_for_log(self, marker: str, *, within: float = 30.0) -> str:
        """The log once `marker` is in it: Gunicorn writes a request's access line after the response."""
        if not lines_logged(self.log_text, marker, within=within):
            raise AssertionError(f"{marker!r} not logged within {within:.0f} s:\n{self.log_text()}")
        return self.log_text()

    def wait_for_workers(self, count: int, *, timeout: float = 30.0, exclude: set[int] | frozenset = frozenset()):
        """Until `count` workers run and none of them is in `exclude` (e.g. the ones before a reload)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pids = self.worker_pids()
            if len(pids) == count and not pids & exclude:
                return pids
            time.sleep(0.1)
        raise AssertionError(f"gunicorn did not settle on {count} new workers: {self.worker_pids()}\n{self.log_text()}")


def gunicorn_executable() -> Path:
    if not GUNICORN.exists():
        unavailable(f"gunicorn is not installed in {GUNICORN.parent} (make install)")
    return GUNICORN


def wait_until_serving(server: Gunicorn, path: str, host_header: str) -> None:
    """Until `path` answers 200: an open port alone may still be the master without a booted worker."""
    last: list[str] = []

    def answers() -> bool:
        if not port_open(server.host, server.port, timeout=0.5):
            return False
        request = urllib.request.Request(server.url(path), headers={"Host": host_header})  # noqa: S310 - ours
        try:
            with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - a loopback http URL
                return response.status == 200
        except (urllib.error.URLError, OSError) as exc:
            last[:] = [str(exc)]
            return False

    wait_until_ready(
        server.process,
        answers,
        what=f"gunicorn answering {path}",
        timeout=START_TIMEOUT,
        interval=0.2,
        log=lambda: f"({''.join(last)})\n{server.log_text()}",
    )


@contextlib.contextmanager
def running_gunicorn(
    *,
    env: dict[str, str],
    log: Path,
    app: str = "config.wsgi",
    host: str = "127.0.0.1",
    port: int | None = None,
    ready_path: str = "/health/live",
    host_header: str | None = None,
    extra_args: tuple[str, ...] = (),
) -> Iterator[Gunicorn]:
    """Gunicorn serving `app` with gunicorn.conf.py; GUNICORN_BIND is set to `port` (default: a free one)."""
    executable = gunicorn_executable()
    port = port or free_port(host)
    env = {**env, "GUNICORN_BIND": f"{host}:{port}"}
    with log.open("ab") as output:
        process = subprocess.Popen(
            [str(executable), "-c", str(ROOT / "gunicorn.conf.py"), *extra_args, app],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Gunicorn(process=process, host=host, port=port, log=log)
    try:
        wait_until_serving(server, ready_path, host_header or host)
        yield server
    finally:
        stop_process_group(process)
