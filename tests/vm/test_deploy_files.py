"""The VM's deployment files agree with the code: rendered from one template each, checked by the tools that
will read them (gunicorn --check-config, nginx -t, systemd-analyze verify)."""

from __future__ import annotations

import json
import os
import re
import subprocess

import pytest

from apps.core.deploy import examples, nginx, systemd, templates
from config.proxy import TrustedProxyHeaders
from harness.availability import require_executable
from harness.gunicorn import gunicorn_executable
from harness.nginx import check_config, write_main_conf
from harness.project import ROOT, STRONG_SECRET, clean_env, manage, production_env, run_in_project, run_python
from tests.vm.conftest import render_nginx

# What the reference's example left for the reader to fill in; none of it may reach a rendered file.
PLACEHOLDERS = ("{{", "{%", "yourdomain", "/path/to", templates.MISSING)


def gunicorn_settings(**env: str) -> dict:
    """gunicorn.conf.py's values as Gunicorn would read them, in a fresh interpreter with `env`."""
    code = (
        "import json, runpy; c = runpy.run_path('gunicorn.conf.py'); "
        "print(json.dumps({k: c[k] for k in ('bind', 'workers', 'threads', 'timeout', 'keepalive', "
        "'worker_class', 'forwarded_allow_ips', 'accesslog', 'errorlog')}))"
    )
    result = run_python(code, env=clean_env(**env))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_gunicorn_conf_has_the_reference_values_but_binds_loopback():
    values = gunicorn_settings()
    assert values["bind"] == ["127.0.0.1:8000"]
    assert values["workers"] == os.cpu_count() * 2 + 1
    assert (values["worker_class"], values["threads"], values["timeout"], values["keepalive"]) == ("gthread", 4, 120, 5)
    assert values["accesslog"] == values["errorlog"] == "-"
    assert values["forwarded_allow_ips"] == "127.0.0.1"


def test_gunicorn_conf_values_come_from_the_environment():
    values = gunicorn_settings(
        WEB_CONCURRENCY="3", GUNICORN_THREADS="8", GUNICORN_BIND="unix:/run/folio/gunicorn.sock", GUNICORN_TIMEOUT="30"
    )
    assert (values["workers"], values["threads"], values["timeout"]) == (3, 8, 30)
    assert values["bind"] == ["unix:/run/folio/gunicorn.sock"]


def test_gunicorn_conf_names_a_malformed_variable():
    result = run_python("import runpy; runpy.run_path('gunicorn.conf.py')", env=clean_env(WEB_CONCURRENCY="many"))
    assert result.returncode == 1
    assert "WEB_CONCURRENCY='many' is not a whole number" in result.stderr


@pytest.mark.services
def test_gunicorn_check_config_passes_with_production_settings(tmp_path):
    env = production_env(DATABASE_URL="postgres://folio@127.0.0.1:5432/folio", STATIC_ROOT=str(tmp_path))
    result = run_in_project(
        [str(gunicorn_executable()), "--check-config", "-c", "gunicorn.conf.py", "config.wsgi"], env=env
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("peer", "trusted"),
    [("127.0.0.1", True), ("", True), ("127.0.0.2", False), ("10.0.0.5", False), ("::1", False)],
)
def test_forwarding_headers_count_only_from_the_proxy(peer, trusted):
    seen = {}

    def app(environ, start_response):
        seen.update(environ)
        return [b""]

    environ = {"REMOTE_ADDR": peer, "HTTP_X_REAL_IP": "203.0.113.9", "HTTP_X_FORWARDED_PROTO": "https"}
    TrustedProxyHeaders(app, "127.0.0.1")(environ, lambda *args: None)
    assert seen["REMOTE_ADDR"] == ("203.0.113.9" if trusted else peer)
    assert ("HTTP_X_FORWARDED_PROTO" in seen) is trusted


