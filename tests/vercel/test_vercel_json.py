"""Both vercel.json forms checked against the code they point at."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import resolve

from apps.core.scheduling import cron
from harness.project import ROOT

ZERO_CONFIG = ROOT / "vercel.json"
BUILDS_FORM = ROOT / "deploy" / "vercel" / "vercel.json"


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def wsgi_file() -> str:
    """The file WSGI_APPLICATION names: what Vercel's Django detection turns into the function."""
    module, _, _ = settings.WSGI_APPLICATION.rpartition(".")
    return module.replace(".", "/") + ".py"


def test_wsgi_application_setting_names_a_file_that_exports_app_and_application():
    path = ROOT / wsgi_file()
    assert path.exists()
    assigned = {
        target.id
        for node in ast.parse(path.read_text()).body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    assert {"app", "application"} <= assigned


def test_zero_config_vercel_json_carries_only_git_schedules_function_settings_and_the_manifest_route():
    config = load(ZERO_CONFIG)
    assert set(config) - {"$schema"} == {"git", "schedules", "functions", "routes"}, "builds turn detection off"
    assert config["routes"] == [{"src": r"/static/staticfiles\.json", "status": 404}], "routes only hide the manifest"
    assert list(config["functions"]) == [wsgi_file()]


def test_builds_form_sends_every_path_to_its_entrypoint_which_serves_folios_wsgi_app():
    config = load(BUILDS_FORM)
    (build,) = config["builds"]
    assert build["use"] == "@vercel/python"
    entrypoint = build["src"]
    assert "from config.wsgi import app, application" in (ROOT / entrypoint).read_text()
    assert "functions" not in config, "Vercel rejects functions together with builds"
    assert list(build["config"]["functions"]) == [entrypoint], "maxDuration must name the built file"
    for path in ["/", "/essays/on-gardens/", "/static/css/folio.css", "/static/admin/css/base.css", "/cron/"]:
        route = next(route for route in config["routes"] if re.fullmatch(route["src"], path))
        assert route["dest"] == entrypoint, f"{path} goes to {route['dest']}"


BOTH_FORMS = pytest.mark.parametrize("path", [ZERO_CONFIG, BUILDS_FORM], ids=["zero-config", "builds-form"])


@BOTH_FORMS
def test_every_schedule_calls_the_cron_endpoint_with_get(path):
    schedules = load(path)["schedules"]
    assert schedules
    for job in schedules:
        assert resolve(job["path"]).func.view is cron.run, job
        assert len(job["schedule"].split()) == 5, job
        # The endpoint is require_GET, and a path schedule's method defaults to POST (Vercel's build-utils types).
        assert job["requestMethod"] == "GET", job


@BOTH_FORMS
def test_no_legacy_crons_next_to_schedules(path):
    # Both keys would call /cron/ twice per slot: harmless (the endpoint is idempotent per slot) but wasteful.
    assert "crons" not in load(path)


@BOTH_FORMS
def test_git_auto_deploys_are_off_so_only_the_workflow_deploys_after_migrating(path):
    # .github/workflows/vercel.yml builds, migrates, then deploys and promotes; a Git push must not go live first.
    assert load(path)["git"] == {"deploymentEnabled": False}


def test_cron_budget_leaves_headroom_below_the_function_max_duration():
    max_duration = load(ZERO_CONFIG)["functions"][wsgi_file()]["maxDuration"]
    # One task that starts just before the deadline may still run; a fifth of the limit is left for it.
    assert 0.8 * max_duration >= settings.TASKS_CRON_BUDGET


def test_env_example_documents_the_same_cron_budget_as_the_settings_default():
    example = (ROOT / ".env.example").read_text()
    documented = float(re.search(r"^TASKS_CRON_BUDGET=(.+)$", example, flags=re.MULTILINE).group(1))
    assert documented == settings.TASKS_CRON_BUDGET
