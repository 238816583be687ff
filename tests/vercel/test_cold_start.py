"""A lean cold start: loading the built function (its handler module imports config.wsgi and sets Django up)
pulls in no heavy package.

Each of these costs tens to hundreds of milliseconds on every cold start; they load on first use instead
(boto3 with the first upload or media URL, Pillow with an image, markdown with an essay page, sentry only
with a DSN). bench/bench_cold_start.py measures what each one costs.
"""

from __future__ import annotations

import json

import pytest

from tests.vercel.conftest import vercel_env

HEAVY = ["boto3", "botocore", "storages.backends.s3", "PIL", "sentry_sdk", "redis", "markdown", "nh3", "gunicorn"]


@pytest.fixture(scope="module")
def loaded_modules(vercel_builds) -> set[str]:
    env = vercel_env(DATABASE_URL="postgres://folio@db.invalid:5432/folio")
    result = vercel_builds["zero-config"].run(
        "import json, sys\nimport vc__handler__python\nprint(json.dumps(sorted(sys.modules)))", env=env
    )
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("package", HEAVY)
def test_loading_the_vercel_function_does_not_import(package, loaded_modules):
    assert package not in loaded_modules, f"{package} is imported while the function loads"


def test_loading_the_vercel_function_sets_django_up(loaded_modules):
    assert "apps.content.models" in loaded_modules
