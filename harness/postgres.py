"""PostgreSQL servers and scratch databases: a throwaway cluster for benchmarks, on a free loopback port, started and
always stopped, and scratch databases on any server (the machine's own included), always dropped.

Benchmarks that open hundreds of connections or rewrite a million rows must not share the machine's PostgreSQL
with the test suites running beside them (max_connections is 100 there). Durability is off: the data dies with
the benchmark anyway, and WAL flushes would measure the disk instead of the SQL.
"""

from __future__ import annotations

import contextlib
import glob
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg

from harness.ports import free_port
from harness.processes import read_log, stop_process_group, wait_until_ready

RUN_AS = "postgres"  # initdb and postgres refuse to run as root
# Long enough for a loaded machine; short enough that a server that is not there fails the set-up quickly.
CONNECT_TIMEOUT = 10


@dataclass(frozen=True)
class Cluster:
    """A PostgreSQL server: the machine's own (LOCAL, or one named by a URL) or a private one started below."""

    host: str
    port: int
    user: str = "postgres"
    password: str = ""
    # Where the test reaches a server whose TCP address is in another network namespace (harness/hosts.py): its
    # Unix socket directory, which every namespace shares with the file system.
    socket_dir: str = ""

    @classmethod
    def from_url(cls, url: str) -> Cluster:
        """The server a DATABASE_URL points at (its database name is ignored)."""
        parts = urlsplit(url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 5432
        return cls(host, port, parts.username or "postgres", parts.password or "")

    @classmethod
    def from_settings(cls, database: Mapping[str, Any]) -> Cluster:
        """The server of a Django DATABASES entry (its NAME is ignored)."""
        host, port = database["HOST"] or "127.0.0.1", int(database["PORT"] or 5432)
        return cls(host, port, database["USER"] or "postgres", database.get("PASSWORD") or "")

    def url(self, database: str) -> str:
        credentials = self.user + (f":{self.password}" if self.password else "")
        return f"postgres://{credentials}@{self.host}:{self.port}/{database}"

    def connect(self, database: str = "postgres", **kwargs) -> psycopg.Connection:
        kwargs.setdefault("connect_timeout", CONNECT_TIMEOUT)
        return psycopg.connect(
            host=self.socket_dir or self.host,
            port=self.port,
            user=self.user,
            password=self.password or None,
            dbname=database,
            **kwargs,
        )

    def accepts_connections(self) -> bool:
        try:
            self.connect(connect_timeout=2).close()
        except psycopg.OperationalError:
            return False
        return True

    def create_database(self, name: str, *, template: str | None = None) -> str:
        # CREATE and DROP DATABASE refuse to run inside a transaction: an autocommit connection of their own.
        with self.connect(autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Dropped even while something is still connected to it (a server a test left running)."""
        with self.connect(autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    @contextlib.contextmanager
    def scratch_database(
        self, name: str = "", *, prefix: str = "folio_scratch", template: str | None = None
    ) -> Iterator[str]:
        """A fresh database for the block (empty, or a copy of `template`: migrated once, copied per test), dropped
        afterwards whatever happened to it; its URL is yielded. Without `name`, `prefix` plus a random suffix; a
        given name is dropped first if a killed run left it."""
        if name:
            self.drop_database(name)
        name = name or f"{prefix}_{secrets.token_hex(4)}"
        url = self.create_database(name, template=template)
        try:
            yield url
        finally:
            self.drop_database(name)


# The machine's own server (trust on loopback), which tests and benchmarks share: never more than a scratch database.
LOCAL = Cluster("127.0.0.1", 5432)


def _binary(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise RuntimeError(f"{name} is not installed (apt-get install postgresql)")
    return found[-1]


def _as_postgres(command: list[str]) -> list[str]:
    return ["runuser", "-u", RUN_AS, "--", *command] if os.geteuid() == 0 else command


@contextlib.contextmanager
def private_cluster(
    *,
    max_connections: int = 300,
    settings: dict[str, str] | None = None,
    listen: str = "127.0.0.1",
    port: int | None = None,
    launcher: Sequence[str] = (),
    trusted_network: str = "",
) -> Iterator[Cluster]:
    """A throwaway cluster on `listen`:`port` (default: a free loopback port). `launcher` prefixes the server's
    command (`ip netns exec NS`: another host's address); `trusted_network` is let in without a password, and the
    yielded Cluster is then reached through its Unix socket."""
    workdir = Path(tempfile.mkdtemp(prefix="folio-bench-pg-"))
    process = None
    try:
        if os.geteuid() == 0:
            shutil.chown(workdir, user=RUN_AS)
        data = workdir / "data"
        subprocess.run(
            _as_postgres([_binary("initdb"), "-D", str(data), "--auth=trust", "--username=postgres",
                          "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"]),
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        if trusted_network:
            with (data / "pg_hba.conf").open("a") as hba:
                hba.write(f"host all all {trusted_network} trust\n")
        port = port or free_port()
        options = {
            "listen_addresses": listen,
            "port": str(port),
            "unix_socket_directories": str(workdir),
            "max_connections": str(max_connections),
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "shared_buffers": "256MB",
            **(settings or {}),
        }
        command = [_binary("postgres"), "-D", str(data)]
        for key, value in options.items():
            command += ["-c", f"{key}={value}"]
        log = workdir / "postgres.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                [*launcher, *_as_postgres(command)], stdout=output, stderr=subprocess.STDOUT, start_new_session=True
            )
        cluster = Cluster(listen, port, socket_dir=str(workdir) if launcher else "")
        wait_until_ready(
            process, cluster.accepts_connections, what="private PostgreSQL", timeout=60, interval=0.2, log=read_log(log)
        )
        yield cluster
    finally:
        if process is not None:
            # SIGINT is PostgreSQL's fast shutdown: disconnect everyone, no checkpoint wait.
            stop_process_group(process, stop_signal=signal.SIGINT, grace=30)
        shutil.rmtree(workdir, ignore_errors=True)
