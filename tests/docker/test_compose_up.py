"""Both compose files brought up for real with Compose v2 on the test bed's engine, plus the bad-input cases
`docker compose config` must refuse. Host ports and the certificate directory are the files' variables, so the
host's 80, 443, 5432, 6379 and /etc/letsencrypt are never touched.
"""

from __future__ import annotations

import html
import http.client
import json
import re
import ssl
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from apps.core.deploy.nginx import LOGIN_BURST, LOGIN_RATE, LOGIN_RETRY_AFTER
from harness.docker import compose, project
from harness.docker.engine import cache_home
from harness.ports import free_port

pytestmark = pytest.mark.services

ROOT = Path(__file__).resolve().parent.parent.parent
DOMAIN = "folio.test"
DEMO_TITLES = [
    html.escape(entry["title"]) for entry in json.loads((ROOT / "apps/content/demo/essays.json").read_text())
]
# Bounds for a loaded 2-core machine: migrate, then web's first healthcheck (start_period 30 s, interval 15 s),
# then nginx; an idle machine needs about a minute.
STACK_UP_WITHIN = 420.0


def compose_services() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.production.yml").read_text())["services"]


def shows_an_essay(body: bytes) -> bool:
    text = body.decode(errors="replace")
    return any(title in text for title in DEMO_TITLES)


def get(port: int, path: str = "/", *, tls: ssl.SSLContext | None = None, host: str = DOMAIN):
    if tls:
        connection = http.client.HTTPSConnection("127.0.0.1", port, timeout=30, context=tls)
    else:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers={"Host": host})
        response = connection.getresponse()
        return response.status, {name.lower(): value for name, value in response.getheaders()}, response.read()
    finally:
        connection.close()


def answering(port: int, *, tls=None, host: str = DOMAIN):
    def probe():
        try:
            status, _, body = get(port, tls=tls, host=host)
        except (OSError, http.client.HTTPException):
            return None
        return (status, body) if status == 200 else None

    return probe


# ---- development ----


def test_development_stack_serves_the_essay_list_from_the_mounted_source(engine, folio_image):
    web_port = free_port()
    variables = {
        "FOLIO_WEB_PORT": str(web_port),
        "FOLIO_DB_PORT": str(free_port()),
        "FOLIO_REDIS_PORT": str(free_port()),
    }
    with compose.project(engine, [ROOT / "docker-compose.yml"], variables=variables) as dev:
        compose.tag_project_image(dev, folio_image)
        # README's order: the schema and the demo essays first (`run` starts db and redis, healthy, on its own).
        dev.run("run", "--rm", "web", "python", "manage.py", "migrate", "--noinput", timeout=600)
        dev.run("run", "--rm", "web", "python", "manage.py", "seed_demo", timeout=300)
        dev.up()
        try:
            _, body = project.wait_for(answering(web_port, host="127.0.0.1"), timeout=180, what="runserver answering /")
        except TimeoutError:
            pytest.fail(dev.logs())
        assert shows_an_essay(body)
        # The source is mounted, not copied: the container sees this checkout's files.
        listed = dev.run(
            "exec", "-T", "web", "python", "-c", "import pathlib; print(pathlib.Path('/app/tests').is_dir())"
        )
        assert listed.stdout.strip() == "True"


# ---- production ----


def self_signed(directory: Path, domain: str) -> Path:
    """live/<domain>/{fullchain,privkey}.pem as certbot lays them out; returns the certificate for clients."""
    live = directory / "live" / domain
    live.mkdir(parents=True)
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={domain}",
         "-addext", f"subjectAltName=DNS:{domain}", "-keyout", str(live / "privkey.pem"),
         "-out", str(live / "fullchain.pem")],
        check=True, capture_output=True,
    )  # fmt: skip
    return live / "fullchain.pem"


def client_tls(certificate: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(certificate))
    # The chain is verified against our certificate; the name is the IP we connect to, not the domain.
    context.check_hostname = False
    return context


