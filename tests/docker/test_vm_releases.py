"""README's "Deploy to a VM", followed step by step on a Debian machine with a real systemd (PID 1 of a container,
harness/docker/machine.py) up to a page served over HTTPS by nginx, then a release and a rollback while readers keep
asking through nginx: none of their requests fails, and the answers name the new release, then the old one again,
before the load ends.

Steps as the guide gives them, as root: 1 the folio user, 2 PostgreSQL's role and database, 3 /etc/folio/folio.env
(the guide's lines, GUNICORN_BIND on loopback), 4 the first release by `make release` (deploy/vm/release.py: its own
virtualenv, from the wheels the stand-in carries, since the engine has no route out) and preflight, 5 the
certificate: a self-signed one where certbot would put it (no ACME server reaches a test), 6 the units and the
nginx site rendered from the live release and installed, 7 started, 8 `make release` and `make rollback`.
"""

from __future__ import annotations

import secrets
import shlex
import ssl
import time
from pathlib import Path

import pytest

from harness.docker import machine as vm
from harness.docker.standins import StandInError, ensure_systemd_standin
from harness.load import OneServer, ReadLoad
from harness.project import STRONG_SECRET
from harness.tls import self_signed_certificate

pytestmark = pytest.mark.services

SOURCE = "/tmp/folio-source"
# The source clone of step 4 (/srv/folio/repo in the guide): the working tree, unpacked.
CHECKOUT = f"{SOURCE}/folio"
# pip inside the machine installs the wheels the stand-in carries: its network has no way out.
OFFLINE_PIP = {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": "/opt/folio-wheels"}
DOMAIN = "folio.test"
UNITS = ("folio-web.socket", "folio-web.service", "folio-worker.service")
# Readers: three threads, each request on a connection of its own, a pause of 50 ms between requests. Bounds of the
# loop, not of the verdict: the two releases (a virtualenv each, collectstatic, migrate) took about 90 s under load
# on a quiet 2-core machine; the bound leaves room for a busy one.
THREADS = 3
MAX_REQUESTS = 20_000
MAX_SECONDS = 900.0
# Answers wanted from each release around each switch: the proof that the load spanned it.
AROUND_EACH_SWITCH = 20
# What a reader behind nginx would wait at most (proxy_read_timeout): a request waits out the new master's start.
CLIENT_TIMEOUT = 60.0


@pytest.fixture(scope="module")
def systemd_image(engine) -> str:
    try:
        return ensure_systemd_standin(engine)
    except StandInError as exc:
        pytest.fail(f"systemd stand-in: {exc}", pytrace=False)


@pytest.fixture
def machine(network, systemd_image, tmp_path):
    with vm.booted(network, systemd_image) as booted:
        booted.put(vm.source_tarball(tmp_path / "folio.tar"), "/tmp/folio.tar")
        booted.sh(f"mkdir -p {SOURCE} && tar -xf /tmp/folio.tar -C {SOURCE}")
        yield booted


def provision(machine: vm.Machine) -> None:
    """Steps 1–3 as root on the machine: the user, the database, the environment file (the guide's lines)."""
    password = secrets.token_hex(16)
    env_file = "\n".join(
        [
            "DJANGO_SETTINGS_MODULE=config.settings.production",
            f"DJANGO_SECRET_KEY={STRONG_SECRET}",
            f"DATABASE_URL=postgres://folio:{password}@127.0.0.1:5432/folio",
            f"ALLOWED_HOSTS={DOMAIN}",
            f"CSRF_TRUSTED_ORIGINS=https://{DOMAIN}",
            "STATIC_ROOT=/srv/folio/staticfiles",
            "MEDIA_ROOT=/srv/folio/media",
            "BACKUP_DIR=/srv/folio/backups",
            "ADMIN_URL=editors/",
            "BEHIND_PROXY=true",
            "GUNICORN_BIND=127.0.0.1:8000",
            "WEB_CONCURRENCY=2",
        ]
    )
    machine.sh(
        f"""
        useradd --system --user-group --home-dir /srv/folio --shell /usr/sbin/nologin folio
        install -d -m 755 /srv/folio
        runuser -u postgres -- psql --quiet -c "CREATE ROLE folio LOGIN PASSWORD '{password}'"
        runuser -u postgres -- createdb --owner folio folio
        install -d -m 750 -g folio /etc/folio
        install -m 640 -g folio /dev/null /etc/folio/folio.env
        cat > /etc/folio/folio.env <<'ENV'\n{env_file}\nENV
        install -d -o folio -g folio -m 755 /srv/folio/staticfiles
        install -d -o folio -g www-data -m 2750 /srv/folio/media
        """
    )


MANAGE = (
    "manage() { runuser -u folio -- bash -c 'set -a; . /etc/folio/folio.env; . /srv/folio/current/release.env; "
    'set +a; cd /srv/folio/current && exec venv/bin/python manage.py "$@"\' manage "$@"; }\n'
)


def make(machine: vm.Machine, *args: str):
    """`sudo make -C <checkout> …` as the guide says (root already), with pip kept offline."""
    return machine.sh(f"make --no-print-directory -C {CHECKOUT} {shlex.join(args)}", env=OFFLINE_PIP, check=False)


def install_units_and_site(machine: vm.Machine, certificate: tuple[Path, Path]) -> None:
    """Steps 5–7: the certificate where certbot puts it, the units and the site rendered and installed, started."""
    machine.sh(f"install -d /etc/letsencrypt/live/{DOMAIN}")
    machine.put(certificate[0], f"/etc/letsencrypt/live/{DOMAIN}/fullchain.pem")
    machine.put(certificate[1], f"/etc/letsencrypt/live/{DOMAIN}/privkey.pem")
    machine.sh(
        MANAGE
        + f"""
        manage preflight --target vm
        manage render_deploy systemd --project-dir /srv/folio/current --venv /srv/folio/current/venv \\
               --env-file /etc/folio/folio.env --output-dir /tmp/folio-systemd
        manage render_deploy nginx --domain {DOMAIN} --output-dir /tmp/folio-nginx
        install -m 644 /tmp/folio-systemd/folio-web.socket /tmp/folio-systemd/*.service /etc/systemd/system/
        install -m 644 /tmp/folio-nginx/snippets/*.conf /etc/nginx/snippets/
        install -m 644 /tmp/folio-nginx/folio.conf /etc/nginx/sites-available/folio.conf
        ln -sf ../sites-available/folio.conf /etc/nginx/sites-enabled/folio.conf
        rm -f /etc/nginx/sites-enabled/default
        systemctl daemon-reload
        systemctl enable --now folio-web.socket folio-web.service folio-worker.service
        nginx -t && systemctl reload nginx
        """
    )


def main_pid(machine: vm.Machine) -> int:
    return int(machine.sh("systemctl show --property MainPID --value folio-web.service").stdout.strip())


def test_the_vm_guide_serves_https_and_a_release_and_rollback_fail_no_request(machine, tmp_path):
    provision(machine)
    first = make(machine, "release", "VERSION=v1", "SOURCE=/tmp/folio.tar")
    assert first.returncode == 0, first.stderr[-3000:]
    certificate = self_signed_certificate(tmp_path / "fullchain.pem", tmp_path / "privkey.pem", domain=DOMAIN)
    install_units_and_site(machine, certificate)

    # The units as installed pass systemd's own check on a machine without procps (no /bin/kill).
    verify = machine.sh("test ! -e /bin/kill && systemd-analyze verify /etc/systemd/system/folio-*", check=False)
    assert verify.returncode == 0 and not (verify.stdout + verify.stderr).strip(), verify.stdout + verify.stderr
    tls = ssl.create_default_context(cafile=str(certificate[0]))
    tls.check_hostname = False  # the certificate names folio.test; the test connects to the machine's address
    site = OneServer(machine.address, 443, {"Host": DOMAIN, "Connection": "close"}, tls=tls)
    page = site.request("GET", "/", connection=site.connection(timeout=CLIENT_TIMEOUT))
    assert page.status == 200 and page.release == "v1", (page.status, page.headers)
    assert page.headers["strict-transport-security"].startswith("max-age=")

    # reload (HUP) keeps the master, its interpreter and its release: only new workers.
    master = main_pid(machine)
    machine.sh("systemctl reload folio-web.service")
    assert main_pid(machine) == master
    assert "Handling signal: hup" in machine.journal("folio-web.service")

    with ReadLoad(
        site, ["/", "/feed/"], threads=THREADS, max_requests=MAX_REQUESTS, max_seconds=MAX_SECONDS,
        client_timeout=CLIENT_TIMEOUT,
    ) as load:  # fmt: skip
        load.wait_for_requests(AROUND_EACH_SWITCH, release="v1")
        release_began = time.monotonic()
        second = make(machine, "release", "VERSION=v2")
        release_ended = time.monotonic()
        load.wait_for_requests(AROUND_EACH_SWITCH, release="v2", after=release_ended)
        rollback_began = time.monotonic()
        back = make(machine, "rollback")
        rollback_ended = time.monotonic()
        load.wait_for_requests(AROUND_EACH_SWITCH, release="v1", after=rollback_ended)
    assert second.returncode == 0, second.stderr[-3000:]
    assert back.returncode == 0, back.stderr[-3000:]

    assert load.failures() == [], f"{load.summary()}; first failures: {load.failures()[:5]}"
    began, ended = load.window()
    # Both switches inside the load: v1 before the release, v2 between, v1 again after the rollback.
    assert began < release_began and rollback_ended < ended, load.summary()
    answered = [(o.started, o.release) for o in load.outcomes]
    assert {name for start, name in answered if release_ended <= start < rollback_began} == {"v2"}, load.summary()
    assert {name for start, name in answered if start >= rollback_ended} == {"v1"}, load.summary()
    assert {name for start, name in answered if start < release_began} == {"v1"}, load.summary()
    slowest = max(outcome.ended - outcome.started for outcome in load.outcomes)
    print(f"release v2 took {release_ended - release_began:.0f} s, rollback {rollback_ended - rollback_began:.0f} s; "
          f"the slowest answer (a wait in the socket's queue) {slowest:.1f} s; {load.summary()}")  # fmt: skip

    listed = make(machine, "releases").stdout
    assert listed.splitlines()[0].startswith("  v2") and listed.splitlines()[1].startswith("* v1"), listed
    assert machine.sh("readlink /srv/folio/current").stdout.strip() == "releases/v1"
    assert main_pid(machine) != master

    # The control: the same restart with Gunicorn binding its own socket (folio-web.socket stopped, the service's
    # dependency on it dropped) refuses connections while the new master boots, and nginx answers 502.
    machine.sh(
        """
        # A drop-in cannot remove a dependency: the unit itself loses it.
        sed -i '/^Requires=folio-web.socket$/d' /etc/systemd/system/folio-web.service
        systemctl daemon-reload
        systemctl stop folio-web.socket folio-web.service
        systemctl start folio-web.service
        """
    )
    with ReadLoad(
        site, ["/"], threads=THREADS, max_requests=MAX_REQUESTS, max_seconds=MAX_SECONDS, client_timeout=CLIENT_TIMEOUT
    ) as control:  # fmt: skip
        control.wait_for_requests(AROUND_EACH_SWITCH, release="v1")
        restarted = time.monotonic()
        machine.sh("systemctl restart folio-web.service")
        control.wait_for_requests(AROUND_EACH_SWITCH, release="v1", after=time.monotonic())
    assert control.failures(), f"the control failed nothing, so the load could not see a gap: {control.summary()}"
    assert {o.status for o in control.failures()} == {502} and min(o.started for o in control.failures()) >= restarted
    print(f"without the socket: {control.summary()}")
