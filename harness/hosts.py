"""Several app hosts behind one load balancer, on network namespaces (harness/netns.py): the test bed of
tests/hosts.

    lb    nginx, the site `render_deploy nginx` renders from WEB_HOSTS (HTTPS on :443)
    app1  Gunicorn, production settings, FOLIO_RELEASE=app1 (X-Folio-Release says which host answered)
    app2  the same, FOLIO_RELEASE=app2
    db    a throwaway PostgreSQL cluster, Redis and moto's S3 API (media), on the db host's address
    sw    the bridge, and the test's clients on its address (`bed.client()`)

The machine's own PostgreSQL and Redis listen on loopback only, and loopback is per namespace: the db host runs
its own. Every server is started by `ip netns exec` with the real interpreter or binary, so its pid is the
server's, and stopped by its process group (harness/processes.py) before its namespace is deleted.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from harness.netns import Network, network
from harness.nginx import nginx_command, write_main_conf
from harness.postgres import Cluster, private_cluster
from harness.processes import ServiceDidNotStart, child_pids, read_log, stop_process_group, wait_until_ready
from harness.project import ROOT, production_env
from harness.s3 import ACCESS_KEY, MOTO_SERVER, REGION, SECRET_KEY
from harness.tls import self_signed_certificate

# Disjoint from the Docker test bed's 10.213.0.0/16 (harness/docker/engine.py). The network lives only inside the
# bed's namespaces, so parallel runs may each use it.
SUBNET = "10.214.0.0/24"
APPS = ("app1", "app2")
HOSTS = ("lb", *APPS, "db")
DOMAIN = "folio.test"
ADMIN_URL = "editors/"
ADMIN_USERNAME = "editor"
ADMIN_PASSWORD = "a-long-editor-password-7"
APP_PORT = 8000
BUCKET = "folio-media"
# What a deploy runs once, on one host, against the shared database.
DATABASE_STEPS = (("migrate", "--noinput"), ("seed_demo",))
# Generous for a loaded 2-core machine: these wait for a server to come up, they bound nothing of the product's.
START_TIMEOUT = 90.0
# The Python the tests run under, never a shim (a pyenv shim would be the pid we hold, not the server).
PYTHON = str(Path(sys.executable).absolute())


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    cookies: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    @property
    def release(self) -> str:
        """Which app host answered (each runs with its own FOLIO_RELEASE)."""
        return self.headers.get("x-folio-release", "")


@dataclass
class AppHost:
    name: str
    address: str
    env: dict[str, str]
    process: subprocess.Popen
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


@dataclass
class Bed:
    net: Network
    root: Path
    database: Cluster
    cert: Path
    nginx: subprocess.Popen
    nginx_conf: Path
    base_env: dict[str, str]
    apps: dict[str, AppHost] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    def address(self, host: str) -> str:
        return self.net.addresses[host]

    # CLIENTS

    def connection(self, *, timeout: float = 30.0) -> http.client.HTTPSConnection:
        """An HTTPS connection to the load balancer from the clients' address (the switch's)."""
        context = ssl.create_default_context(cafile=str(self.cert))
        connection = http.client.HTTPSConnection(self.address("lb"), 443, context=context, timeout=timeout)
        with self.net.inside("sw"):
            connection.connect()
        return connection

    def request(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        connection: http.client.HTTPConnection | None = None,
        timeout: float = 30.0,
    ) -> Response:
        """One request through the load balancer (a fresh connection unless one is given)."""
        own = connection is None
        connection = connection or self.connection(timeout=timeout)
        try:
            connection.request(method, path, body=body, headers={"Host": DOMAIN, **(headers or {})})
            answer = connection.getresponse()
            response = Response(answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read())
            for name, value in answer.getheaders():
                if name.lower() == "set-cookie":
                    key, _, rest = value.partition("=")
                    response.cookies[key.strip()] = rest.split(";", 1)[0]
            return response
        finally:
            if own:
                connection.close()

    def ask_from_inside(self, host: str, path: str, *, timeout: float = 30.0) -> tuple[Response, float]:
        """`path` asked of `host`'s own Gunicorn from inside its namespace (its loopback), as a local probe
        would; the response and the seconds it took."""
        connection = http.client.HTTPConnection("127.0.0.1", APP_PORT, timeout=timeout)
        started = time.monotonic()
        with self.net.inside(host):
            connection.connect()
        try:
            connection.request("GET", path, headers={"Host": DOMAIN, "X-Forwarded-Proto": "https"})
            answer = connection.getresponse()
            response = Response(answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read())
        finally:
            connection.close()
        return response, time.monotonic() - started

    # APP HOSTS

    def app_env(self, name: str, **overrides: str) -> dict[str, str]:
        return {
            **self.base_env,
            "FOLIO_RELEASE": name,
            "MEDIA_ROOT": str(self.root / name / "media"),
            **overrides,
        }

    def start_app(self, name: str, **overrides: str) -> AppHost:
        """Gunicorn on `name` with production settings (`overrides` replace or add variables); until it answers."""
        env = self.app_env(name, **overrides)
        log = self.root / name / "gunicorn.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as output:
            process = self.net.popen(
                name,
                [PYTHON, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "config.wsgi"],
                cwd=ROOT,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        app = AppHost(name=name, address=self.address(name), env=env, process=process, log=log)
        self.apps[name] = app

        def answers() -> bool:
            with contextlib.suppress(OSError, http.client.HTTPException):
                return self.ask_from_inside(name, "/health/live", timeout=5)[0].status == 200
            return False

        try:
            wait_until_ready(process, answers, what=f"gunicorn on {name}", timeout=START_TIMEOUT, interval=0.2,
                             log=read_log(log))  # fmt: skip
        except ServiceDidNotStart:
            stop_process_group(process)
            raise
        return app

    def stop_app(self, name: str, *, stop_signal: int = signal.SIGTERM) -> None:
        app = self.apps.pop(name, None)
        if app is not None:
            stop_process_group(app.process, stop_signal=stop_signal)

    def kill_app(self, name: str) -> float:
        """SIGKILL to every process of `name`'s Gunicorn (master and workers): a host that dies; when it was sent."""
        app = self.apps[name]
        killed_at = time.monotonic()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(app.process.pid, signal.SIGKILL)
        stop_process_group(app.process, grace=10)
        self.apps.pop(name)
        return killed_at

    # LOAD BALANCER

    def render_site(self, *drained: str) -> list[str]:
        """The `render_deploy nginx` command line for lb's site (for `make drain`/`rejoin`, or run as is)."""
        prefix = self.nginx_conf.parent
        return [
            "--domain", DOMAIN,
            "--listen-address", self.address("lb"),
            "--http-port", "80", "--https-port", "443",
            "--certificate", str(self.cert), "--certificate-key", str(self.root / "key.pem"),
            "--snippets-dir", str(prefix / "site" / "snippets"),
            "--log-dir", str(prefix / "logs"),
            "--media-root", str(self.root / "lb" / "media"),
            *[argument for host in drained for argument in ("--drain", host)],
        ]  # fmt: skip

    def nginx_command(self, *args: str) -> list[str]:
        """nginx of lb (for `-t`, `-s reload`): run in lb's namespace, as an operator there would."""
        return ["ip", "netns", "exec", self.net.name("lb"), *nginx_command(self.nginx_conf, *args)]

    def nginx_workers(self) -> set[int]:
        return child_pids(self.nginx.pid)

    def wait_for_new_nginx_workers(self, old: set[int], *, timeout: float = 30.0) -> None:
        """Until a reload is in force: none of the workers from before it is left (they finish their requests)."""
        deadline = time.monotonic() + timeout
        while (current := self.nginx_workers()) & old or not current:
            if time.monotonic() > deadline:
                raise AssertionError(f"nginx workers {old & current} still running {timeout:.0f} s after a reload")
            time.sleep(0.1)

    def reload_nginx(self) -> None:
        """`nginx -s reload` in lb, and until its new workers alone serve."""
        old = self.nginx_workers()
        result = subprocess.run(self.nginx_command("-s", "reload"), capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            raise AssertionError(f"nginx -s reload failed: {result.stderr}")
        self.wait_for_new_nginx_workers(old)

    def web_hosts(self) -> str:
        return ",".join(f"{self.address(name)}:{APP_PORT}" for name in APPS)

    def lb_env(self) -> dict[str, str]:
        return {**self.base_env, "WEB_HOSTS": self.web_hosts(), "MEDIA_ROOT": str(self.root / "lb" / "media")}


def _port_open(net: Network, address: str, port: int) -> bool:
    with net.inside("sw"):
        try:
            with socket.create_connection((address, port), timeout=0.5):
                return True
        except OSError:
            return False


@contextlib.contextmanager
def _db_services(net: Network, root: Path) -> Iterator[tuple[Cluster, str, str]]:
    """PostgreSQL, Redis and moto's S3 API on the db host: the cluster, REDIS_URL and the S3 endpoint."""
    address = net.addresses["db"]
    launcher = ["ip", "netns", "exec", net.name("db")]
    with contextlib.ExitStack() as stack:
        cluster = stack.enter_context(
            private_cluster(
                max_connections=100, listen=address, port=5432, launcher=launcher, trusted_network=str(net.subnet)
            )
        )
        redis_log = root / "redis.log"
        redis = net.popen(
            "db",
            [
                shutil.which("redis-server") or "redis-server",
                "--bind",
                address,
                "--port",
                "6379",
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "no",
                "--dir",
                str(root),
                "--logfile",
                str(redis_log),
            ],
        )
        stack.callback(stop_process_group, redis)
        moto_log = (root / "moto.log").open("wb")
        stack.callback(moto_log.close)
        moto = net.popen("db", [PYTHON, str(MOTO_SERVER), "-H", address, "-p", "9000"], stdout=moto_log,
                         stderr=subprocess.STDOUT)  # fmt: skip
        stack.callback(stop_process_group, moto)
        for process, port, what in ((redis, 6379, "redis"), (moto, 9000, "moto_server")):
            wait_until_ready(process, lambda port=port: _port_open(net, address, port), what=what,
                             timeout=START_TIMEOUT, interval=0.2)  # fmt: skip
        yield cluster, f"redis://{address}:6379/0", f"http://{address}:9000"


def _create_bucket(net: Network, endpoint: str) -> None:
    import boto3  # only the bed pays for boto3

    with net.inside("sw"):
        client = boto3.client("s3", endpoint_url=endpoint, region_name=REGION, aws_access_key_id=ACCESS_KEY,
                              aws_secret_access_key=SECRET_KEY)  # fmt: skip
        client.create_bucket(Bucket=BUCKET)


def _manage_on(net: Network, host: str, env: dict[str, str], *args: str) -> None:
    result = net.run(host, [PYTHON, str(ROOT / "manage.py"), *args], cwd=ROOT, env=env, timeout=600)
    if result.returncode != 0:
        raise ServiceDidNotStart(f"manage.py {' '.join(args)} on {host} failed:\n{result.stdout}{result.stderr}")


def render_lb_site(bed: Bed, *drained: str) -> None:
    """`manage.py render_deploy nginx` with lb's settings (WEB_HOSTS), into the site directory nginx includes."""
    out = bed.nginx_conf.parent / "site"
    command = [PYTHON, str(ROOT / "manage.py"), "render_deploy", "nginx", *bed.render_site(*drained),
               "--output-dir", str(out)]  # fmt: skip
    result = subprocess.run(command, cwd=ROOT, env=bed.lb_env(), capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise ServiceDidNotStart(f"render_deploy nginx failed:\n{result.stdout}{result.stderr}")


@contextlib.contextmanager
def hosts_bed() -> Iterator[Bed]:
    """The whole bed, started in order and always taken down; `bed.timings["set-up"]` is how long it took."""
    started = time.monotonic()
    root = Path(tempfile.mkdtemp(prefix="folio-hosts-"))
    try:
        with network(HOSTS, SUBNET) as net, _db_services(net, root) as (cluster, redis_url, s3_endpoint):
            cluster.create_database("folio")
            _create_bucket(net, s3_endpoint)
            cert, _key = self_signed_certificate(root / "cert.pem", root / "key.pem", domain=DOMAIN,
                                                 ip=net.addresses["lb"])  # fmt: skip
            base_env = production_env(
                DATABASE_URL=f"postgres://postgres@{net.addresses['db']}:5432/folio",
                REDIS_URL=redis_url,
                AWS_STORAGE_BUCKET_NAME=BUCKET,
                AWS_S3_ENDPOINT_URL=s3_endpoint,
                AWS_S3_REGION_NAME=REGION,
                AWS_ACCESS_KEY_ID=ACCESS_KEY,
                AWS_SECRET_ACCESS_KEY=SECRET_KEY,
                ALLOWED_HOSTS=DOMAIN,
                ADMIN_URL=ADMIN_URL,
                BEHIND_PROXY="true",
                # lb, and the host's own loopback, where a local probe (or a test) asks as lb would.
                FORWARDED_ALLOW_IPS=f"{net.addresses['lb']},127.0.0.1",
                # Each host listens on all its addresses: its loopback too, where a local probe asks.
                GUNICORN_BIND=f"0.0.0.0:{APP_PORT}",
                WEB_CONCURRENCY="2",
                GUNICORN_THREADS="2",
                # nginx waits this long for a host's answer (render_deploy follows it): a request in flight over
                # a cut link is passed to the other host after it. Production's 120 s would make each such
                # request a two-minute wait; the bed's pages answer in well under a second.
                GUNICORN_TIMEOUT="10",
                STATIC_ROOT=str(root / "static"),
                DJANGO_SUPERUSER_USERNAME=ADMIN_USERNAME,
                DJANGO_SUPERUSER_EMAIL="editor@folio.test",
                DJANGO_SUPERUSER_PASSWORD=ADMIN_PASSWORD,
            )
            step = time.monotonic()
            collected = subprocess.run([PYTHON, str(ROOT / "manage.py"), "collectstatic", "--noinput"], cwd=ROOT,
                                       env=base_env, capture_output=True, text=True, timeout=600)  # fmt: skip
            if collected.returncode != 0:
                raise ServiceDidNotStart(f"collectstatic failed:\n{collected.stderr}")
            for command in DATABASE_STEPS:
                _manage_on(net, "app1", base_env, *command)
            _manage_on(net, "app1", base_env, "createsuperuser", "--noinput")
            prepared = time.monotonic() - step
            prefix = root / "lb" / "nginx"
            conf = write_main_conf(prefix, includes=[prefix / "site" / "folio.conf"])
            bed = Bed(net=net, root=root, database=cluster, cert=cert, nginx=None, nginx_conf=conf,  # type: ignore[arg-type]
                      base_env=base_env)  # fmt: skip
            (root / "lb" / "media").mkdir(parents=True, exist_ok=True)
            render_lb_site(bed)
            with contextlib.ExitStack() as servers:
                for name in APPS:
                    bed.start_app(name)
                    servers.callback(bed.stop_app, name)
                bed.nginx = net.popen("lb", nginx_command(conf, "-g", "daemon off;"), stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL)  # fmt: skip
                servers.callback(stop_process_group, bed.nginx, stop_signal=signal.SIGQUIT, grace=10)
                wait_until_ready(bed.nginx, lambda: _port_open(net, net.addresses["lb"], 443), what="nginx",
                                 timeout=START_TIMEOUT, interval=0.1,
                                 log=read_log(prefix / "logs" / "error.log"))  # fmt: skip
                bed.timings["set-up"] = time.monotonic() - started
                bed.timings["collectstatic+migrate+seed"] = prepared
                yield bed
                for name in list(bed.apps):
                    bed.stop_app(name)
    finally:
        shutil.rmtree(root, ignore_errors=True)
