"""Build-time static collection as Vercel's Django builder does it (vercel/vercel, packages/python, django-static.ts):
read the static settings by importing the settings module, write a settings shim that star-imports it and points
STATIC_ROOT at the CDN output folder, run `manage.py collectstatic --noinput` with the shim, then copy the
manifest into the project's own STATIC_ROOT, which ships with the function."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from harness.project import PYTHON, ROOT, manage, run_in_project, run_python
from harness.vercel import vercel_env

# The builder's settings probe: a plain import, no django.setup().
SETTINGS_PROBE = """
import sys, json, importlib
mod = importlib.import_module(sys.argv[1])
keys = ["STATIC_URL", "STATIC_ROOT", "STORAGES", "WHITENOISE_USE_FINDERS"]
print(json.dumps({k: getattr(mod, k) for k in keys if hasattr(mod, k)}, default=str))
"""


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    """Run the build once: (CDN output folder, the function's STATIC_ROOT holding only the manifest, env)."""
    work = tmp_path_factory.mktemp("vercel-build")
    cdn = work / ".vercel" / "output" / "static" / "static"
    function_static_root = work / "function" / "staticfiles"
    (work / "_vercel_collectstatic_settings.py").write_text(
        f"from config.settings.vercel import *\nSTATIC_ROOT = {str(cdn)!r}\n"
    )
    # The builder sees the project's variables (a database it does not connect to) and runs from the project root.
    env = vercel_env(
        DATABASE_URL="postgres://folio@db.invalid:5432/folio",
        DJANGO_SETTINGS_MODULE="_vercel_collectstatic_settings",
        PYTHONPATH=f"{work}:{ROOT}",
    )
    result = manage("collectstatic", "--noinput", env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    function_static_root.mkdir(parents=True)
    shutil.copy(cdn / "staticfiles.json", function_static_root / "staticfiles.json")
    return cdn, function_static_root, env


def test_the_builder_sees_manifest_storage_and_a_static_root_so_it_runs_collectstatic():
    env = vercel_env(DATABASE_URL="postgres://folio@db.invalid:5432/folio")
    probe = run_in_project([PYTHON, "-c", SETTINGS_PROBE, "config.settings.vercel"], env=env)
    assert probe.returncode == 0, probe.stderr
    found = json.loads(probe.stdout)
    backend = found["STORAGES"]["staticfiles"]["BACKEND"]
    assert "ManifestStaticFilesStorage" in backend, "without a manifest storage the builder ships no manifest"
    assert "storages." not in backend, "django-storages would make the builder upload instead of using its CDN"
    assert found["STATIC_ROOT"] and found["STATIC_URL"] == "/static/"


def test_collectstatic_writes_hashed_and_compressed_files_and_the_manifest_to_the_cdn_folder(build):
    cdn, _, _ = build
    manifest = json.loads((cdn / "staticfiles.json").read_text())["paths"]
    hashed = manifest["css/folio.css"]
    assert re.fullmatch(r"css/folio\.[0-9a-f]{12}\.css", hashed)
    assert (cdn / hashed).exists()
    assert (cdn / f"{hashed}.gz").exists(), "WhiteNoise's compressed copy is missing"
    assert (cdn / manifest["admin/css/base.css"]).exists()


def test_the_function_resolves_hashed_urls_from_the_manifest_alone(build):
    _, function_static_root, env = build
    env = {**env, "DJANGO_SETTINGS_MODULE": "config.settings.vercel", "STATIC_ROOT": str(function_static_root)}
    code = (
        "import django; django.setup()\nfrom django.templatetags.static import static\nprint(static('css/folio.css'))\n"
    )
    result = run_python(code, env=env)
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"/static/css/folio\.[0-9a-f]{12}\.css", result.stdout.strip())
