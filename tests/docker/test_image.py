"""The production image, built by a real engine from the Dockerfile and run as docker-compose.production.yml runs
web: read-only root, a tmpfs /tmp, the media volume, against the postgres stand-in.
"""

from __future__ import annotations

import http.client
import re
import socket
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest
import yaml

from harness.docker import project

pytestmark = pytest.mark.services

ROOT = Path(__file__).resolve().parent.parent.parent
HOST = "folio.test"
# The Dockerfile's HEALTHCHECK probes every 30 s after a 30 s start period: the first verdict can take a minute
# on an idle machine; the rest is margin for a shared, loaded one.
HEALTHY_WITHIN = 180.0


def compose_web() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.production.yml").read_text())["services"]["web"]


def grace_seconds() -> int:
    """web's stop_grace_period in the production compose file (e.g. "35s")."""
    return int(str(compose_web()["stop_grace_period"]).removesuffix("s"))


def request(port: int, path: str, *, method: str = "GET", body: bytes | None = None, headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(
            method, path, body=body, headers={"Host": HOST, "X-Forwarded-Proto": "https", **(headers or {})}
        )
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def start_web(engine, net, image: str, database, *, name: str) -> tuple[str, str]:
    """web as the compose file runs it; returns (container, media volume)."""
    volume = f"folio-media-{uuid.uuid4().hex[:8]}"
    environment = project.app_environment(database, HOST)
    container = net.run(
        "--read-only",
        "--tmpfs",
        "/tmp",
        "--volume",
        f"{volume}:/srv/media",
        "--cap-drop",
        "ALL",
        "--security-opt",
        "no-new-privileges:true",
        "--stop-timeout",
        str(grace_seconds()),
        "--publish",
        "127.0.0.1::8000",
        *project.env_args(environment),
        image,
        name=name,
    )
    return container, volume


def wait_serving(engine, container: str) -> int:
    port = project.published_port(engine, container)

    def answers() -> bool:
        try:
            return request(port, "/health/live")[0] == 200
        except OSError:
            return False

    try:
        project.wait_for(answers, timeout=120, what=f"{container} answering /health/live")
    except TimeoutError:
        pytest.fail(f"{container} never answered:\n{project.logs(engine, container)[-3000:]}")
    return port


@pytest.fixture(scope="module")
def site(engine, folio_image, standin):
    with project.network(engine) as net:
        database = project.start_postgres(net, standin("postgres"))
        environment = project.app_environment(database, HOST)
        migrate = engine.docker(
            "run",
            "--rm",
            "--network",
            net.name,
            "--read-only",
            "--tmpfs",
            "/tmp",
            *project.env_args(environment),
            folio_image,
            "python",
            "manage.py",
            "migrate",
            "--noinput",
            timeout=300,
            check=False,
        )
        assert migrate.returncode == 0, migrate.stderr[-3000:]
        container, volume = start_web(engine, net, folio_image, database, name=f"{net.name}-web")
        port = wait_serving(engine, container)
        yield {"net": net, "database": database, "container": container, "port": port, "volume": volume}


def test_the_app_runs_as_uid_10001_and_cannot_rewrite_its_code(engine, folio_image):
    probe = project.run_once(
        engine,
        "--read-only",
        "--tmpfs",
        "/tmp",
        folio_image,
        "python",
        "-c",
        "import os\n"
        "print(os.getuid(), os.getgid())\n"
        "for path in ('/app/manage.py', '/app/config/settings/base.py', '/opt/venv/bin/gunicorn'):\n"
        "    try:\n"
        "        open(path, 'a').close()\n"
        "        print('wrote', path)\n"
        "    except OSError as exc:\n"
        "        print('refused', path, exc.errno)\n",
    )
    assert probe.returncode == 0, probe.stderr
    lines = probe.stdout.splitlines()
    assert lines[0] == f"{project.APP_UID} {project.APP_UID}"
    assert all(line.startswith("refused") for line in lines[1:]), lines


def test_the_site_serves_from_a_read_only_root_with_only_the_documented_mounts_writable(engine, site):
    status, _, body = request(site["port"], "/")
    assert status == 200, body[:500]
    probe = engine.docker(
        "exec",
        site["container"],
        "python",
        "-c",
        "import os, tempfile\n"
        "for directory in ('/tmp', '/srv/media', '/app', '/srv/static', '/'):\n"
        "    try:\n"
        "        tempfile.NamedTemporaryFile(dir=directory).close()\n"
        "        print(directory, 'writable')\n"
        "    except OSError:\n"
        "        print(directory, 'read-only')\n",
    )
    assert probe.stdout.split("\n")[:5] == [
        "/tmp writable",
        "/srv/media writable",
        "/app read-only",
        "/srv/static read-only",
        "/ read-only",
    ]


def test_the_healthcheck_turns_healthy(engine, site):
    try:
        project.wait_for(
            lambda: project.health(engine, site["container"]) == "healthy",
            timeout=HEALTHY_WITHIN,
            what="the HEALTHCHECK verdict",
            interval=2,
        )
    except TimeoutError:
        state = project.inspect(engine, site["container"])["State"]
        pytest.fail(f"health {state.get('Health')}")


def test_static_files_are_served_under_their_hashed_names(site):
    _, _, page = request(site["port"], "/")
    hashed = re.findall(rb'/static/[^"\']+\.[0-9a-f]{12}\.(?:css|js)', page)
    assert hashed, page[:1000]
    status, headers, body = request(site["port"], hashed[0].decode())
    assert status == 200
    assert body
    # WhiteNoise marks hashed names as cacheable forever; an unhashed name would not be.
    assert "immutable" in headers.get("Cache-Control", "")


def login_form(port: int) -> tuple[str, str]:
    """The admin login page's CSRF cookie and form token, so the slow POST below is a real login attempt."""
    status, headers, page = request(port, "/site-admin/login/")
    assert status == 200
    cookie = re.search(r"csrftoken=([^;]+)", headers["Set-Cookie"]).group(1)
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1).decode()
    return cookie, token