@pytest.fixture(scope="module")
def production(engine, folio_image, standins):
    with compose.scratch() as scratch:
        directory = compose.production_directory(scratch)
        subprocess.run(
            [sys.executable, str(ROOT / "deploy/docker/make_env.py"), DOMAIN, "--directory", str(directory)],
            check=True, capture_output=True,
        )  # fmt: skip
        certificate = self_signed(scratch / "letsencrypt", DOMAIN)
        (scratch / "acme").mkdir()
        http_port, https_port = free_port(), free_port()
        variables = {
            "FOLIO_DOMAIN": DOMAIN,
            "FOLIO_IMAGE": folio_image,
            "FOLIO_HTTP_PORT": f"127.0.0.1:{http_port}",
            "FOLIO_HTTPS_PORT": f"127.0.0.1:{https_port}",
            "FOLIO_LETSENCRYPT_DIR": str(scratch / "letsencrypt"),
            "FOLIO_ACME_DIR": str(scratch / "acme"),
            "WEB_CONCURRENCY": "2",
        }
        with compose.project(
            engine, [directory / "docker-compose.production.yml"], directory=directory, variables=variables
        ) as stack:
            stack.up(timeout=900)
            tls = client_tls(certificate)
            try:
                project.wait_for(answering(https_port, tls=tls), timeout=STACK_UP_WITHIN, what="nginx → web over HTTPS")
            except TimeoutError:
                pytest.fail(stack.logs())
            yield {
                "stack": stack, "http": http_port, "https": https_port, "tls": tls, "image": folio_image,
                "scratch": scratch,
            }  # fmt: skip


def test_production_answers_over_https_through_nginx_with_the_security_headers(production):
    status, headers, _ = get(production["https"], tls=production["tls"])
    assert status == 200
    assert headers["strict-transport-security"].startswith("max-age=31536000")
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "same-origin"
    # nginx answered, and Gunicorn behind it (its request id comes back through the proxy).
    assert headers["server"].startswith("nginx")
    assert headers.get("x-request-id")
    status, headers, _ = get(production["http"], "/essays/")
    assert status == 301
    assert headers["location"] == f"https://{DOMAIN}/essays/"


@pytest.mark.parametrize("scheme", ["https", "http"])
def test_production_nginx_refuses_a_host_the_site_does_not_serve(production, scheme):
    tls = production["tls"] if scheme == "https" else None
    # 444: nginx closes the connection without an answer; the site's own name is still served (the control).
    with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError)):
        get(production[scheme], tls=tls, host="evil.example")
    assert get(production[scheme], tls=tls)[0] in (200, 301)


def test_production_nginx_serves_this_releases_hashed_static_files(production):
    _, _, page = get(production["https"], tls=production["tls"])
    hashed = re.findall(rb'/static/[^"\']+\.[0-9a-f]{12}\.(?:css|js)', page)
    assert hashed
    status, headers, _ = get(production["https"], hashed[0].decode(), tls=production["tls"])
    assert status == 200
    assert headers["cache-control"] == "public, immutable"


def test_a_task_enqueued_by_web_is_run_by_the_worker(production):
    stack = production["stack"]
    enqueued = stack.run(
        "exec", "-T", "web", "python", "manage.py", "shell", "-c",
        "from apps.core.scheduling.tasks import clear_expired_sessions; print(clear_expired_sessions.enqueue().id)",
    )  # fmt: skip
    task_id = enqueued.stdout.strip().splitlines()[-1]

    def finished():
        status = stack.run(
            "exec", "-T", "web", "python", "manage.py", "shell", "-c",
            f"from django_tasks_db.models import DBTaskResult; print(DBTaskResult.objects.get(id='{task_id}').status)",
        )  # fmt: skip
        state = status.stdout.strip().splitlines()[-1]
        return state if state in ("SUCCESSFUL", "FAILED") else None

    assert project.wait_for(finished, timeout=120, what="the worker running the task", interval=2) == "SUCCESSFUL"
    assert task_id in stack.logs("worker")


@pytest.fixture(scope="module")
def backup_image(engine, folio_image) -> str:
    try:
        project.build_project_image(
            engine, project.BACKUP_IMAGE, log=cache_home() / "backup-build.log", target="backup"
        )
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    return project.BACKUP_IMAGE


def essay_count(stack) -> int:
    counted = stack.run(
        "exec", "-T", "web", "python", "manage.py", "shell", "-c",
        "from apps.content.models import Essay; print(Essay.objects.count())",
    )  # fmt: skip
    return int(counted.stdout.strip().splitlines()[-1])