def test_one_filter_remembers_each_peers_verdict_apart():
    """The filter remembers what it parsed (it runs on every request): a trusted peer's verdict must never carry
    over to the next, untrusted one, nor a client address to another request."""
    seen = []
    app = TrustedProxyHeaders(lambda environ, start: seen.append(dict(environ)) or [b""], "127.0.0.1")
    peers = ["127.0.0.1", "10.0.0.5", "127.0.0.1", "10.0.0.5", "127.0.0.1"]
    for number, peer in enumerate(peers):
        environ = {"REMOTE_ADDR": peer, "HTTP_X_REAL_IP": f"203.0.113.{number}", "HTTP_X_FORWARDED_PROTO": "https"}
        app(environ, lambda *args: None)
    assert [e["REMOTE_ADDR"] for e in seen] == ["203.0.113.0", "10.0.0.5", "203.0.113.2", "10.0.0.5", "203.0.113.4"]
    assert ["HTTP_X_FORWARDED_PROTO" in e for e in seen] == [True, False, True, False, True]


def test_a_proxy_cannot_name_a_client_that_is_not_an_ip_address():
    seen = {}
    app = TrustedProxyHeaders(lambda environ, start: seen.update(environ) or [b""], "127.0.0.0/8")
    app({"REMOTE_ADDR": "127.0.0.1", "HTTP_X_REAL_IP": "evil\n127.0.0.1"}, lambda *args: None)
    assert seen["REMOTE_ADDR"] == "127.0.0.1"


def test_production_trusts_x_forwarded_proto_only_when_behind_a_proxy():
    code = "from django.conf import settings; print(settings.SECURE_PROXY_SSL_HEADER)"
    prelude = "import django; django.setup(); "
    told = run_python(prelude + code, env=production_env(BEHIND_PROXY="true"))
    not_told = run_python(prelude + code, env=production_env())
    assert told.stdout.strip() == "('HTTP_X_FORWARDED_PROTO', 'https')", told.stderr
    assert not_told.stdout.strip() == "None", not_told.stderr


def test_committed_examples_are_what_the_templates_render():
    for path, text in examples.example_files().items():
        assert path.read_text(encoding="utf-8") == text, (
            f"{path.relative_to(ROOT)} is stale: run render_deploy examples"
        )


def test_rendered_site_defaults_to_lets_encrypt_and_leaves_no_placeholder(tmp_path):
    env = production_env(STATIC_ROOT="/srv/folio/staticfiles", MEDIA_ROOT="/srv/folio/media", ADMIN_URL="back-office/")
    result = manage("render_deploy", "nginx", "--domain", "essays.example.net", "--output-dir", str(tmp_path), env=env)
    assert result.returncode == 0, result.stderr
    site = (tmp_path / "folio.conf").read_text()
    assert "ssl_certificate /etc/letsencrypt/live/essays.example.net/fullchain.pem;" in site
    assert "ssl_certificate_key /etc/letsencrypt/live/essays.example.net/privkey.pem;" in site
    assert "alias /srv/folio/staticfiles/;" in site and "alias /srv/folio/media/;" in site
    assert "location = /back-office/login/ {" in site
    assert "client_max_body_size 20m;" in site
    assert "server 127.0.0.1:8000;" in site
    for path in tmp_path.rglob("*.conf"):
        text = path.read_text()
        assert not [marker for marker in PLACEHOLDERS if marker in text], path


def test_rendered_site_follows_gunicorn_conf_for_the_upstream_and_its_timeouts(tmp_path):
    env = production_env(GUNICORN_BIND="unix:/run/folio/gunicorn.sock", GUNICORN_TIMEOUT="300")
    result = manage("render_deploy", "nginx", "--domain", "folio.example.org", "--output-dir", str(tmp_path), env=env)
    assert result.returncode == 0, result.stderr
    assert "server unix:/run/folio/gunicorn.sock;" in (tmp_path / "folio.conf").read_text()
    assert "keepalive_timeout 4s;" in (tmp_path / "folio.conf").read_text()  # below Gunicorn's 5 s keepalive
    proxy = (tmp_path / "snippets" / "folio-proxy.conf").read_text()
    assert "proxy_read_timeout 300s;" in proxy


def test_every_location_that_adds_headers_includes_the_security_headers():
    site = nginx.nginx_files(examples.EXAMPLE_SITE)["folio.conf"]
    # The site's HTTPS server: the one that proxies to Gunicorn (the default server and the redirect do not).
    https_server = next(server for server in site.split("server {") if "folio-proxy.conf" in server)
    blocks = re.split(r"\n\s*location ", https_server)[1:]
    assert len(blocks) >= 5
    for block in blocks:
        body = block.split("{", 1)[1].split("location ", 1)[0]
        assert "folio-security-headers.conf;" in body, block.splitlines()[0]


