"""The strict Content-Security-Policy holds in a real browser: no page of Folio or its admin trips it.

Chromium reports a blocked inline style, script or foreign resource both on the console and as a
`securitypolicyviolation` event; the page records both. Uses the browser tier's Chromium and live site.
"""

from __future__ import annotations

import pytest

from harness.live_site import start_site
from harness.project import manage
from tests.browser.conftest import browser, open_page  # noqa: F401 - `browser` is a fixture used by name
from tests.operations.conftest import ADMIN_URL

pytestmark = pytest.mark.browser

EDITOR, PASSWORD = "csp-editor", "a long passphrase for the csp test"
RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (event) => {
    const where = `${event.sourceFile}:${event.lineNumber}`;
    window.__csp.push(`${event.violatedDirective} blocked ${event.blockedURI || "inline"} (${where})`);
});
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    with start_site(tmp_path_factory.mktemp("csp-site"), {"ADMIN_URL": ADMIN_URL}) as live:
        env = {**live.env, "DJANGO_SUPERUSER_USERNAME": EDITOR, "DJANGO_SUPERUSER_PASSWORD": PASSWORD}
        env["DJANGO_SUPERUSER_EMAIL"] = "csp@example.org"
        result = manage("createsuperuser", "--noinput", "--skip-checks", env=env)
        assert result.returncode == 0, result.stderr
        yield live


@pytest.fixture
def visitor(browser):  # noqa: F811 - the imported fixture, requested by name
    context, page, problems = open_page(browser)
    context.add_init_script(RECORD_VIOLATIONS)
    try:
        yield page, problems
    finally:
        context.close()


def violations(page, problems) -> list[str]:
    console = [message for message in problems.console_errors if "Content Security Policy" in message]
    return [*console, *page.evaluate("window.__csp")]


def test_the_csp_header_is_strict_on_every_page(site, visitor):
    page, _problems = visitor
    response = page.goto(site.url("/"))
    policy = response.headers["content-security-policy"]
    assert "'unsafe-inline'" not in policy
    assert "'nonce-" not in policy
    assert "script-src 'self'" in policy
    assert "style-src 'self'" in policy


def test_reader_pages_raise_no_csp_violation(site, visitor, artifacts_dir):
    page, problems = visitor
    page.goto(site.url("/"))
    assert violations(page, problems) == []
    page.locator("main a[href^='/essays/']").first.click()
    page.wait_for_load_state("load")
    assert page.url.startswith(site.url("/essays/"))
    assert violations(page, problems) == []
    page.goto(site.url("/?page=2"))  # the demo's dozen essays make two pages
    assert page.locator("main a[href^='/essays/']").count() > 0
    assert violations(page, problems) == []
    page.goto(site.url("/essays/no-such-essay/"))
    assert violations(page, problems) == []
    page.screenshot(path=artifacts_dir / "csp-essay-404.png", full_page=True)


def test_admin_pages_raise_no_csp_violation(site, visitor, artifacts_dir):
    page, problems = visitor
    page.goto(site.url(f"/{ADMIN_URL}login/"))
    assert violations(page, problems) == []
    page.fill("#id_username", EDITOR)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_load_state("load")
    assert page.url == site.url(f"/{ADMIN_URL}")
    assert violations(page, problems) == []
    # The change form is the admin's heaviest page: prepopulated slug, date widgets, fieldsets.
    page.goto(site.url(f"/{ADMIN_URL}content/essay/add/"))
    page.locator("#id_title").press_sequentially("Typed in the browser")
    assert violations(page, problems) == []
    assert page.input_value("#id_slug") == "typed-in-the-browser"  # the admin's own script ran
    page.goto(site.url(f"/{ADMIN_URL}content/essay/"))
    assert violations(page, problems) == []
    page.screenshot(path=artifacts_dir / "csp-admin-essays.png", full_page=True)
    # The staff preview, reached from the admin's list as an editor would.
    slug = page.locator("a[href$='/preview/']").first.get_attribute("href")
    preview = page.goto(site.url(slug))
    assert preview.status == 200
    assert violations(page, problems) == []
