"""The compose files, checked without a Docker engine: the Compose Specification's schema, and agreement with the
settings, the Dockerfile and the nginx template.

The schema is the Compose Specification's JSON schema (compose-spec/compose-spec, schema/compose-spec.json, commit
170098ba, 2026-06-23; Apache-2.0), read from the shared folder beside the clone (../shared/schemas/), never copied
here. The files are also brought up for real in test_compose_up.py.
"""

from __future__ import annotations

import copy
import json
import re
from urllib.parse import urlsplit

import jsonschema
import pytest

from harness.availability import unavailable
from harness.project import ROOT, STRONG_SECRET, clean_env, run_python
from tests.docker import files

SCHEMA = ROOT.parent / "shared" / "schemas" / "compose-spec.json"
COMPOSE_FILES = [files.COMPOSE_DEV, files.COMPOSE_PRODUCTION]
APP_SERVICES = ("migrate", "web", "worker")
REQUIRED_PRODUCTION_VARIABLES = ("DJANGO_SECRET_KEY", "DATABASE_URL", "ALLOWED_HOSTS")
# What `export FOLIO_DOMAIN=…` before `docker compose up` provides in the README's walk-through.
SHELL = {"FOLIO_DOMAIN": "folio.example.org"}


def validator() -> jsonschema.Draft7Validator:
    if not SCHEMA.exists():
        unavailable(f"no Compose Specification schema at {SCHEMA} (the shared folder beside the clone)")
    return jsonschema.Draft7Validator(json.loads(SCHEMA.read_text(encoding="utf-8")))


def documented_variables() -> set[str]:
    """Every variable Folio reads: .env.example lists them all (tests/foundation holds it to the code)."""
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    return set(re.findall(r"^([A-Z][A-Z0-9_]+)=", text, flags=re.MULTILINE))


def production() -> dict:
    return files.compose(files.COMPOSE_PRODUCTION)


def passed_variables(service: dict) -> dict[str, str]:
    """What a container of this service sees: the image's ENV, then its env files, then `environment:`."""
    runtime_env = files.environment(files.final_stage())
    image_env = {name: runtime_env[name] for name in ("DJANGO_SETTINGS_MODULE", "GUNICORN_BIND", "MEDIA_ROOT")}
    return {**image_env, **files.env_file_values(service), **files.service_environment(service, SHELL)}


@pytest.mark.parametrize("path", COMPOSE_FILES, ids=lambda path: path.name)
def test_compose_file_validates_against_the_compose_specification(path):
    errors = [f"{list(error.path)}: {error.message}" for error in validator().iter_errors(files.compose(path))]
    assert not errors


def test_the_schema_rejects_what_compose_would_reject():
    broken = copy.deepcopy(production())
    broken["services"]["web"]["depends_on"]["migrate"]["condition"] = "service_finished"
    broken["services"]["web"]["restart_policy"] = "always"
    assert len(list(validator().iter_errors(broken))) == 2


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_pass_only_variables_the_settings_read(name):
    passed = set(passed_variables(production()["services"][name]))
    unknown = passed - documented_variables()
    assert not unknown, f"{name} passes {sorted(unknown)}, which no setting reads (.env.example lists what they read)"


def test_development_web_passes_only_variables_the_settings_read():
    passed = set(files.service_environment(files.compose(files.COMPOSE_DEV)["services"]["web"]))
    assert passed <= documented_variables(), sorted(passed - documented_variables())


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_pass_every_required_production_variable_from_a_required_env_file(name):
    service = production()["services"][name]
    assert set(REQUIRED_PRODUCTION_VARIABLES) <= set(passed_variables(service))
    assert all(entry.get("required", True) for entry in service["env_file"]), "a missing secrets file must stop `up`"


