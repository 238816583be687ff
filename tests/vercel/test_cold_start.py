"""A lean cold start: loading the built function (its handler module imports config.wsgi and sets Django up)
pulls in no heavy package.

Each of these costs tens to hundreds of milliseconds on every cold start; they load on first use instead
(boto3 with the first upload or media URL, Pillow with an image, markdown with an essay page, sentry only
with a DSN). bench/bench_cold_start.py measures what each one costs. Views almost no first request asks for load
with their own first request (apps/core/http/deferred_views.py).
"""

from __future__ import annotations

import json

import pytest

from tests.vercel.conftest import vercel_env

HEAVY = ["boto3", "botocore", "storages.backends.s3", "PIL", "sentry_sdk", "redis", "markdown", "nh3", "gunicorn"]
# The feed, the sitemaps and the cron endpoint with the task worker it drains by.
DEFERRED_VIEWS = [
    "apps.content.feeds",
    "apps.content.sitemaps",
    "django.contrib.sitemaps.views",
    "apps.core.scheduling.cron",
    "django_tasks_db.management.commands.db_worker",
]


@pytest.fixture(scope="module")
def loaded_modules(vercel_builds) -> set[str]:
    env = vercel_env(DATABASE_URL="postgres://folio@db.invalid:5432/folio")
    result = vercel_builds["zero-config"].run(
        "import json, sys\nimport vc__handler__python\nprint(json.dumps(sorted(sys.modules)))", env=env
    )
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


@pytest.fixture(scope="module")
def loaded_by_the_first_request(vercel_builds) -> set[str]:
    """What the function holds once its first request has loaded the URLconf (resolving a path is that step)."""
    env = vercel_env(DATABASE_URL="postgres://folio@db.invalid:5432/folio")
    code = (
        "import json, sys\nimport vc__handler__python\nfrom django.urls import resolve\n"
        "resolve('/essays/an-essay/')\nprint(json.dumps(sorted(sys.modules)))"
    )
    result = vercel_builds["zero-config"].run(code, env=env)
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("package", HEAVY)
def test_loading_the_vercel_function_does_not_import(package, loaded_modules):
    assert package not in loaded_modules, f"{package} is imported while the function loads"


@pytest.mark.parametrize("module", DEFERRED_VIEWS)
def test_an_essay_page_request_leaves_other_views_for_their_own_first_request(module, loaded_by_the_first_request):
    assert "apps.content.urls" in loaded_by_the_first_request
    assert module not in loaded_by_the_first_request, f"{module} is imported by the URLconf"


def test_loading_the_vercel_function_sets_django_up(loaded_modules):
    assert "apps.content.models" in loaded_modules
