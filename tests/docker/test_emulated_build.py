"""The image, built and run without a Docker engine: the Dockerfile's own steps in a fresh directory tree.

What the emulation does, in the Dockerfile's order:
1. `COPY . .`: the build context minus .dockerignore, copied into a fresh `app` directory.
2. The build stage's and the runtime stage's RUN lines, read from the Dockerfile and run verbatim by bash, with the
   stage's ENV (/opt/venv and /srv mapped into the tree): a fresh virtualenv from requirements/production.txt with
   hashes checked, then collectstatic under DJANGO_BUILD=1 with no secret and no database.
3. Then, as the image's user would, with everything built owned by root: the compose file's one-shot `migrate`
   command, the demo essays, and the image's CMD (Gunicorn with gunicorn.conf.py) on a free loopback port, with
   what compose passes to `web`; the image's HEALTHCHECK command; `preflight --target docker`; the `worker`
   command draining a task the app enqueued; the `static` service's publish step; and nginx rendered from the
   compose template in front.

Steps 2-3 run as `nobody` when the machine allows (root running the tests, and an interpreter `nobody` can execute),
else as the current user. What it does not prove: the python:3.12-slim base (the host's interpreter and libc stand
in), the `uv` image layer, Docker's own file ownership and networking, or that the images compose pulls exist.
"""

from __future__ import annotations

import contextlib
import grp
import json
import os
import pwd
import re
import shutil
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from harness.availability import DEFAULT_TEST_DATABASE_URL, require_executable, unavailable
from harness.nginx import check_config, running_nginx, write_main_conf
from harness.ports import free_port
from harness.postgres import Cluster
from harness.processes import read_log, stop_process_group, wait_until_listening
from harness.project import ROOT, STRONG_SECRET, clean_env
from harness.tls import self_signed_certificate
from tests.docker import files

pytestmark = pytest.mark.services

DOMAIN = "folio.example.org"
NON_ROOT = "nobody"
IMAGE_PYTHON = "3.12"
# Interpreters outside any home directory, which a non-root user can run.
SYSTEM_PYTHONS = ("/usr/local/bin/python3.12", "/usr/bin/python3.12", "/usr/local/bin/python3", "/usr/bin/python3")
STEP_TIMEOUT = 300
START_TIMEOUT = 60.0
DEMO_ESSAYS = json.loads((ROOT / "apps" / "content" / "demo" / "essays.json").read_text(encoding="utf-8"))


def newest_essay() -> dict:
    """The demo essay at the top of the first page: the latest one already published."""
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return max((essay for essay in DEMO_ESSAYS if essay["published_at"] <= now), key=lambda e: e["published_at"])


def interpreter_path(command: str) -> str | None:
    """The real executable behind `command` (pyenv shims are scripts in root's home, out of reach for others)."""
    found = shutil.which(command)
    if found is None:
        return None
    result = subprocess.run(
        [found, "-c", "import sys; print(sys.executable)"], capture_output=True, text=True, timeout=30, check=False
    )
    return result.stdout.strip() or None