def test_no_secret_is_written_in_either_compose_file():
    secret_name = re.compile(r"PASSWORD|SECRET|TOKEN|_KEY|DSN", re.IGNORECASE)
    for path in COMPOSE_FILES:
        for name, service in files.compose(path)["services"].items():
            for variable, value in files.service_environment(service, SHELL).items():
                credentials = urlsplit(value).password if "://" in value else None
                if path == files.COMPOSE_PRODUCTION:
                    assert not secret_name.search(variable), f"{name}: {variable} belongs in an env file"
                    assert not credentials, f"{name}: {variable} carries a password; move it to an env file"


def settings_seen_by(name: str, expression: str) -> str:
    """`expression` evaluated in production settings loaded from exactly what compose passes to service `name`."""
    env = passed_variables(production()["services"][name])
    env["DJANGO_SECRET_KEY"] = STRONG_SECRET  # the template's placeholder is refused, as it should be
    result = run_python(f"from django.conf import settings; print(repr(({expression})))", env=clean_env(**env))
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_web_loads_production_settings_with_requests_through_pgbouncer_behind_the_proxy():
    seen = settings_seen_by(
        "web",
        "settings.SETTINGS_MODULE, settings.DATABASES['default']['HOST'], settings.DATABASES['default']['PORT'], "
        "settings.DATABASES['default']['CONN_MAX_AGE'], settings.SECURE_PROXY_SSL_HEADER, str(settings.MEDIA_ROOT)",
    )
    assert seen == (
        "('config.settings.production', 'pgbouncer', 6432, 0, ('HTTP_X_FORWARDED_PROTO', 'https'), '/srv/media')"
    )


def test_worker_loads_production_settings_from_what_compose_passes_and_queries_through_pgbouncer():
    # A variable production requires but compose forgot would stop this load with the variable's name.
    seen = settings_seen_by(
        "worker",
        "settings.SETTINGS_MODULE, settings.DATABASES['default']['HOST'], "
        "settings.DATABASES['default']['CONN_MAX_AGE'], settings.DATABASES['default']['DISABLE_SERVER_SIDE_CURSORS']",
    )
    assert seen == "('config.settings.production', 'pgbouncer', 0, True)"


def test_migrate_reaches_postgres_directly_not_through_the_transaction_pooler():
    # apps/core/management/commands/migrate.py swaps MIGRATION_DATABASE (from DATABASE_DIRECT_URL) in for default.
    seen = settings_seen_by("migrate", "settings.MIGRATION_DATABASE['HOST'], settings.MIGRATION_DATABASE['PORT']")
    assert seen == "('db', 5432)"


def test_web_publishes_no_port_since_it_trusts_forwarding_headers_from_any_peer():
    web = production()["services"]["web"]
    assert web["environment"]["FORWARDED_ALLOW_IPS"] == "*"
    assert "ports" not in web and "network_mode" not in web


def test_migrate_runs_once_to_completion_before_web_and_worker_start():
    services = production()["services"]
    assert services["migrate"]["command"] == ["python", "manage.py", "migrate", "--noinput"]
    assert services["migrate"]["restart"] == "no"
    for name in ("web", "worker"):
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}


def test_every_dependency_waits_for_health_or_completion():
    for path in COMPOSE_FILES:
        for name, service in files.compose(path)["services"].items():
            for dependency, rule in (service.get("depends_on") or {}).items():
                assert isinstance(rule, dict), f"{name} → {dependency}: plain depends_on only waits for 'started'"
                assert rule["condition"] in ("service_healthy", "service_completed_successfully")
                dependency_service = files.compose(path)["services"][dependency]
                if rule["condition"] == "service_healthy":
                    check = dependency_service.get("healthcheck", {})
                    assert check.get("test") and not check.get("disable"), f"{dependency} has no healthcheck to wait on"


