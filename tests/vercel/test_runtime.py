"""Folio served as Vercel's Python runtime serves it: a fresh process per request, against real PostgreSQL."""

from __future__ import annotations

import re

import psycopg
import pytest

from harness.vercel import CRON_SECRET, VERCEL_HOST, VercelRuntime, invoke, vercel_env
from tests.vercel.conftest import ADMIN_PASSWORD, ADMIN_USERNAME

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def env(vercel_database_url: str) -> dict[str, str]:
    return vercel_env(DATABASE_URL=vercel_database_url, STATIC_FROM_FINDERS="true")


@pytest.fixture(scope="module", params=["our-emulation", "vercel-runtime-shim"])
def runtime(request) -> VercelRuntime | None:
    """Every test runs through our emulation of the runtime, and again through Vercel's own shim."""
    return request.getfixturevalue("vercel_runtime") if request.param == "vercel-runtime-shim" else None


def test_essay_list_and_essay_page_render_in_a_cold_function(env, runtime):
    listing = invoke("GET", "/", env=env, runtime=runtime)
    assert listing.status == 200, listing.log
    link = re.search(r'href="(/essays/[\w-]+/)"', listing.text)
    assert link, "the list links no essay"

    page = invoke("GET", link.group(1), env=env, runtime=runtime)
    assert page.status == 200, page.log
    assert "<article" in page.text or "<h1" in page.text


def test_health_reports_the_database_from_a_cold_function(env, runtime):
    response = invoke("GET", "/health/", env=env, runtime=runtime)
    assert response.status == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_any_vercel_app_host_is_served_and_a_foreign_host_is_refused(env, runtime):
    assert invoke("GET", "/", env=env, runtime=runtime, host="folio-abc123-team.vercel.app").status == 200
    assert invoke("GET", "/", env=env, runtime=runtime, host="folio.example.org").status == 200
    assert invoke("GET", "/", env=env, runtime=runtime, host="evil.example.com").status == 400


def test_admin_login_post_body_and_cookies_survive_separate_invocations(env, runtime):
    """The POST body travels in wsgi.input (BytesIO); the session lives in the database, not the process."""
    login_url = f"/{env.get('ADMIN_URL', 'admin/')}login/"
    form = invoke("GET", login_url, env=env, runtime=runtime)
    assert form.status == 200
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
    body = f"csrfmiddlewaretoken={token}&username={ADMIN_USERNAME}&password={ADMIN_PASSWORD}&next=/admin/"
    login = invoke(
        "POST",
        login_url,
        env=env,
        runtime=runtime,
        body=body.encode(),
        headers={
            "content-type": "application/x-www-form-urlencoded",
            "cookie": f"csrftoken={form.cookies['csrftoken']}",
            # Django checks the Referer of HTTPS POSTs against the host: x-forwarded-proto made this HTTPS.
            "referer": f"https://{VERCEL_HOST}{login_url}",
        },
    )
    assert login.status == 302, login.log[-2000:]
    assert "sessionid" in login.cookies

    dashboard = invoke(
        "GET", "/admin/", env=env, runtime=runtime, headers={"cookie": f"sessionid={login.cookies['sessionid']}"}
    )
    assert dashboard.status == 200
    assert "Site administration" in dashboard.text


def test_cron_runs_scheduled_jobs_once_per_day_across_cold_starts(env, runtime):
    with psycopg.connect(env["DATABASE_URL"], autocommit=True) as db:
        db.execute("DELETE FROM core_scheduledrun")  # each runtime starts from a day with nothing run yet
    assert invoke("GET", "/cron/", env=env, runtime=runtime).status == 401
    authorization = {"authorization": f"Bearer {CRON_SECRET}"}
    first = invoke("GET", "/cron/", env=env, runtime=runtime, headers=authorization)
    second = invoke("GET", "/cron/", env=env, runtime=runtime, headers=authorization)
    assert first.status == second.status == 200
    assert first.json()["enqueued"] == ["clearsessions"]
    assert first.json()["ran"] >= 1
    assert second.json()["enqueued"] == []


def test_static_files_are_served_by_whitenoise_in_the_builds_routes_form(env, runtime):
    """deploy/vercel/vercel.json routes /static/ to the function and runs no collectstatic."""
    response = invoke("GET", "/static/css/folio.css", env=env, runtime=runtime)
    assert response.status == 200
    assert response.header("Content-Type").startswith("text/css")
    assert "No directory at" not in response.log
