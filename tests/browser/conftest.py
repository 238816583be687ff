"""Headless Debian Chromium (never Playwright's own download) driving the live site of harness/live_site.py.

Every page records its console errors, uncaught exceptions and failed requests; a test asserts they are empty.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from harness.availability import unavailable
from harness.live_site import LiveSite, start_site

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def live_site(tmp_path_factory) -> Iterator[LiveSite]:
    with start_site(tmp_path_factory.mktemp("live-site")) as site:
        yield site


@pytest.fixture(scope="module")
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("playwright is not installed (make install)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


# Chromium's word for a request the page itself gave up on. A new navigation gives up on every load still in
# flight for the document it replaces (a favicon the test's next `page.goto` cut off); that is not a problem of the
# site. The same error on a request of the *current* document is (a stylesheet cut off, say), so it still counts.
ABORTED = "net::ERR_ABORTED"


@dataclass
class Problems:
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    # How many main-frame navigations have started, and the count each request was issued under: a request
    # issued before the latest navigation belongs to a document the page has already left.
    navigations: int = 0
    issued_under: dict[object, int] = field(default_factory=dict)

    def request_started(self, request, main_frame) -> None:
        if request.is_navigation_request() and request.frame == main_frame:
            self.navigations += 1
        self.issued_under[request] = self.navigations

    def request_failed(self, request) -> None:
        superseded = self.issued_under.pop(request, self.navigations) < self.navigations
        if request.failure == ABORTED and superseded and not request.is_navigation_request():
            return
        self.failed_requests.append(f"0 {request.url} {request.failure}")

    def all(self, *, allow_status: frozenset[int] = frozenset()) -> list[str]:
        failed = [entry for entry in self.failed_requests if int(entry.split()[0]) not in allow_status]
        console = [
            message
            for message in self.console_errors
            if not any(f"status of {status}" in message for status in allow_status)
        ]
        return [*console, *self.page_errors, *failed]


def open_page(browser, **context_options):
    """A fresh context (no shared cookies or cache) and a page that records its problems."""
    context = browser.new_context(**{"viewport": {"width": 1280, "height": 900}, **context_options})
    context.set_default_timeout(15_000)
    page = context.new_page()
    problems = Problems()
    page.on("console", lambda message: message.type == "error" and problems.console_errors.append(message.text))
    page.on("pageerror", lambda error: problems.page_errors.append(str(error)))

    def record_failure(response) -> None:
        if response.status >= 400:
            problems.failed_requests.append(f"{response.status} {response.url}")

    page.on("request", lambda request: problems.request_started(request, page.main_frame))
    page.on("requestfinished", lambda request: problems.issued_under.pop(request, None))
    page.on("response", record_failure)
    page.on("requestfailed", problems.request_failed)
    return context, page, problems


@pytest.fixture
def reader(browser):
    """(page, problems) for a desktop reader in light mode."""
    context, page, problems = open_page(browser, color_scheme="light")
    try:
        yield page, problems
    finally:
        context.close()