def test_the_backup_service_dumps_with_the_servers_pg_dump_privately_and_the_dump_restores(production, backup_image):
    stack = production["stack"]
    stack.variables["FOLIO_BACKUP_IMAGE"] = backup_image
    stack.run("exec", "-T", "web", "python", "manage.py", "seed_demo")
    essays = essay_count(stack)
    assert essays > 0

    made = stack.run("run", "--rm", "backup", timeout=600)  # what a host timer runs

    dumps = re.findall(r"wrote (/srv/backups/folio-\S+\.dump)", made.stdout)
    assert len(dumps) == 1, made.stdout + made.stderr
    listed = stack.run("run", "--rm", "backup", "ls", "-ln", "/srv/backups").stdout
    dump_line = next(line for line in listed.splitlines() if line.endswith(dumps[0].rsplit("/", 1)[1]))
    assert dump_line.startswith("-rw------- ") and " 10001 10001 " in dump_line, listed
    # pg_dump in this image is the server's major version: the db service's own image.
    client = stack.run("run", "--rm", "backup", "pg_dump", "--version").stdout
    server = stack.run(
        "exec", "-T", "web", "python", "manage.py", "shell", "-c",
        "from django.db import connection; connection.ensure_connection(); print(connection.pg_version // 10000)",
    ).stdout.strip().splitlines()[-1]  # fmt: skip
    assert re.search(r"\(PostgreSQL\) (\d+)", client).group(1) == server, (client, server)

    stack.run(
        "exec", "-T", "web", "python", "manage.py", "shell", "-c",
        "from apps.content.models import Essay; Essay.objects.all().delete()",
    )  # fmt: skip
    assert essay_count(stack) == 0
    stack.run("run", "--rm", "backup", "python", "manage.py", "db_restore", dumps[0], timeout=600)
    assert essay_count(stack) == essays


def test_down_then_up_keeps_the_essays(production):
    stack = production["stack"]
    stack.run("exec", "-T", "web", "python", "manage.py", "seed_demo")
    _, body = project.wait_for(answering(production["https"], tls=production["tls"]), timeout=60, what="the list")
    assert shows_an_essay(body)
    stack.run("down", "--timeout", "40", timeout=300)
    stack.up(timeout=900)
    _, body = project.wait_for(
        answering(production["https"], tls=production["tls"]), timeout=STACK_UP_WITHIN, what="the stack back up"
    )
    assert shows_an_essay(body)


# ---- bad input: `docker compose config` names what is missing ----


@pytest.fixture
def bare_production(engine):
    with compose.scratch() as scratch:
        directory = compose.production_directory(scratch)
        with compose.project(
            engine, [directory / "docker-compose.production.yml"], directory=directory, variables={}
        ) as stack:
            yield stack


def test_compose_config_names_a_missing_env_file(bare_production):
    bare_production.variables["FOLIO_DOMAIN"] = DOMAIN
    completed = bare_production.run("config", "--quiet", check=False)
    assert completed.returncode != 0
    assert ".env.production" in completed.stderr or ".env.postgres" in completed.stderr


def test_compose_config_names_a_missing_required_variable(bare_production):
    for name in (".env.production", ".env.postgres"):
        (bare_production.directory / name).write_text("")
    completed = bare_production.run("config", "--quiet", check=False)
    assert completed.returncode != 0
    assert "FOLIO_DOMAIN" in completed.stderr
    assert "export FOLIO_DOMAIN" in completed.stderr


# ---- certificates and the admin login limit ----


def test_acme_challenges_are_answered_on_port_80_without_a_redirect(production):
    challenge = production["scratch"] / "acme" / ".well-known" / "acme-challenge"
    challenge.mkdir(parents=True, exist_ok=True)
    (challenge / "token-4711").write_text("token-4711.thumbprint")
    challenge.chmod(0o755)
    status, _, body = get(production["http"], "/.well-known/acme-challenge/token-4711")
    assert (status, body) == (200, b"token-4711.thumbprint")
    assert get(production["http"], "/")[0] == 301


def served_serial(production) -> str:
    connection = http.client.HTTPSConnection("127.0.0.1", production["https"], timeout=30, context=production["tls"])
    try:
        connection.connect()
        der = connection.sock.getpeercert(binary_form=True)
    finally:
        connection.close()
    return serial_of(ssl.DER_cert_to_PEM_cert(der).encode())


