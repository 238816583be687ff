"""WEB_HOSTS: the nginx upstream it renders, the drain flag's errors, and the preflight rule (no servers here)."""

from __future__ import annotations

import dataclasses

import pytest
from django.core.exceptions import ImproperlyConfigured

from apps.core.checks.hosts import several_hosts_with_host_local_state
from apps.core.deploy import examples, nginx
from apps.core.deploy.templates import RenderError
from config.env import web_hosts
from harness.project import manage, production_env

HOSTS = ("10.0.0.11:8000", "10.0.0.12:8000")


def site(**changes) -> nginx.NginxSite:
    return dataclasses.replace(examples.EXAMPLE_SITE, **changes)


def test_one_web_host_renders_the_one_machine_site_unchanged():
    assert nginx.nginx_files(site(web_hosts=("127.0.0.1:8000",))) == nginx.nginx_files(examples.EXAMPLE_SITE)


def test_several_hosts_render_an_upstream_that_retries_reads_but_never_replays_a_post():
    files = nginx.nginx_files(site(web_hosts=HOSTS, drained=(HOSTS[0],)))
    assert (
        "    server 10.0.0.11:8000 down;\n    server 10.0.0.12:8000 max_fails=1 fail_timeout=10s;\n"
        in files["folio.conf"]
    )
    assert "keepalive 16;" in files["folio.conf"]
    proxy = files["snippets/folio-proxy.conf"]
    assert "proxy_next_upstream error timeout http_502 http_503;\n" in proxy
    assert "non_idempotent" not in proxy.replace("`non_idempotent`", "")
    assert "proxy_next_upstream_tries 2;" in proxy


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"drained": ("10.0.0.13:8000",)}, "not in WEB_HOSTS"),
        ({"drained": HOSTS}, "nothing would serve"),
        ({"web_hosts": (), "drained": ("127.0.0.1:8000",)}, "needs WEB_HOSTS"),
    ],
)
def test_a_drain_that_would_leave_no_host_or_names_an_unknown_one_is_refused(changes, message):
    with pytest.raises(RenderError, match=message):
        nginx.nginx_files(site(**{"web_hosts": HOSTS, **changes}))


@pytest.mark.parametrize("value", [["10.0.0.11"], ["10.0.0.11:0"], ["a b:80"], ["10.0.0.11:8000", "10.0.0.11:8000"]])
def test_web_hosts_that_are_not_distinct_host_ports_stop_start_up_naming_the_variable(value):
    with pytest.raises(ImproperlyConfigured, match="WEB_HOSTS"):
        web_hosts("WEB_HOSTS", value)


def test_web_hosts_accepts_names_addresses_and_ipv6():
    assert web_hosts("WEB_HOSTS", [" app1.internal:8000", "[fd00::2]:8000", ""]) == [
        "app1.internal:8000",
        "[fd00::2]:8000",
    ]


def test_preflight_refuses_several_hosts_while_sessions_or_uploads_stay_on_each(settings):
    settings.WEB_HOSTS = list(HOSTS)
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cache"
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}
    [problem] = several_hosts_with_host_local_state.messages()
    assert problem.id == "folio.E044"
    assert "sessions" in problem.msg and "LocMemCache" in problem.msg and "uploads" in problem.msg


def test_preflight_lets_several_hosts_keep_a_cache_each_with_database_sessions(settings):
    # The page cache follows edits through the database-kept generation, whatever the cache (tests/hosts's
    # without-Redis edit test proves it across hosts).
    settings.WEB_HOSTS = list(HOSTS)
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.db"
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "storages.backends.s3.S3Storage"}}
    assert several_hosts_with_host_local_state.messages() == []


def test_preflight_lets_several_hosts_share_redis_database_sessions_and_a_bucket(settings):
    settings.WEB_HOSTS = list(HOSTS)
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://x"}}
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.db"
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "storages.backends.s3.S3Storage"}}
    assert several_hosts_with_host_local_state.messages() == []
    settings.WEB_HOSTS = [HOSTS[0]]
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert several_hosts_with_host_local_state.messages() == []


def test_render_deploy_nginx_reads_web_hosts_and_refuses_an_upstream_beside_them(tmp_path):
    env = production_env(WEB_HOSTS=",".join(HOSTS))
    rendered = manage("render_deploy", "nginx", "--domain", "folio.example.org", "--drain", HOSTS[1], "--output-dir",
                      str(tmp_path), env=env)  # fmt: skip
    assert rendered.returncode == 0, rendered.stderr
    assert f"server {HOSTS[1]} down;" in (tmp_path / "folio.conf").read_text()

    both = manage("render_deploy", "nginx", "--domain", "folio.example.org", "--upstream", "127.0.0.1:8000", env=env)
    assert both.returncode != 0 and "WEB_HOSTS" in both.stderr