def test_render_refuses_a_site_without_hsts():
    site = examples.EXAMPLE_SITE
    without = nginx.NginxSite(
        **{
            **site.__dict__,
            "security_headers": [h for h in site.security_headers if h[0] != "Strict-Transport-Security"],
        }
    )
    with pytest.raises(templates.RenderError, match="SECURE_HSTS_SECONDS"):
        nginx.nginx_files(without)


@pytest.mark.services
def test_rendered_site_passes_nginx_t(site, tmp_path):
    out = tmp_path / "nginx"
    result = render_nginx(
        site,
        out,
        "--certificate", str(site.cert),
        "--certificate-key", str(site.key),
        "--snippets-dir", str(out / "snippets"),
        "--log-dir", str(out / "logs"),
        "--listen-address", "127.0.0.1",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    checked = check_config(write_main_conf(out, includes=[out / "folio.conf"]))
    assert checked.returncode == 0, checked.stderr
    assert "test is successful" in checked.stderr


@pytest.mark.services
def test_nginx_t_catches_a_broken_site(site, tmp_path):
    out = tmp_path / "nginx"
    render_nginx(site, out, "--certificate", str(site.cert), "--certificate-key", str(site.key),
                 "--snippets-dir", str(out / "snippets"), "--log-dir", str(out / "logs"))  # fmt: skip
    (out / "snippets" / "folio-tls.conf").write_text("ssl_protocols TLSv9;\n")
    assert check_config(write_main_conf(out, includes=[out / "folio.conf"])).returncode != 0


@pytest.mark.services
def test_rendered_units_pass_systemd_analyze_verify(tmp_path):
    analyze = require_executable("systemd-analyze")
    env_file = tmp_path / "folio.env"
    env_file.write_text(f"DJANGO_SECRET_KEY={STRONG_SECRET}\n")
    result = manage(
        "render_deploy", "systemd", "--output-dir", str(tmp_path), "--env-file", str(env_file),
        "--user", "root", "--group", "root", env=production_env(),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    units = [tmp_path / name for name in systemd.SYSTEMD_FILES]
    checked = subprocess.run([analyze, "verify", *map(str, units)], capture_output=True, text=True, timeout=60)
    # verify only warns (exit 0) about unknown keys, so its output must be empty too.
    assert checked.returncode == 0 and not checked.stderr.strip(), checked.stderr
    socket, web, worker, backup, timer = (unit.read_text() for unit in units)
    assert "ListenStream=127.0.0.1:8000" in socket, "where gunicorn.conf.py binds by default"
    assert f"ExecStart={ROOT / '.venv'}/bin/gunicorn -c gunicorn.conf.py config.wsgi" in web
    assert f"ExecStart={ROOT / '.venv'}/bin/python manage.py worker" in worker  # the queue and the schedule
    assert f"ExecStart={ROOT / '.venv'}/bin/python manage.py db_backup" in backup
    assert "Persistent=true" in timer
    for unit in (web, worker, backup):
        for line in ("NoNewPrivileges=yes", "ProtectSystem=strict", "PrivateTmp=yes", f"EnvironmentFile={env_file}"):
            assert line in unit
    for unit in (web, worker):  # the backup is a oneshot: its timer, not Restart=, runs it again
        assert re.search(r"^Restart=(on-failure|always)$", unit, flags=re.MULTILINE)


def test_systemd_web_unit_reloads_gunicorn_gracefully_without_procps():
    web = systemd.systemd_files(examples.EXAMPLE_UNITS)["folio-web.service"]
    # The shell's builtin kill ($$ is systemd's escape for a literal $, so sh expands the MAINPID systemd sets).
    assert unit_values(web, "ExecReload") == ["/bin/sh -c 'kill -s HUP $$MAINPID'"]
    assert not [line for line in web.splitlines() if "/bin/kill" in line and not line.startswith("#")]
    assert "Type=notify" in web  # `systemctl start` returns once Gunicorn's workers are up


def test_the_web_service_inherits_its_socket_and_runs_the_live_release():
    files = systemd.systemd_files(examples.EXAMPLE_UNITS)
    web, socket = files["folio-web.service"], files["folio-web.socket"]
    assert unit_values(web, "Requires") == ["folio-web.socket"]
    assert "folio-web.socket" in unit_values(web, "After")[0].split()
    assert unit_values(socket, "WantedBy") == ["sockets.target"]
    assert unit_values(web, "ExecStart") == ["/srv/folio/current/venv/bin/gunicorn -c gunicorn.conf.py config.wsgi"]
    release_env = f"-/srv/folio/current/{systemd.release_tool().RELEASE_ENV}"
    for name in ("folio-web.service", "folio-worker.service", "folio-backup.service"):
        # The release's file after the shared one: its FOLIO_RELEASE wins over an empty one copied from .env.example.
        assert unit_values(files[name], "EnvironmentFile") == ["/etc/folio/folio.env", release_env], name
        assert unit_values(files[name], "WorkingDirectory") == ["/srv/folio/current"], name


@pytest.mark.parametrize(
    ("bind", "listen", "group"),
    [("127.0.0.1:8000", "127.0.0.1:8000", []), ("0.0.0.0:9000", "0.0.0.0:9000", []), ("[::1]:8000", "[::1]:8000", []),
     ("unix:/run/folio/gunicorn.sock", "/run/folio/gunicorn.sock", ["www-data"])],
)  # fmt: skip
def test_the_socket_listens_where_gunicorn_would_have_bound(tmp_path, bind, listen, group):
    result = manage("render_deploy", "systemd", "--output-dir", str(tmp_path), env=production_env(GUNICORN_BIND=bind))
    assert result.returncode == 0, result.stderr
    socket = (tmp_path / "folio-web.socket").read_text()
    assert unit_values(socket, "ListenStream") == [listen]
    assert unit_values(socket, "SocketGroup") == group


@pytest.mark.parametrize("bind", ["unix:relative.sock", "localhost", "127.0.0.1:http"])
def test_a_bind_systemd_cannot_listen_on_is_refused_in_one_line(tmp_path, bind):
    result = manage("render_deploy", "systemd", "--output-dir", str(tmp_path), env=production_env(GUNICORN_BIND=bind))
    assert result.returncode != 0
    assert f"GUNICORN_BIND={bind}" in result.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "folio-web.socket").exists()


def test_the_project_dir_link_is_kept_not_resolved(tmp_path):
    release = tmp_path / "releases" / "v1"
    release.mkdir(parents=True)
    (tmp_path / "current").symlink_to("releases/v1")
    result = manage(
        "render_deploy", "systemd", "--output-dir", str(tmp_path / "out"), "--project-dir", str(tmp_path / "current"),
        env=production_env(),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert unit_values((tmp_path / "out" / "folio-web.service").read_text(), "WorkingDirectory") == [
        str(tmp_path / "current")
    ]


def unit_values(text: str, key: str) -> list[str]:
    return re.findall(rf"^{key}=(.*)$", text, flags=re.MULTILINE)


def test_the_backup_timer_starts_the_backup_service_daily_and_catches_up_after_downtime():
    files = systemd.systemd_files(examples.EXAMPLE_UNITS)
    assert set(files) == {
        "folio-web.socket", "folio-web.service", "folio-worker.service", "folio-backup.service", "folio-backup.timer"
    }  # fmt: skip
    timer = files["folio-backup.timer"]
    # No Unit= line: a timer starts the service of its own name, which the files must therefore share.
    assert not unit_values(timer, "Unit") and "folio-backup.service" in files
    assert unit_values(timer, "OnCalendar") == ["*-*-* 03:15:00"]
    assert unit_values(timer, "Persistent") == ["true"]
    assert unit_values(timer, "WantedBy") == ["timers.target"]


def test_the_backup_service_writes_only_backup_dir_with_a_private_umask(tmp_path):
    result = manage(
        "render_deploy", "systemd", "--output-dir", str(tmp_path),
        env=production_env(BACKUP_DIR="/srv/folio/backups", MEDIA_ROOT="/srv/folio/media"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    backup = (tmp_path / "folio-backup.service").read_text()
    assert unit_values(backup, "Type") == ["oneshot"]
    assert unit_values(backup, "ReadWritePaths") == ["-/srv/folio/backups"], "writes its backups, reads the media"
    assert unit_values(backup, "UMask")[-1] == "0077", "systemd applies the last UMask: files 0600 from the start"
    assert unit_values(backup, "User") == unit_values((tmp_path / "folio-worker.service").read_text(), "User")
    assert unit_values(backup, "ExecStart")[0].endswith("/bin/python manage.py db_backup")