def test_web_is_served_on_the_port_nginx_proxies_to_and_checked_on_the_liveness_path():
    services = production()["services"]
    gunicorn_port = files.environment(files.final_stage())["GUNICORN_BIND"].rpartition(":")[2]
    assert services["web"]["expose"] == [gunicorn_port]
    upstream = services["nginx"]["environment"]["FOLIO_UPSTREAM"]
    assert upstream == f"web:{gunicorn_port}"
    assert "set $folio_web http://${FOLIO_UPSTREAM};" in files.NGINX_TEMPLATE.read_text()
    image_check = files.exec_form(files.only(files.final_stage(), "HEALTHCHECK"))
    assert services["web"]["healthcheck"]["test"] == ["CMD", *image_check]
    assert services["worker"]["healthcheck"] == {"disable": True}, "a worker has no HTTP port for the image's check"


def test_development_web_publishes_the_port_runserver_listens_on():
    web = files.compose(files.COMPOSE_DEV)["services"]["web"]
    listen = web["command"][-1].rpartition(":")[2]
    # On loopback only; the host port is a variable (test_compose_up.py serves through it for real).
    assert web["ports"] == [f"127.0.0.1:${{FOLIO_WEB_PORT:-{listen}}}:{listen}"]
    assert web["depends_on"] == {"db": {"condition": "service_healthy"}, "redis": {"condition": "service_healthy"}}
    assert web["volumes"] == [".:/app"]


def test_database_urls_reach_pgbouncer_and_postgres_with_the_database_credentials():
    app = files.read_env_file(files.ENV_FILE_TEMPLATES[".env.production"])
    database = files.read_env_file(files.ENV_FILE_TEMPLATES[".env.postgres"])
    pgbouncer = production()["services"]["pgbouncer"]["environment"]
    pooled, direct = urlsplit(app["DATABASE_URL"]), urlsplit(app["DATABASE_DIRECT_URL"])
    assert (pooled.hostname, pooled.port) == ("pgbouncer", int(pgbouncer["LISTEN_PORT"]))
    assert (direct.hostname, direct.port) == (pgbouncer["DB_HOST"], 5432)
    for url in (pooled, direct):
        assert (url.username, url.password, url.path) == (
            database["POSTGRES_USER"],
            database["POSTGRES_PASSWORD"],
            "/" + database["POSTGRES_DB"],
        )
    assert (database["DB_USER"], database["DB_PASSWORD"]) == (database["POSTGRES_USER"], database["POSTGRES_PASSWORD"])
    assert pgbouncer["POOL_MODE"] == "transaction"
    assert production()["services"]["web"]["environment"]["DB_POOL"] == "pgbouncer"


def test_nginx_serves_the_static_volume_the_static_service_fills():
    services = production()["services"]
    assert "static:/srv/static" in services["static"]["volumes"]
    assert services["static"]["command"] == ["bash", "deploy/docker/publish-static.sh", "/srv/static"]
    assert "static:/srv/static:ro" in services["nginx"]["volumes"]
    assert services["nginx"]["environment"]["FOLIO_SRV"] == "/srv"
    assert "location /static/ {\n        root ${FOLIO_SRV};" in files.NGINX_TEMPLATE.read_text()
    assert services["nginx"]["depends_on"]["static"] == {"condition": "service_completed_successfully"}


def test_media_lives_on_a_named_volume_at_media_root_never_in_the_container():
    compose = production()
    media_root = files.environment(files.final_stage())["MEDIA_ROOT"]
    for name in ("web", "worker"):
        mounts = dict(volume.split(":")[1::-1] for volume in compose["services"][name]["volumes"])
        assert mounts.get(media_root) in compose["volumes"], f"{name}: {media_root} is not on a named volume"
    assert compose["services"]["web"]["read_only"] is True, "nothing else may be written inside the container"


def test_env_files_with_secrets_are_kept_out_of_git():
    # Out of the image: test_image.py builds a context holding them through the real .dockerignore.
    for name in files.ENV_FILE_TEMPLATES:
        assert name in (ROOT / ".gitignore").read_text().split(), f"{name} is not git-ignored"
