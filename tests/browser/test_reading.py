"""A reader in Chromium: the list and an essay look as designed, with no console errors, on the real server."""

from __future__ import annotations

import re

import pytest

from .conftest import open_page

pytestmark = pytest.mark.browser

PAPER_LIGHT = "rgb(251, 248, 243)"
PAPER_DARK = "rgb(23, 20, 18)"
HASHED_STYLESHEET = re.compile(r"/static/css/folio\.[0-9a-f]{12}\.css$")


def computed(page, selector: str, prop: str) -> str:
    return page.eval_on_selector(selector, "(el, prop) => getComputedStyle(el).getPropertyValue(prop)", prop)


def test_list_page_loads_the_hashed_compressed_stylesheet(live_site, reader, artifacts_dir):
    page, problems = reader
    stylesheets = []
    page.on("response", lambda response: response.url.endswith(".css") and stylesheets.append(response))

    response = page.goto(live_site.url("/"))

    assert response.status == 200
    # The page is judged under the site's real CSP: any inline script or style would be a console error below.
    csp = response.headers.get("content-security-policy", "")
    assert "'self'" in csp and "unsafe-inline" not in csp
    assert [HASHED_STYLESHEET.search(sheet.url) is not None for sheet in stylesheets] == [True]
    sheet = stylesheets[0]
    assert sheet.status == 200
    assert sheet.headers.get("content-encoding") in {"br", "gzip"}
    assert "immutable" in sheet.headers.get("cache-control", "")
    # The stylesheet really applied: colours, fonts and the reading measure come from folio.css only.
    assert computed(page, "body", "background-color") == PAPER_LIGHT
    assert "Iowan Old Style" in computed(page, "body", "font-family")
    assert computed(page, ".essay-list", "max-width") == "640px"
    assert computed(page, ".site-nav ul", "display") == "flex"
    assert page.locator(".essay-list > li").count() == 10
    page.screenshot(path=artifacts_dir / "essay-list.png", full_page=True)
    assert problems.all() == []


def test_reader_opens_an_essay_from_the_list(live_site, reader, artifacts_dir):
    page, problems = reader
    page.goto(live_site.url("/"))
    title = page.locator(".essay-list h2 a").first.inner_text()

    page.locator(".essay-list h2 a").first.click()
    page.wait_for_load_state("load")

    assert page.locator("h1").inner_text() == title
    assert page.title() == f"{title} — Folio"
    assert float(computed(page, "h1", "font-size").removesuffix("px")) > 1.8 * float(
        computed(page, "body", "font-size").removesuffix("px")
    )
    # The Markdown arrived rendered: paragraphs and a list, not asterisks and dashes.
    assert page.locator(".prose p").count() >= 2
    assert page.locator(".prose li").count() >= 2
    assert page.locator("nav.essay-nav a[rel=prev]").count() == 1
    page.screenshot(path=artifacts_dir / "essay-detail.png", full_page=True)
    assert problems.all() == []


def test_pagination_leads_to_the_older_essays(live_site, reader):
    page, problems = reader
    page.goto(live_site.url("/"))

    page.get_by_role("link", name="Older essays").click()
    page.wait_for_load_state("load")

    assert page.url.endswith("/?page=2")
    assert page.locator(".essay-list > li").count() == 2
    assert page.get_by_text("Page 2 of 2").is_visible()
    assert problems.all() == []


def test_skip_link_is_the_first_stop_for_keyboard_readers(live_site, reader):
    page, problems = reader
    page.goto(live_site.url("/"))

    page.keyboard.press("Tab")

    focused = page.evaluate("document.activeElement.className")
    assert focused == "skip-link"
    assert page.locator(".skip-link").bounding_box()["y"] >= 0
    assert problems.all() == []


def test_dark_mode_and_a_phone_screen(live_site, browser, artifacts_dir):
    context, page, problems = open_page(
        browser, color_scheme="dark", viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True
    )
    try:
        page.goto(live_site.url("/"))
        href = page.locator(".essay-list h2 a").first.get_attribute("href")
        page.goto(live_site.url(href))

        assert computed(page, "body", "background-color") == PAPER_DARK
        # Nothing wider than the screen: no sideways scrolling on a phone.
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        page.screenshot(path=artifacts_dir / "essay-detail-phone-dark.png", full_page=True)
        assert problems.all() == []
    finally:
        context.close()


def test_missing_page_is_the_designed_404(live_site, reader, artifacts_dir):
    page, problems = reader

    response = page.goto(live_site.url("/essays/no-such-essay/"))

    assert response.status == 404
    assert page.locator("h1").inner_text() == "This page is not here"
    assert computed(page, "body", "background-color") == PAPER_LIGHT
    page.screenshot(path=artifacts_dir / "not-found.png")
    assert problems.all(allow_status=frozenset({404})) == []


def test_the_console_check_would_catch_an_inline_style(live_site, reader):
    """The control for every `problems.all() == []` above: under the site's CSP an inline style is refused,
    and the refusal reaches the recorded console errors."""
    page, problems = reader
    page.goto(live_site.url("/"))

    with page.expect_console_message(lambda message: message.type == "error"):
        page.evaluate("""() => {
            const style = document.createElement("style");
            style.textContent = "body { background: red }";
            document.head.appendChild(style);
        }""")

    assert computed(page, "body", "background-color") == PAPER_LIGHT
    assert any("style" in message.lower() for message in problems.all())
