"""The recorder behind every `problems.all() == []`: it forgives a load the page's own navigation cut off, and
nothing else — a favicon that answers 404, a stylesheet that fails or a console error still fail a test."""

from __future__ import annotations

import pytest

from .conftest import ABORTED

pytestmark = pytest.mark.browser

FAVICON = "**/static/img/favicon*.svg"
STYLESHEET = "**/static/css/folio*.css"


def test_a_load_cut_off_by_the_next_navigation_is_not_a_problem(live_site, reader):
    page, problems = reader
    held, failures = [], []
    # The favicon never answers, so the next navigation is sure to find it in flight and cut it off.
    page.route(FAVICON, lambda route: held.append(route))
    page.on("requestfailed", lambda request: failures.append((request.url, request.failure)))

    with page.expect_request(FAVICON):
        page.goto(live_site.url("/"))
    with page.expect_event("requestfailed", predicate=lambda request: "favicon" in request.url):
        page.goto(live_site.url("/?page=2"))

    # The cut really happened (so this test can fail), and the recorder let it pass.
    assert [failure for url, failure in failures if "favicon" in url] == [ABORTED]
    assert held
    assert problems.all() == []


def test_a_favicon_that_answers_404_is_a_problem(live_site, reader):
    page, problems = reader
    page.route(FAVICON, lambda route: route.fulfill(status=404, body="missing"))

    with page.expect_response(FAVICON):
        page.goto(live_site.url("/"))

    assert [entry for entry in problems.all() if entry.startswith("404 ") and "favicon" in entry]


def test_a_stylesheet_aborted_on_the_current_page_is_a_problem(live_site, reader):
    page, problems = reader
    # The same error Chromium gives a load cut off by navigation, but on the page being read: it must count.
    page.route(STYLESHEET, lambda route: route.abort("aborted"))

    with page.expect_event("requestfailed", predicate=lambda request: request.url.endswith(".css")):
        page.goto(live_site.url("/"))

    assert [entry for entry in problems.all() if ".css" in entry and ABORTED in entry]


def test_a_console_error_is_a_problem(live_site, reader):
    page, problems = reader
    page.goto(live_site.url("/"))

    with page.expect_console_message(lambda message: message.type == "error"):
        page.evaluate("console.error('the recorder must hear this')")

    assert "the recorder must hear this" in problems.all()
