"""The WSGI stack of config/wsgi.py per target: what reaches Django of a request's forwarding headers.

Each case imports config.wsgi in a fresh process with the target's environment, as Gunicorn or Vercel's runtime
would, sends one request through `application` and reports the environ Django's handler received.
"""

from __future__ import annotations

import json

from harness.project import PYTHON, clean_env, production_env, run_in_project

PROXY = "127.0.0.1"
CLIENT = "203.0.113.9"
FORGED = "198.51.100.66"

# Records the environ at Django's door, then lets the request through the rest of the real stack.
SEE_WHAT_DJANGO_SEES = r"""
import io, json, sys
from django.core.handlers.wsgi import WSGIHandler

seen = {}
handle = WSGIHandler.__call__

def spy(self, environ, start_response):
    seen.update(environ)
    return handle(self, environ, start_response)

WSGIHandler.__call__ = spy
import config.wsgi as wsgi

request = json.loads(sys.argv[1])
environ = {
    "REQUEST_METHOD": "GET", "PATH_INFO": "/health/live", "QUERY_STRING": "", "SERVER_NAME": "folio.example.org",
    "SERVER_PORT": "443", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(),
    "wsgi.errors": sys.stderr, "wsgi.version": (1, 0), "wsgi.multithread": True, "wsgi.multiprocess": True,
    "wsgi.run_once": False, **request,
}
status = []
body = wsgi.application(environ, lambda line, headers, *exc: status.append(line))
b"".join(body)
keys = ("REMOTE_ADDR", "HTTP_X_REAL_IP", "HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST")
print(json.dumps({"status": status[0], **{key: seen.get(key) for key in keys}}))
"""


def django_sees(env: dict[str, str], peer: str, headers: dict[str, str]) -> dict:
    request = {"REMOTE_ADDR": peer, **headers}
    result = run_in_project([PYTHON, "-c", SEE_WHAT_DJANGO_SEES, json.dumps(request)], env=env)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["status"].startswith("200 "), seen
    return seen


def from_nginx(client: str) -> dict[str, str]:
    """What the rendered nginx site sends upstream (deploy/nginx/templates/snippets/folio-proxy.conf)."""
    return {"HTTP_X_REAL_IP": client, "HTTP_X_FORWARDED_FOR": client, "HTTP_X_FORWARDED_PROTO": "https"}


def test_a_vm_behind_nginx_takes_the_client_and_scheme_from_the_proxy():
    seen = django_sees(production_env(), PROXY, from_nginx(CLIENT))
    assert seen["REMOTE_ADDR"] == CLIENT
    assert seen["HTTP_X_FORWARDED_PROTO"] == "https"


def test_docker_trusts_the_proxy_network_named_in_forwarded_allow_ips():
    nginx_container = "172.18.0.3"
    seen = django_sees(production_env(FORWARDED_ALLOW_IPS="172.18.0.0/16"), nginx_container, from_nginx(CLIENT))
    assert seen["REMOTE_ADDR"] == CLIENT
    assert seen["HTTP_X_FORWARDED_PROTO"] == "https"


def test_a_directly_exposed_server_drops_the_forwarding_headers_its_clients_send():
    seen = django_sees(production_env(GUNICORN_BIND="0.0.0.0:8000"), CLIENT, from_nginx(FORGED))
    assert seen["REMOTE_ADDR"] == CLIENT
    assert all(seen[key] is None for key in ("HTTP_X_REAL_IP", "HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO"))


def test_on_vercel_the_headers_its_edge_sets_reach_django_unfiltered():
    # As Vercel's runtime builds the environ (harness/vercel.py): the client from its edge's
    # x-forwarded-for, which production's filter, not knowing the edge's address, would drop along with the rest.
    edge = {**from_nginx(CLIENT), "HTTP_X_FORWARDED_HOST": "folio-git-main.vercel.app"}
    env = production_env(VERCEL="1", AWS_STORAGE_BUCKET_NAME="folio-media")
    del env["DJANGO_SETTINGS_MODULE"]  # config/wsgi.py picks the vercel settings from VERCEL, as on Vercel
    seen = django_sees(env, CLIENT, edge)
    assert seen["REMOTE_ADDR"] == CLIENT
    assert (seen["HTTP_X_FORWARDED_PROTO"], seen["HTTP_X_FORWARDED_HOST"]) == ("https", "folio-git-main.vercel.app")


def test_the_development_server_keeps_the_peer_it_heard_from():
    # runserver serves WSGI_APPLICATION (config.wsgi) too; nothing there stands between it and the browser.
    seen = django_sees(clean_env(DJANGO_SETTINGS_MODULE="config.settings.development"), PROXY, from_nginx(FORGED))
    assert seen["REMOTE_ADDR"] == PROXY
    assert seen["HTTP_X_FORWARDED_PROTO"] == "https"
