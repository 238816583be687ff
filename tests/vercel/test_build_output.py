"""What Vercel's own build (`vercel build --prod`, harness/vercel_build.py) makes of Folio, for both vercel.json
forms: the function's entrypoint, runtime and duration, the routes and schedules, the CDN's files, the bundle."""

from __future__ import annotations

import json
import re

from harness.vercel_build import CLI_DIR, FORMS, ROOT

# The function each form is meant to build: always Folio's WSGI stack through config/wsgi.py (the builds form's
# file imports it), never config/asgi.py, which skips start-up checks, the page cache and vercel.json's duration.
INTENDED_ENTRYPOINT = {"zero-config": "config/wsgi.py", "builds-form": "deploy/vercel/wsgi.py"}
# Nothing the site runs: the bundle is unpacked on every cold start.
NEVER_BUNDLED = ("tests/", "bench/", ".ci/", "harness/", "node_modules/", ".venv/", "requirements/", "deploy/nginx/")
NEVER_BUNDLED_FILES = {"README.md", "BENCHMARKS.md", "uv.lock", "Dockerfile", "Makefile", "docker-compose.yml"}


def vercel_json(form: str) -> dict:
    return json.loads((ROOT / FORMS[form]).read_text())


def declared_max_duration(form: str) -> int:
    config = vercel_json(form)
    functions = config.get("functions") or config["builds"][0]["config"]["functions"]
    return functions[INTENDED_ENTRYPOINT[form]]["maxDuration"]


def test_the_built_function_is_the_wsgi_entrypoint_folio_intends(vercel_build):
    assert vercel_build.entrypoint == INTENDED_ENTRYPOINT[vercel_build.form], vercel_build.trampoline
    assert vercel_build.trampoline["VARIABLE_NAME"] in {"app", "application"}
    assert vercel_build.vc_config["handler"] == "vc__handler__python.vc_handler"
    assert vercel_build.vc_config["runtime"] == "python" + (ROOT / ".python-version").read_text().strip()


def test_the_built_function_carries_the_max_duration_vercel_json_sets(vercel_build):
    assert vercel_build.max_duration is not None, "vercel.json's maxDuration matched no function"
    assert vercel_build.max_duration == declared_max_duration(vercel_build.form)


def test_every_path_the_cdn_does_not_hold_reaches_the_function(vercel_build):
    destinations = [route["dest"].lstrip("/") for route in vercel_build.config["routes"] if route.get("dest")]
    assert vercel_build.function_name in destinations
    catch_all = next(
        route
        for route in vercel_build.config["routes"]
        if route.get("dest", "").lstrip("/") == vercel_build.function_name
    )
    for path in ["/", "/essays/on-gardens/", "/cron/", "/admin/login/"]:
        assert re.fullmatch(catch_all["src"], path)


def test_the_schedules_vercel_json_declares_reach_the_build_output(vercel_build):
    assert vercel_build.schedules == vercel_json(vercel_build.form)["schedules"]


def test_zero_config_collects_hashed_compressed_static_files_into_the_cdn(vercel_builds):
    build = vercel_builds["zero-config"]
    hashed = [name for name in build.static_files if re.fullmatch(r"static/css/folio\.[0-9a-f]{12}\.css", name)]
    assert len(hashed) == 1, build.static_files[:20]
    assert f"{hashed[0]}.gz" in build.static_files, "WhiteNoise's compressed copy is missing"
    assert "staticfiles/staticfiles.json" in build.bundle, "the function cannot resolve hashed names"


def test_the_builds_form_collects_nothing_and_ships_no_stale_manifest(vercel_builds):
    build = vercel_builds["builds-form"]
    assert not [name for name in build.static_files if name.startswith("static/")]
    assert not [name for name in build.bundle if name.startswith("staticfiles/")]


def test_the_bundle_holds_no_tests_benchmarks_or_ci_files(vercel_build):
    shipped = [name for name in vercel_build.bundle if name.startswith(NEVER_BUNDLED)]
    assert shipped == [], f"{len(shipped)} files that the site never runs, e.g. {shipped[:5]}"
    assert NEVER_BUNDLED_FILES.isdisjoint(vercel_build.bundle)
    assert "config/wsgi.py" in vercel_build.bundle and "apps/content/views.py" in vercel_build.bundle


def test_the_bundle_runs_the_vercel_runtime_the_builder_pins(vercel_build):
    """The handler is the builder's own vercel-runtime (0.23.2 with @vercel/python 25.0.0); the tests install no
    other copy, so the version they exercise is the one Vercel deploys."""
    builder = (CLI_DIR / "node_modules" / "@vercel" / "python" / "dist" / "index.js").read_text()
    pinned = re.search(r'VERCEL_RUNTIME_VERSION = "([^"]+)"', builder).group(1)
    assert vercel_build.vendored_version("vercel_runtime") == pinned
