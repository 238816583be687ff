"""Folio served by the function Vercel's build made, a fresh process per request, against real PostgreSQL: both
vercel.json forms, each through its bundle's own handler (harness/vercel_build.py)."""

from __future__ import annotations

import re

import psycopg
import pytest

from harness.vercel_build import VERCEL_HOST
from tests.vercel.conftest import ADMIN_PASSWORD, ADMIN_USERNAME, CRON_SECRET, vercel_env

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def env(vercel_database_url: str) -> dict[str, str]:
    return vercel_env(DATABASE_URL=vercel_database_url)


def test_essay_list_and_essay_page_render_in_a_cold_function(vercel_build, env):
    listing = vercel_build.invoke("GET", "/", env=env)
    assert listing.status == 200, listing.log
    link = re.search(r'href="(/essays/[\w-]+/)"', listing.text)
    assert link, "the list links no essay"

    page = vercel_build.invoke("GET", link.group(1), env=env)
    assert page.status == 200, page.log
    assert "<article" in page.text or "<h1" in page.text


def test_health_reports_the_database_from_a_cold_function(vercel_build, env):
    response = vercel_build.invoke("GET", "/health/", env=env)
    assert response.status == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_any_vercel_app_host_is_served_and_a_foreign_host_is_refused(vercel_build, env):
    assert vercel_build.invoke("GET", "/", env=env, host="folio-abc123-team.vercel.app").status == 200
    assert vercel_build.invoke("GET", "/", env=env, host="folio.example.org").status == 200
    assert vercel_build.invoke("GET", "/", env=env, host="evil.example.com").status == 400


@pytest.mark.parametrize(
    ("path", "content_type"),
    [("/?page=2", "text/plain; charset=hex"), ("/health/live", "text/html; charset*=BOGUS''x")],
    ids=["non-text-charset", "unparseable-parameter"],
)
def test_an_unreadable_content_type_is_a_400_in_the_function_too(vercel_build, env, path, content_type):
    response = vercel_build.invoke("GET", path, env=env, headers={"content-type": content_type})
    assert response.status == 400, response.log
    assert "Traceback" not in response.log


def test_admin_login_post_body_and_cookies_survive_separate_invocations(vercel_build, env):
    """The POST body travels through the handler's event; the session lives in the database, not the process."""
    login_url = "/admin/login/"
    form = vercel_build.invoke("GET", login_url, env=env)
    assert form.status == 200
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
    body = f"csrfmiddlewaretoken={token}&username={ADMIN_USERNAME}&password={ADMIN_PASSWORD}&next=/admin/"
    login = vercel_build.invoke(
        "POST",
        login_url,
        env=env,
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

    dashboard = vercel_build.invoke(
        "GET", "/admin/", env=env, headers={"cookie": f"sessionid={login.cookies['sessionid']}"}
    )
    assert dashboard.status == 200
    assert "Site administration" in dashboard.text


def test_cron_runs_scheduled_jobs_once_per_day_across_cold_starts(vercel_build, env):
    with psycopg.connect(env["DATABASE_URL"], autocommit=True) as db:
        db.execute("DELETE FROM core_scheduledrun")  # each form starts from a day with nothing run yet
    cron_path = vercel_build.schedules[0]["path"]
    assert vercel_build.invoke("GET", cron_path, env=env).status == 401
    authorization = {"authorization": f"Bearer {CRON_SECRET}"}
    first = vercel_build.invoke("GET", cron_path, env=env, headers=authorization)
    second = vercel_build.invoke("GET", cron_path, env=env, headers=authorization)
    assert first.status == second.status == 200
    # settings.SCHEDULED_JOBS, in order
    assert first.json()["enqueued"] == ["clearsessions", "prune_task_results", "render_essays"]
    assert first.json()["ran"] >= 1
    assert second.json()["enqueued"] == []


def test_the_stylesheet_a_page_links_is_served_with_its_content_type(vercel_build, env):
    """Zero-config: the hashed name from the manifest, served from the CDN's files. Builds form: no collectstatic
    ran, so WhiteNoise serves it from the function, from the apps' static folders."""
    page = vercel_build.invoke("GET", "/", env=env)
    stylesheet = re.search(r'<link rel="stylesheet" href="(/static/css/folio[^"]*\.css)"', page.text)
    assert stylesheet, page.text[:2000]
    response = vercel_build.invoke("GET", stylesheet.group(1), env=env)
    assert response.status == 200, response.log[-2000:]
    assert response.header("Content-Type").startswith("text/css")
    expected = "static" if vercel_build.form == "zero-config" else "function"
    assert response.served_by == expected


def test_the_staticfiles_manifest_is_not_served(vercel_build, env):
    """Zero-config: collectstatic leaves the manifest among the CDN's files; vercel.json's one route answers 404
    before the CDN is looked at. Builds form: nothing is collected and the function serves no manifest."""
    response = vercel_build.invoke("GET", "/static/staticfiles.json", env=env)
    assert response.status == 404
    assert b'"paths"' not in response.body