def serial_of(pem: bytes) -> str:
    return (
        subprocess.run(["openssl", "x509", "-noout", "-serial"], input=pem, capture_output=True, check=True)
        .stdout.decode()
        .strip()
    )


def test_a_renewed_certificate_is_served_after_the_hook_with_no_failed_request(production):
    import threading
    import time

    stack = production["stack"]
    old_serial = served_serial(production)
    renewed = self_signed(production["scratch"] / "renewed", DOMAIN)
    production["tls"].load_verify_locations(cafile=str(renewed))
    new_serial = serial_of(renewed.read_bytes())
    assert new_serial != old_serial
    outcomes: list[int | str] = []
    stop = threading.Event()

    def read_load() -> None:
        started = time.monotonic()
        while not stop.is_set() and len(outcomes) < 5_000 and time.monotonic() - started < 120:
            try:
                outcomes.append(get(production["https"], "/health/live", tls=production["tls"])[0])
            except (OSError, http.client.HTTPException) as exc:
                outcomes.append(type(exc).__name__)

    load = threading.Thread(target=read_load)
    load.start()
    try:
        # What certbot does on renewal: new files in live/<domain>/, then the deploy hook.
        live = production["scratch"] / "letsencrypt" / "live" / DOMAIN
        for name in ("fullchain.pem", "privkey.pem"):
            (live / name).write_bytes((renewed.parent / name).read_bytes())
        hook = subprocess.run(
            ["bash", str(ROOT / "deploy/docker/renew-certificates.sh"), "--reload"],
            env={**stack.env(), "COMPOSE_FILE": str(stack.files[0]), "COMPOSE_PROJECT_NAME": stack.name},
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert hook.returncode == 0, hook.stderr
        seen = project.wait_for(
            lambda: served_serial(production) == new_serial, timeout=30, what="the new certificate served"
        )
        time.sleep(1)  # a moment of load on the new certificate before it ends
    finally:
        stop.set()
        load.join(timeout=60)
    assert seen
    assert outcomes and all(outcome == 200 for outcome in outcomes), [o for o in outcomes if o != 200][:5]


def test_admin_login_posts_are_rate_limited_per_client_inside_the_compose_network(production):
    """From the web container (a client address of its own; docker-proxy would hide the real one outside)."""
    probe = production["stack"].run(
        "exec", "-T", "web", "python", "-c",
        "import http.client, os, ssl\n"
        "context = ssl._create_unverified_context()\n"
        "path = '/' + os.environ['ADMIN_URL'] + 'login/'\n"
        "def ask(method):\n"
        "    c = http.client.HTTPSConnection('nginx', 443, context=context, timeout=30)\n"
        f"    c.request(method, path, body=b'username=x&password=y', headers={{'Host': '{DOMAIN}'}})\n"
        "    response = c.getresponse()\n"
        "    status = response.status, response.getheader('Retry-After', '-')\n"
        "    c.close()\n"
        "    return status\n"
        "print(*[ask('GET')[0] for _ in range(10)])\n"
        "print(*[':'.join(map(str, ask('POST'))) for _ in range(10)])\n",
    )  # fmt: skip
    gets_line, posts_line = probe.stdout.strip().splitlines()[-2:]
    gets = list(map(int, gets_line.split()))
    posts = [tuple(answer.split(":")) for answer in posts_line.split()]
    assert "429" not in map(str, gets), gets
    # rate 10r/m with a burst of 5, nodelay: the first attempts reach Django (403: no CSRF token), then 429, each
    # telling the client when to try again.
    assert posts[0][0] == "403"
    refused = [retry_after for status, retry_after in posts if status == "429"]
    assert len(refused) >= 3, posts
    assert set(refused) == {str(LOGIN_RETRY_AFTER)}, posts


def test_nginx_login_limit_is_the_vm_sites():
    environment = compose_services()["nginx"]["environment"]
    assert (environment["FOLIO_LOGIN_RATE"], int(environment["FOLIO_LOGIN_BURST"])) == (LOGIN_RATE, LOGIN_BURST)
    assert int(environment["FOLIO_LOGIN_RETRY_AFTER"]) == LOGIN_RETRY_AFTER


# ---- releases: `make docker-release` (deploy/docker/release.sh) against the running stack ----

RELEASE_SCRIPT = ROOT / "deploy/docker/release.sh"
# Bounds of the read load: it stops itself after this long or this many requests, whichever comes first.
LOAD_MAX_SECONDS = 480.0
LOAD_MAX_REQUESTS = 50_000


def release(stack, *args: str, extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The release script as an operator runs it, aimed at this test's project."""
    env = {
        **stack.env(),
        "COMPOSE_FILE": str(stack.files[0]),
        "COMPOSE_PROJECT_NAME": stack.name,
        # The test bed's engine has no NAT: the build reaches PyPI through the host's network.
        "FOLIO_BUILD_ARGS": "--network host",
        **(extra or {}),
    }
    return subprocess.run(
        ["bash", str(RELEASE_SCRIPT), *args], env=env, capture_output=True, text=True, timeout=1200, check=False
    )


def web_replicas(stack) -> set[str]:
    return set(stack.run("ps", "--quiet", "web").stdout.split())


def live_through_nginx(production) -> int:
    return get(production["https"], "/health/live", tls=production["tls"])[0]


def test_a_release_with_the_database_down_replaces_nothing(production):
    stack = production["stack"]
    before = web_replicas(stack)
    stack.run("stop", "db")
    try:
        completed = release(stack, production["image"])
        assert completed.returncode != 0
        assert "migrate failed: nothing replaced" in completed.stderr
        assert web_replicas(stack) == before
        assert live_through_nginx(production) == 200
    finally:
        stack.run("start", "db")
        project.wait_for(answering(production["https"], tls=production["tls"]), timeout=120, what="db back")


def test_a_release_whose_image_never_turns_healthy_keeps_the_old_replicas(engine, production):
    stack = production["stack"]
    before = web_replicas(stack)
    # The release's image, with a process that never answers the HEALTHCHECK instead of Gunicorn.
    engine.docker(
        "build", "--tag", "folio:never-healthy", "-",
        input=f'FROM {production["image"]}\nCMD ["sleep", "infinity"]\n',
    )  # fmt: skip
    stack.tags.append("folio:never-healthy")
    completed = release(stack, "folio:never-healthy")
    assert completed.returncode != 0
    assert "is not healthy: removing it" in completed.stderr
    assert web_replicas(stack) == before
    assert live_through_nginx(production) == 200


def test_a_release_under_read_load_fails_no_request_and_serves_the_new_build_before_the_load_ends(production):
    import threading
    import time

    stack = production["stack"]
    release_id = f"test-{time.time_ns() % 10**8}"
    stack.tags.append(f"folio:{release_id}")
    before = web_replicas(stack)
    outcomes: list[tuple[float, int | str, str]] = []
    stop = threading.Event()

    def read_load() -> None:
        started = time.monotonic()
        while not stop.is_set() and len(outcomes) < LOAD_MAX_REQUESTS:
            if time.monotonic() - started > LOAD_MAX_SECONDS:
                break
            try:
                status, headers, _ = get(production["https"], "/", tls=production["tls"])
                outcomes.append((time.monotonic(), status, headers.get("x-folio-release", "")))
            except (OSError, http.client.HTTPException) as exc:
                outcomes.append((time.monotonic(), type(exc).__name__, ""))

    workers = [threading.Thread(target=read_load) for _ in range(2)]
    for worker in workers:
        worker.start()
    try:
        completed = release(stack, extra={"FOLIO_RELEASE": release_id})
        released_at = time.monotonic()
        # A few seconds of load on the new release alone, then the load ends.
        time.sleep(3)
    finally:
        stop.set()
        for worker in workers:
            worker.join(timeout=60)
    load_ended = max(moment for moment, _, _ in outcomes)
    assert completed.returncode == 0, completed.stderr[-3000:]
    failed = [outcome for outcome in outcomes if outcome[1] != 200]
    new = [moment for moment, status, release_header in outcomes if release_header == release_id and status == 200]
    print(
        f"release under load: {len(outcomes)} requests, {len(failed)} failed, {len(new)} from the new build, "
        f"release took {released_at - outcomes[0][0]:.0f} s"
    )
    assert failed == []
    assert new and min(new) < load_ended
    # The new build answered while the old one still did: the release happened inside the load window.
    assert any(release_header != release_id for _, _, release_header in outcomes)
    after = web_replicas(stack)
    assert len(after) == len(before) and not (after & before)
