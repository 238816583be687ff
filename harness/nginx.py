"""Debian's nginx in the foreground with its own prefix, pid and logs under a test's directory.

    conf = write_main_conf(tmp_path / "nginx", includes=[site_file])
    check_config(conf)                       # `nginx -t`
    with running_nginx(conf, ports=[https_port]) as server: ...

Never touches the system's nginx (which may be serving port 80): every path is under the prefix and every port
is one the test chose with free_port().
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from harness.availability import require_executable
from harness.processes import stop_process_group, wait_until_listening

START_TIMEOUT = 20.0
MIME_TYPES = Path("/etc/nginx/mime.types")


def write_main_conf(prefix: Path, includes: list[Path]) -> Path:
    """A minimal nginx.conf in `prefix` whose http block includes the given site files (as sites-enabled would)."""
    for name in ("tmp", "logs"):
        (prefix / name).mkdir(parents=True, exist_ok=True)
    # As root, nginx's workers would switch to a user that cannot read a test's private temp directory.
    user = "user root root;\n" if os.geteuid() == 0 else ""
    temp_paths = "".join(
        f"    {kind}_temp_path {prefix / 'tmp' / kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    site_includes = "".join(f"    include {path};\n" for path in includes)
    conf = prefix / "nginx.conf"
    conf.write_text(
        f"{user}worker_processes 1;\n"
        f"pid {prefix / 'nginx.pid'};\n"
        f"error_log {prefix / 'logs' / 'error.log'} info;\n"
        "events { worker_connections 512; }\n"
        "http {\n"
        f"    include {MIME_TYPES};\n"
        "    default_type application/octet-stream;\n"
        f"    access_log {prefix / 'logs' / 'access.log'};\n"
        f"{temp_paths}{site_includes}"
        "}\n",
        encoding="utf-8",
    )
    return conf


def nginx_command(conf: Path, *args: str) -> list[str]:
    return [require_executable("nginx"), "-p", str(conf.parent), "-c", str(conf), "-e", "stderr", *args]


def check_config(conf: Path) -> subprocess.CompletedProcess[str]:
    """`nginx -t` on this configuration (output on stderr: "syntax is ok", "test is successful")."""
    return subprocess.run(nginx_command(conf, "-t"), capture_output=True, text=True, timeout=30, check=False)


@dataclass
class Nginx:
    process: subprocess.Popen
    conf: Path

    def error_log(self) -> str:
        path = self.conf.parent / "logs" / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def output(self) -> str:
        """What nginx said: its stderr once it has exited (start-up errors go there, `-e stderr`), and error.log."""
        said = self.process.stdout.read() if self.process.poll() is not None and self.process.stdout else ""
        return said + self.error_log()


@contextlib.contextmanager
def running_nginx(conf: Path, *, ports: list[int], host: str = "127.0.0.1") -> Iterator[Nginx]:
    """nginx in the foreground (daemon off) until the block ends; waits until every port accepts connections."""
    process = subprocess.Popen(
        nginx_command(conf, "-g", "daemon off;"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    server = Nginx(process=process, conf=conf)
    try:
        wait_until_listening(process, ports, host=host, what="nginx", timeout=START_TIMEOUT, log=server.output)
        yield server
    finally:
        # QUIT is nginx's graceful stop; the group wait also catches a worker that outlives its master.
        stop_process_group(process, stop_signal=signal.SIGQUIT, grace=10)
        if process.stdout:
            process.stdout.close()