def runs_as(user: str | None, python: str) -> str | None:
    """The `major.minor` of `python` when `user` can run it, else None."""
    try:
        result = subprocess.run(
            [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
            **identity(user),
        )
    except OSError:
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def identity(user: str | None) -> dict:
    """subprocess arguments that run a command as `user` (None: as whoever runs the tests)."""
    if user is None:
        return {}
    record = pwd.getpwnam(user)
    return {"user": record.pw_uid, "group": record.pw_gid, "extra_groups": []}


@dataclass(frozen=True)
class Builder:
    """Who runs the build and the container, with which interpreter standing in for python:3.12-slim's."""

    user: str | None
    python: str
    version: str

    @property
    def label(self) -> str:
        who = self.user or pwd.getpwuid(os.geteuid()).pw_name
        return f"{who}-python{self.version}"


def builders() -> list[Builder]:
    """As non-root as the machine allows, preferring Python 3.12 (the image's); plus 3.12 as the current user when
    only it can run one (a pyenv build under root's home, say)."""
    found = [interpreter_path(command) for command in ("python3.12", "python3", *SYSTEM_PYTHONS)]
    candidates = list(dict.fromkeys(path for path in found if path))
    user = NON_ROOT if os.geteuid() == 0 else None
    usable = [Builder(user, path, version) for path in candidates if (version := runs_as(user, path))]
    chosen = sorted(usable, key=lambda builder: builder.version != IMAGE_PYTHON)[:1]
    if user is not None and not any(builder.version == IMAGE_PYTHON for builder in chosen):
        own = [Builder(None, path, version) for path in candidates if (version := runs_as(None, path)) == IMAGE_PYTHON]
        chosen += own[:1]
    return chosen


@dataclass
class Image:
    """A built image's file tree and what it needs to run."""

    builder: Builder
    tree: Path
    database_url: str
    log: Path
    gunicorn_port: int = 0
    process: subprocess.Popen | None = None
    env: dict[str, str] = field(default_factory=dict)

    @property
    def app(self) -> Path:
        return self.tree / "app"

    def mapped(self, value: str) -> str:
        """An image path as it exists in this tree."""
        return value.replace("/opt/venv", str(self.tree / "venv")).replace("/srv/", f"{self.tree / 'srv'}/")

    def stage_env(self, stage: str, **overrides: str) -> dict[str, str]:
        base = {"PATH": f"{self.tree / 'bin'}:/usr/local/bin:/usr/bin:/bin", "HOME": str(self.tree / "home")}
        values = {name: self.mapped(value) for name, value in files.environment(files.stage(stage), base).items()}
        return clean_env(**{**values, "LANG": "C.UTF-8", **overrides})

    def run(self, command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            command,
            cwd=self.app,
            env=env,
            capture_output=True,
            text=True,
            timeout=STEP_TIMEOUT,
            check=False,
            **identity(self.builder.user),
        )

    def service_env(self, service: str, **overrides: str) -> dict[str, str]:
        """The runtime stage's ENV, then what compose passes to `service`, pointed at this machine's services."""
        compose = files.compose(files.COMPOSE_PRODUCTION)["services"][service]
        passed = {**files.env_file_values(compose), **files.service_environment(compose, {"FOLIO_DOMAIN": DOMAIN})}
        local = {
            "DJANGO_SECRET_KEY": STRONG_SECRET,
            "ALLOWED_HOSTS": DOMAIN,
            "CSRF_TRUSTED_ORIGINS": f"https://{DOMAIN}",
            "DATABASE_URL": self.database_url,
            "DATABASE_DIRECT_URL": self.database_url,
            "REDIS_URL": "",  # compose's redis://redis:6379 has no host here; pages fall back to local memory
            "WEB_CONCURRENCY": "2",
            "GUNICORN_THREADS": "2",
        }
        return self.stage_env("runtime", **{**passed, **local, **overrides})

    def get(self, path: str, **headers: str) -> tuple[int, dict[str, str], str]:
        return fetch(f"http://127.0.0.1:{self.gunicorn_port}{path}", headers)


def fetch(url: str, headers: dict[str, str], context: ssl.SSLContext | None = None) -> tuple[int, dict, str]:
    """Status, headers and body, without following redirects."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect, urllib.request.HTTPSHandler(context=context))
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - loopback URLs the test built
    try:
        with opener.open(request, timeout=20) as response:
            return response.status, joined(response.headers), response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, joined(error.headers), error.read().decode("utf-8", "replace")


def joined(headers) -> dict[str, str]:
    """Repeated headers as one comma-separated value, as HTTP defines them (nginx sends Cache-Control twice)."""
    return {name: ", ".join(headers.get_all(name)) for name in dict.fromkeys(headers.keys())}


def owned_by(path: Path, user: str | None) -> None:
    """chown -R, as Docker's layers leave files: root for what COPY and RUN made, the app user for its volumes."""
    if os.geteuid() != 0:
        return
    uid, gid = (pwd.getpwnam(user).pw_uid, pwd.getpwnam(user).pw_gid) if user else (0, grp.getgrnam("root").gr_gid)
    for directory, subdirectories, names in os.walk(path):
        for name in [directory, *(os.path.join(directory, entry) for entry in subdirectories + names)]:
            os.lchown(name, uid, gid)


def scratch_directory() -> str | None:
    """/dev/shm when it has room and allows executables: ~150 MB of small files are written and deleted per build,
    which on a disk mounted with online discard takes longer than the build. Else the default temp directory."""
    shm = "/dev/shm"
    try:
        stats = os.statvfs(shm)
    except OSError:
        return None
    roomy = stats.f_bavail * stats.f_frsize >= 1024**3
    return shm if roomy and not stats.f_flag & os.ST_NOEXEC and os.access(shm, os.W_OK) else None


@contextlib.contextmanager
def fresh_database() -> Iterator[str]:
    server = Cluster.from_url(os.environ.get("TEST_DATABASE_URL") or DEFAULT_TEST_DATABASE_URL)
    if not server.accepts_connections():
        unavailable(f"PostgreSQL at {server.host}:{server.port} is not reachable")
    with server.scratch_database(prefix="folio_h6_image") as url:
        yield url


def build(image: Image) -> None:
    """COPY . ., then every RUN line of the Dockerfile that runs a deploy/docker script, in order."""
    uv = shutil.which("uv", path=str(ROOT / ".venv" / "bin")) or shutil.which("uv")
    if uv is None:
        unavailable("uv is not installed (make install bootstraps it into .venv)")
    for name in ("bin", "home", "srv/static", "srv/media"):
        (image.tree / name).mkdir(parents=True)
    shutil.copy2(uv, image.tree / "bin" / "uv")  # the image's COPY --from=uv /uv /usr/local/bin/uv
    files.copy_build_context(image.app)
    owned_by(image.tree, image.builder.user)
    for item in files.instructions():
        if item.keyword == "RUN" and "deploy/docker/" in item.arguments:
            env = image.stage_env(item.stage, UV_PYTHON=image.builder.python)
            result = image.run(["bash", "-c", item.arguments], env)
            assert result.returncode == 0, f"RUN {item.arguments} failed:\n{result.stdout}\n{result.stderr}"
    # What COPY and RUN made is root's in the image; the app user owns only the volume mount points.
    owned_by(image.app, None)
    owned_by(image.tree / "venv", None)


def start(image: Image) -> None:
    """The image's CMD with what compose passes to web, as the image's user, on a free loopback port."""
    image.gunicorn_port = free_port()
    image.env = image.service_env("web", GUNICORN_BIND=f"127.0.0.1:{image.gunicorn_port}")
    command = files.exec_form(files.only(files.final_stage(), "CMD"))
    with image.log.open("ab") as output:
        image.process = subprocess.Popen(
            command,
            cwd=image.app,
            env=image.env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            **identity(image.builder.user),
        )
    wait_until_listening(
        image.process, [image.gunicorn_port], what="the image's CMD", timeout=START_TIMEOUT, log=read_log(image.log)
    )


@pytest.fixture(scope="module", params=builders() or [None], ids=lambda builder: builder.label if builder else "none")
def image(request) -> Iterator[Image]:
    builder: Builder | None = request.param
    if builder is None:
        unavailable("no Python 3 interpreter to stand in for the image's (python3.12 or python3 on PATH)")
    if os.geteuid() != 0 and builder.user is not None:
        unavailable("switching to a non-root user needs the tests to run as root")
    tree = Path(tempfile.mkdtemp(prefix="folio-image-", dir=scratch_directory()))
    tree.chmod(0o755)  # mkdtemp's 0700 would lock the image's user out of its own tree
    try:
        with fresh_database() as database_url:
            built = Image(builder=builder, tree=tree, database_url=database_url, log=tree / "gunicorn.log")
            build(built)
            migrate = files.compose(files.COMPOSE_PRODUCTION)["services"]["migrate"]["command"]
            for command in (migrate, ["python", "manage.py", "seed_demo"]):
                result = built.run(command, built.service_env("migrate"))
                assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
            start(built)
            try:
                yield built
            finally:
                stop_process_group(built.process)
    finally:
        shutil.rmtree(tree, ignore_errors=True)


def test_builds_from_the_lock_into_a_virtualenv_without_pip(image):
    venv = image.tree / "venv"
    assert (venv / "bin" / "gunicorn").exists() and (venv / "bin" / "django-admin").exists()
    assert not list(venv.glob("lib/python*/site-packages/pip"))
    frozen = image.run([str(venv / "bin" / "python"), "-c", "import django; print(django.get_version())"], {})
    pinned = re.search(r"^django==(\S+)", (ROOT / "requirements" / "production.txt").read_text(), re.MULTILINE)
    assert frozen.stdout.strip() == pinned.group(1)


def test_collected_static_files_are_in_the_image_with_their_manifest(image):
    manifest = json.loads((image.app / "staticfiles" / "staticfiles.json").read_text())
    hashed = manifest["paths"]["css/folio.css"]
    assert (image.app / "staticfiles" / hashed).is_file() and (image.app / "staticfiles" / f"{hashed}.gz").is_file()


def test_the_image_cmd_runs_as_the_non_root_user_that_built_nothing_it_runs(image):
    status = Path(f"/proc/{image.process.pid}/status").read_text()
    uid = int(re.search(r"^Uid:\s+(\d+)", status, re.MULTILINE).group(1))
    assert uid == (pwd.getpwnam(image.builder.user).pw_uid if image.builder.user else os.geteuid())
    if image.builder.user:
        assert uid != 0
        writable = image.run(["python", "-c", "open('config/urls.py', 'a')"], image.env)
        assert writable.returncode != 0 and "Permission denied" in writable.stderr


def test_liveness_endpoint_answers_200_to_a_bare_probe(image):
    status, _, body = image.get("/health/live")
    assert status == 200 and json.loads(body)["status"] in ("ok", "pass")


def test_essay_page_answers_200_through_the_image_cmd(image):
    essay = newest_essay()
    headers = {"Host": DOMAIN, "X-Forwarded-Proto": "https", "X-Real-IP": "203.0.113.7"}
    status, _, listing = image.get("/", **headers)
    assert status == 200 and essay["title"] in listing
    link = re.search(rf'href="([^"]*{re.escape(essay["slug"])}[^"]*)"', listing).group(1)
    status, _, page = image.get(link, **headers)
    assert status == 200 and essay["title"] in page
    stylesheet = re.search(r'href="(/static/css/folio\.[0-9a-f]{12}\.css)"', page).group(1)
    assert image.get(stylesheet, **headers)[0] == 200


def test_plain_http_to_a_page_is_redirected_to_https(image):
    status, headers, _ = image.get("/", Host=DOMAIN)
    assert status == 301 and headers["Location"].startswith(f"https://{DOMAIN}/")


def test_preflight_for_docker_passes_inside_the_image_with_what_compose_passes_to_web(image):
    result = image.run(["python", "manage.py", "preflight", "--target", "docker"], image.env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "preflight passed for docker" in result.stdout


def test_the_worker_service_command_drains_a_task_enqueued_by_the_app(image):
    env = image.service_env("worker")
    shell = ["python", "manage.py", "shell", "-c"]
    task = "from apps.core.scheduling.tasks import clear_expired_sessions as task; "
    enqueued = image.run([*shell, task + "print(task.enqueue().id)"], env)
    assert enqueued.returncode == 0, enqueued.stderr
    task_id = enqueued.stdout.strip().splitlines()[-1]
    # The compose file's worker command, told to stop once the queue is empty.
    worker = files.compose(files.COMPOSE_PRODUCTION)["services"]["worker"]["command"]
    drained = image.run([*worker, "--batch", "--no-startup-delay"], env)
    assert drained.returncode == 0, drained.stdout + drained.stderr
    status = image.run([*shell, task + f"print(task.get_result({task_id!r}).status)"], env)
    assert status.stdout.strip().endswith("SUCCESSFUL"), status.stdout + status.stderr


def test_the_image_healthcheck_command_passes_against_the_running_cmd(image):
    command = files.exec_form(files.only(files.final_stage(), "HEALTHCHECK"))
    result = image.run(command, image.env)
    assert result.returncode == 0, result.stderr


def test_the_image_healthcheck_command_fails_when_nothing_listens(image):
    command = files.exec_form(files.only(files.final_stage(), "HEALTHCHECK"))
    result = image.run(command, {**image.env, "GUNICORN_BIND": f"0.0.0.0:{free_port()}"})
    assert result.returncode == 1 and "unhealthy" in result.stderr


def test_the_static_service_publishes_the_image_files_into_the_shared_volume(image):
    compose = files.compose(files.COMPOSE_PRODUCTION)["services"]["static"]
    command = [image.mapped(word) for word in compose["command"]]
    result = image.run(command, image.stage_env("runtime"))
    assert result.returncode == 0, result.stderr
    manifest = json.loads((image.tree / "srv" / "static" / "staticfiles.json").read_text())
    assert (image.tree / "srv" / "static" / manifest["paths"]["css/folio.css"]).is_file()


@dataclass
class Edge:
    http_port: int
    https_port: int
    context: ssl.SSLContext

    def https(self, path: str) -> tuple[int, dict, str]:
        return fetch(f"https://127.0.0.1:{self.https_port}{path}", {"Host": DOMAIN}, self.context)


def render_nginx_template(image: Image, tls_dir: Path, http_port: int, https_port: int) -> str:
    """What the nginx image's envsubst step writes, with the listen ports moved to free loopback ones."""
    values = {"FOLIO_DOMAIN": DOMAIN, "FOLIO_TLS_DIR": str(tls_dir), "FOLIO_SRV": str(image.tree / "srv")}
    values["FOLIO_UPSTREAM"] = f"127.0.0.1:{image.gunicorn_port}"
    text = re.sub(r"\$\{(FOLIO_\w+)\}", lambda match: values[match.group(1)], files.NGINX_TEMPLATE.read_text())
    text = re.sub(r"^\s*listen \[::\]:.*\n", "", text, flags=re.MULTILINE)
    text = text.replace("listen 80;", f"listen 127.0.0.1:{http_port};")
    version = subprocess.run([require_executable("nginx"), "-v"], capture_output=True, text=True, check=False).stderr
    if tuple(int(part) for part in re.search(r"nginx/(\d+)\.(\d+)", version).groups()) < (1, 25):
        # `http2 on;` arrived in nginx 1.25.1 (the compose file pins 1.28); older Debian nginx spells it in listen.
        text = text.replace("    http2 on;\n", "").replace(
            "listen 443 ssl;", f"listen 127.0.0.1:{https_port} ssl http2;"
        )
    return text.replace("listen 443 ssl;", f"listen 127.0.0.1:{https_port} ssl;")


@pytest.fixture(scope="module")
def edge(image) -> Iterator[Edge]:
    """nginx rendered from deploy/docker/nginx/default.conf.template in front of the image's CMD."""
    require_executable("openssl")
    prefix = image.tree / "nginx"
    tls_dir = prefix / "tls"
    tls_dir.mkdir(parents=True)
    self_signed_certificate(tls_dir / "fullchain.pem", tls_dir / "privkey.pem", domain=DOMAIN)
    static = files.compose(files.COMPOSE_PRODUCTION)["services"]["static"]["command"]
    published = image.run([image.mapped(word) for word in static], image.stage_env("runtime"))
    assert published.returncode == 0, published.stderr
    http_port, https_port = free_port(), free_port()
    site = prefix / "default.conf"
    site.write_text(render_nginx_template(image, tls_dir, http_port, https_port))
    conf = write_main_conf(prefix, includes=[site])
    checked = check_config(conf)
    assert checked.returncode == 0, checked.stderr
    context = ssl.create_default_context(cafile=str(tls_dir / "fullchain.pem"))
    context.check_hostname = False  # the test connects to 127.0.0.1 while the certificate names DOMAIN
    with running_nginx(conf, ports=[http_port, https_port]):
        yield Edge(http_port, https_port, context)


def test_nginx_from_the_compose_template_serves_the_essay_page_over_https(image, edge):
    essay = newest_essay()
    status, _, listing = edge.https("/")
    assert status == 200 and essay["title"] in listing
    status, headers, _ = fetch(f"http://127.0.0.1:{edge.http_port}/", {"Host": DOMAIN})
    assert status == 301 and headers["Location"] == f"https://{DOMAIN}/"


def test_nginx_serves_hashed_static_files_from_the_published_volume_as_immutable(image, edge):
    _, _, listing = edge.https("/")
    stylesheet = re.search(r'href="(/static/css/folio\.[0-9a-f]{12}\.css)"', listing).group(1)
    before = image.log.read_text(errors="replace").count(stylesheet)
    status, headers, _ = edge.https(stylesheet)
    assert status == 200 and "immutable" in headers["Cache-Control"]
    assert image.log.read_text(errors="replace").count(stylesheet) == before, "Gunicorn served it, not nginx"
