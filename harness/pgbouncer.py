"""Debian's pgbouncer, started from deploy/pgbouncer/pgbouncer.ini on a free loopback port.

Only addresses, paths and authentication change (and the pool size when a caller asks), so the shipped pool mode
and limits are what the tests exercise. `running_pgbouncer()` serves tests and benchmarks alike; it raises
ServiceDidNotStart when pgbouncer is missing or does not start (tests/database/conftest.py's `pgbouncer` fixture
turns that into `unavailable()`).

PgBouncer refuses to run as root: as root it is started with `-u postgres`, in a directory that user can read.
"""

from __future__ import annotations

import configparser
import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg

from harness.ports import free_port
from harness.processes import ServiceDidNotStart, read_log, stop_process_group, wait_until_listening
from harness.project import ROOT

SHIPPED_INI = ROOT / "deploy" / "pgbouncer" / "pgbouncer.ini"
RUN_AS = "postgres"


@dataclass(frozen=True)
class PgBouncer:
    host: str
    port: int
    pool_size: int
    upstream_host: str
    upstream_port: int
    user: str
    log: Path

    def url(self, database: str) -> str:
        """A DATABASE_URL through the pooler."""
        return f"postgres://{self.user}@{self.host}:{self.port}/{database}"

    def direct_url(self, database: str) -> str:
        """The same database without the pooler (what DATABASE_DIRECT_URL holds)."""
        return f"postgres://{self.user}@{self.upstream_host}:{self.upstream_port}/{database}"

    def show(self, what: str) -> list[dict[str, object]]:
        """`SHOW POOLS`, `SHOW CLIENTS`... on PgBouncer's admin console, as dictionaries."""
        with psycopg.connect(
            host=self.host, port=self.port, user=self.user, dbname="pgbouncer", autocommit=True
        ) as admin:
            # The admin console speaks only the simple query protocol.
            cursor = admin.cursor()
            cursor.execute(f"SHOW {what}".encode(), prepare=False)
            names = [column.name for column in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def render_ini(
    workdir: Path, *, port: int, upstream_host: str, upstream_port: int, user: str, pool_size: int | None
) -> Path:
    """deploy/pgbouncer/pgbouncer.ini with loopback addresses and paths under `workdir`."""
    ini = configparser.ConfigParser(interpolation=None, inline_comment_prefixes=(";",))
    ini.optionxform = str  # keep keys as written
    ini.read(SHIPPED_INI)
    ini["databases"] = {"*": f"host={upstream_host} port={upstream_port}"}
    bouncer = ini["pgbouncer"]
    bouncer.update(
        {
            "listen_addr": "127.0.0.1",
            "listen_port": str(port),
            "unix_socket_dir": "",
            # The local PostgreSQL trusts loopback; the client side only needs the user to be listed.
            "auth_type": "trust",
            "auth_file": str(workdir / "userlist.txt"),
            "logfile": str(workdir / "pgbouncer.log"),
            "pidfile": str(workdir / "pgbouncer.pid"),
            "admin_users": user,
            "stats_users": user,
        }
    )
    if pool_size is not None:
        bouncer["default_pool_size"] = str(pool_size)
    (workdir / "userlist.txt").write_text(f'"{user}" ""\n')
    path = workdir / "pgbouncer.ini"
    with path.open("w") as handle:
        ini.write(handle)
    return path


@contextlib.contextmanager
def running_pgbouncer(
    *,
    upstream_host: str = "127.0.0.1",
    upstream_port: int = 5432,
    user: str = "postgres",
    pool_size: int | None = None,
    startup_timeout: float = 10.0,
) -> Iterator[PgBouncer]:
    """Start pgbouncer in front of `upstream`, yield it, and always stop it (its whole process group)."""
    executable = shutil.which("pgbouncer") or next(
        (p for p in ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer") if os.access(p, os.X_OK)), None
    )
    if executable is None:
        raise ServiceDidNotStart("pgbouncer is not installed (apt-get install pgbouncer)")
    # pytest's tmp_path lives in a 0700 directory of root's, which the postgres user cannot enter.
    workdir = Path(tempfile.mkdtemp(prefix="folio-pgbouncer-"))
    process = None
    try:
        port = free_port()
        ini = render_ini(
            workdir, port=port, upstream_host=upstream_host, upstream_port=upstream_port, user=user, pool_size=pool_size
        )
        command = [executable, str(ini)]
        if os.geteuid() == 0:
            shutil.chown(workdir, user=RUN_AS)
            for path in workdir.iterdir():
                shutil.chown(path, user=RUN_AS)
            command = [executable, "-u", RUN_AS, str(ini)]
        process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True, cwd=workdir
        )
        log = workdir / "pgbouncer.log"
        wait_until_listening(process, [port], what="pgbouncer", timeout=startup_timeout, log=read_log(log, 800))
        pool = int(configparser_value(ini, "default_pool_size"))
        yield PgBouncer(
            host="127.0.0.1",
            port=port,
            pool_size=pool,
            upstream_host=upstream_host,
            upstream_port=upstream_port,
            user=user,
            log=log,
        )
    finally:
        if process is not None:
            stop_process_group(process, grace=5)
        shutil.rmtree(workdir, ignore_errors=True)


def configparser_value(ini: Path, key: str) -> str:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(ini)
    return parser["pgbouncer"][key]
