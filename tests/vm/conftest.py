"""The VM deployment under test: Folio's production settings on a throwaway PostgreSQL database, collected static
files, a self-signed certificate, and the nginx site rendered by `manage.py render_deploy` in front of Gunicorn.

Clients connect from 127.0.0.2, so "the client's address" and "the proxy's address" (127.0.0.1) differ.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from harness.availability import require_executable, unavailable
from harness.gunicorn import Gunicorn, running_gunicorn
from harness.nginx import Nginx, check_config, running_nginx, write_main_conf
from harness.ports import free_port
from harness.postgres import LOCAL
from harness.project import ROOT, SITE_STEPS, manage, manage_steps, production_env
from harness.tls import self_signed_certificate

DOMAIN = "folio.test"
CLIENT = "127.0.0.2"
ADMIN_URL = "editors/"


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        values = self.all(name)
        return ", ".join(values) if values else None

    def all(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name.lower()]

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


def connection(port: int, *, tls: bool, cafile: Path | None = None, source: str = CLIENT, timeout: float = 15):
    if tls:
        context = ssl.create_default_context(cafile=str(cafile))
        return http.client.HTTPSConnection(
            "127.0.0.1", port, context=context, timeout=timeout, source_address=(source, 0)
        )
    return http.client.HTTPConnection("127.0.0.1", port, timeout=timeout, source_address=(source, 0))


def fetch(
    port: int,
    path: str,
    *,
    method: str = "GET",
    tls: bool = False,
    cafile: Path | None = None,
    host_header: str = DOMAIN,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    source: str = CLIENT,
) -> Response:
    """One request from 127.0.0.2 (or `source`) to 127.0.0.1:port, with the site's Host unless told otherwise."""
    conn = connection(port, tls=tls, cafile=cafile, source=source)
    try:
        conn.request(method, path, body=body, headers={"Host": host_header, **(headers or {})})
        response = conn.getresponse()
        return Response(response.status, response.getheaders(), response.read())
    finally:
        conn.close()


@dataclass
class Site:
    """Everything a test needs to start the stack: the environment, paths, ports and the certificate."""

    env: dict[str, str]
    root: Path
    cert: Path
    key: Path
    gunicorn_port: int
    http_port: int
    https_port: int
    first_slug: str
    conf: Path | None = None
    rendered: dict[str, Path] = field(default_factory=dict)

    @property
    def static_root(self) -> Path:
        return Path(self.env["STATIC_ROOT"])

    @property
    def media_root(self) -> Path:
        return Path(self.env["MEDIA_ROOT"])

    def hashed_static(self, name: str) -> str:
        manifest = json.loads((self.static_root / "staticfiles.json").read_text())
        return manifest["paths"][name]


@dataclass
class Stack:
    site: Site
    nginx: Nginx
    gunicorn: Gunicorn

    def https(self, path: str, **kwargs) -> Response:
        return fetch(self.site.https_port, path, tls=True, cafile=self.site.cert, **kwargs)

    def http(self, path: str, **kwargs) -> Response:
        return fetch(self.site.http_port, path, **kwargs)

    def direct(self, path: str, **kwargs) -> Response:
        """Straight to Gunicorn, bypassing nginx, as anyone on the machine (or network) could try."""
        return fetch(self.site.gunicorn_port, path, **kwargs)


def make_certificate(directory: Path) -> tuple[Path, Path]:
    require_executable("openssl")
    return self_signed_certificate(directory / "cert.pem", directory / "key.pem", domain=DOMAIN, ip="127.0.0.1")


def client_address_usable() -> None:
    try:
        with socket.socket() as sock:
            sock.bind((CLIENT, 0))
    except OSError as exc:
        unavailable(f"cannot use {CLIENT} as a client address: {exc}")


@pytest.fixture(scope="package")
def database_url() -> Iterator[str]:
    if not LOCAL.accepts_connections():
        unavailable(f"PostgreSQL at {LOCAL.host}:{LOCAL.port} is not reachable")
    with LOCAL.scratch_database(prefix="folio_h5_vm") as url:
        yield url


@pytest.fixture(scope="package")
def site(tmp_path_factory, database_url) -> Site:
    """Migrated, seeded, collected and rendered: what an operator has after the README's VM steps."""
    client_address_usable()
    root = tmp_path_factory.mktemp("vm")
    gunicorn_port = free_port()
    env = production_env(
        DATABASE_URL=database_url,
        ALLOWED_HOSTS=DOMAIN,
        STATIC_ROOT=str(root / "staticfiles"),
        MEDIA_ROOT=str(root / "media"),
        ADMIN_URL=ADMIN_URL,
        BEHIND_PROXY="true",
        SECURE_SSL_REDIRECT="true",
        SECURE_HSTS_SECONDS="31536000",
        GUNICORN_BIND=f"127.0.0.1:{gunicorn_port}",
        WEB_CONCURRENCY="2",
        GUNICORN_THREADS="4",
    )
    manage_steps(*SITE_STEPS, env=env)
    (root / "media").mkdir(exist_ok=True)
    cert, key = make_certificate(root)
    slugs = [essay["slug"] for essay in json.loads((ROOT / "apps/content/demo/essays.json").read_text())]
    return Site(
        env=env,
        root=root,
        cert=cert,
        key=key,
        gunicorn_port=gunicorn_port,
        http_port=free_port(),
        https_port=free_port(),
        first_slug=slugs[0],
    )


def render_nginx(site: Site, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """The operator's command: `manage.py render_deploy nginx`, with the production environment loaded."""
    return manage("render_deploy", "nginx", "--domain", DOMAIN, "--output-dir", str(out), *extra, env=site.env)


@pytest.fixture(scope="package")
def nginx_conf(site) -> Path:
    """The rendered site for this machine's test ports and certificate, inside a minimal nginx.conf."""
    out = site.root / "nginx"
    result = render_nginx(
        site,
        out,
        "--listen-address", "127.0.0.1",
        "--http-port", str(site.http_port),
        "--https-port", str(site.https_port),
        "--certificate", str(site.cert),
        "--certificate-key", str(site.key),
        "--snippets-dir", str(out / "snippets"),
        "--log-dir", str(out / "logs"),
        "--acme-root", str(site.root / "acme"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    conf = write_main_conf(out, includes=[out / "folio.conf"])
    checked = check_config(conf)
    assert checked.returncode == 0, checked.stderr
    return conf


@contextlib.contextmanager
def running_stack(site: Site, nginx_conf: Path, log: Path, **env: str) -> Iterator[Stack]:
    """Gunicorn with the site's environment (plus `env`) behind the rendered nginx; both stopped afterwards."""
    with (
        running_gunicorn(env={**site.env, **env}, log=log, port=site.gunicorn_port, host_header=DOMAIN) as gunicorn,
        running_nginx(nginx_conf, ports=[site.http_port, site.https_port]) as nginx,
    ):
        yield Stack(site=site, nginx=nginx, gunicorn=gunicorn)


@pytest.fixture(scope="module")
def stack(site, nginx_conf, tmp_path_factory) -> Iterator[Stack]:
    with running_stack(site, nginx_conf, tmp_path_factory.mktemp("gunicorn") / "gunicorn.log") as stack:
        yield stack