def test_docker_stop_lets_a_slow_request_finish_and_exits_within_the_grace_period(engine, site, folio_image):
    """A login POST whose body trickles in for longer than Docker's default 10 s grace, with `docker stop` sent
    while it is in flight: the client still gets its answer, and the container exits before the compose file's
    stop_grace_period, so Docker never has to SIGKILL it."""
    container, _ = start_web(engine, site["net"], folio_image, site["database"], name=f"{site['net'].name}-stop")
    port = wait_serving(engine, container)
    cookie, token = login_form(port)
    body = f"csrfmiddlewaretoken={token}&username=nobody&password=wrong&next=/site-admin/".encode()
    trickle_seconds = 14.0  # > Docker's default 10 s: the default grace period would cut this request
    pieces = [body[i : i + 8] for i in range(0, len(body), 8)]
    stopper: dict[str, float | subprocess.CompletedProcess] = {}

    def stop() -> None:
        stopper["sent"] = time.monotonic()
        stopper["result"] = engine.docker("stop", container, timeout=grace_seconds() + 60, check=False)
        stopper["done"] = time.monotonic()

    with socket.create_connection(("127.0.0.1", port), timeout=60) as client:
        client.sendall(
            (
                f"POST /site-admin/login/ HTTP/1.1\r\nHost: {HOST}\r\nX-Forwarded-Proto: https\r\n"
                f"Referer: https://{HOST}/site-admin/login/\r\nCookie: csrftoken={cookie}\r\n"
                f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n"
            ).encode()
        )
        client.sendall(pieces[0])
        stopping = threading.Thread(target=stop)
        time.sleep(1)  # the request is in a worker thread before the signal (not a wait for readiness)
        stopping.start()
        for piece in pieces[1:]:
            time.sleep(trickle_seconds / len(pieces))
            client.sendall(piece)
        finished_body = time.monotonic()
        answer = b""
        while chunk := client.recv(65536):
            answer += chunk
    stopping.join(timeout=grace_seconds() + 90)
    status_line = answer.split(b"\r\n", 1)[0]
    assert status_line == b"HTTP/1.1 200 OK", answer[:500]
    assert b"correct username and password" in answer
    assert finished_body - stopper["sent"] > 10, "the body finished before Docker's default grace would end"
    result = stopper["result"]
    assert result.returncode == 0, result.stderr
    assert stopper["done"] - stopper["sent"] < grace_seconds()
    state = project.inspect(engine, container)["State"]
    # 0: Gunicorn's master exited on its own after its workers finished; 137 would be Docker's SIGKILL.
    assert state["ExitCode"] == 0, project.logs(engine, container)[-2000:]


def test_the_image_holds_the_code_and_static_files_but_no_repository_tooling(engine, folio_image):
    listing = project.run_once(
        engine, folio_image, "python", "-c",
        "import os; print('\\n'.join(sorted(os.listdir('/app'))))",
    )  # fmt: skip
    present = set(listing.stdout.split())
    assert {"manage.py", "gunicorn.conf.py", "apps", "config", "templates", "staticfiles", "deploy"} <= present
    assert not present & {".git", ".venv", "tests", "harness", "bench", ".ci", "Dockerfile", "node_modules"}


def test_dockerignore_keeps_secrets_and_caches_out_of_a_real_build_context(engine, standin, tmp_path):
    """The project's .dockerignore applied by the engine itself to a context holding what must never be copied."""
    (tmp_path / ".dockerignore").write_bytes((ROOT / ".dockerignore").read_bytes())
    kept = ["manage.py", "apps/content/models.py", "static/css/folio.css"]
    left_out = [
        ".env", ".env.production", ".env.postgres", "config/.env", "apps/content/__pycache__/m.cpython-312.pyc",
        "apps/content/models.pyc", "db.sqlite3", "media/covers/a.jpg", "staticfiles/staticfiles.json",
    ]  # fmt: skip
    for relative in kept + left_out:
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text("x")
    (tmp_path / "Dockerfile").write_text(f"FROM {standin('python')}\nCOPY . /context\n")
    engine.docker("build", "--tag", "folio-test/context", str(tmp_path))
    found = project.run_once(engine, "folio-test/context", "find", "/context", "-type", "f").stdout.split()
    copied = {path.removeprefix("/context/") for path in found}
    assert set(kept) <= copied
    assert not copied & set(left_out)
