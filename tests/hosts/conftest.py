"""The several-hosts test bed (harness/hosts.py), once per run of tests/hosts, and a visitor's browser for it.

Each test leaves the bed as it found it: both app hosts running with the bed's settings, every link up and
clean, nginx rendering both hosts in; the `bed` fixture puts back whatever a test changed.
"""

from __future__ import annotations

import io
import json
import re
import time
from collections.abc import Iterator
from html import unescape

import pytest
from PIL import Image

from harness.availability import unavailable
from harness.hosts import (
    ADMIN_PASSWORD,
    ADMIN_URL,
    ADMIN_USERNAME,
    APPS,
    DOMAIN,
    Bed,
    Response,
    hosts_bed,
    render_lb_site,
)
from harness.netns import available
from harness.project import ROOT

# A reader's sequence of requests lands on both hosts within a few (nginx's round robin); more is a failure.
ATTEMPTS = 8
SLUGS = [essay["slug"] for essay in json.loads((ROOT / "apps/content/demo/essays.json").read_text())]
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@pytest.fixture(scope="package")
def hosts() -> Iterator[Bed]:
    reason = available()
    if reason:
        unavailable(reason)
    with hosts_bed() as bed:
        print(f"\nseveral-hosts bed: set-up {bed.timings['set-up']:.1f} s "
              f"(collectstatic, migrate, seed: {bed.timings['collectstatic+migrate+seed']:.1f} s)")  # fmt: skip
        yield bed


@pytest.fixture(scope="package")
def editor(hosts: Bed) -> Browser:
    """An editor logged in once for the package (nginx allows ten login attempts a minute from one address)."""
    browser = Browser(hosts)
    browser.log_in(on="app1")
    return browser


@pytest.fixture
def bed(hosts: Bed) -> Iterator[Bed]:
    yield hosts
    restore(hosts)


def restore(bed: Bed) -> None:
    for name in APPS:
        bed.net.link_up(name)
        bed.net.clear_loss(name)
        app = bed.apps.get(name)
        if app is None or app.env != bed.app_env(name) or app.process.poll() is not None:
            bed.stop_app(name)
            bed.start_app(name)
    render_lb_site(bed)
    bed.reload_nginx()


class Browser:
    """One visitor through the load balancer: cookies kept, CSRF token and Referer sent as a browser would."""

    def __init__(self, bed: Bed) -> None:
        self.bed = bed
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, *, body: bytes | None = None, content_type: str = "") -> Response:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}
        if method == "POST":
            headers |= {
                "Content-Type": content_type,
                "Referer": f"https://{DOMAIN}{path}",
                "Origin": f"https://{DOMAIN}",
            }
        response = self.bed.request(method, path, headers=headers, body=body)
        self.cookies.update(response.cookies)
        return response

    def until_host(self, host: str, method: str, path: str, **kwargs) -> Response:
        """The request, repeated until `host` answers it (GETs only: each try is a new request)."""
        for _ in range(ATTEMPTS):
            response = self.request(method, path, **kwargs)
            if response.release == host:
                return response
        raise AssertionError(f"{host} answered none of {ATTEMPTS} tries of {method} {path}")

    def form_token(self, path: str) -> str:
        page = self.request("GET", path)
        assert page.status == 200, (page.status, page.text[:500])
        return unescape(TOKEN.search(page.text).group(1))

    def shift(self) -> None:
        """One request more before the next try: nginx's round robin then sends that try to the other host."""
        self.bed.request("GET", "/health/live")

    def log_in(self, *, on: str) -> Response:
        """Logged in by a POST that `on` answered (a login another host answered is a login too; tried again)."""
        path = f"/{ADMIN_URL}login/"
        for _ in range(ATTEMPTS // 2):
            self.cookies.clear()  # a fresh visitor each try: a login another host answered redirects the form
            token = self.form_token(path)
            body = f"csrfmiddlewaretoken={token}&username={ADMIN_USERNAME}&password={ADMIN_PASSWORD}&next=/{ADMIN_URL}"
            response = self.request("POST", path, body=body.encode(), content_type="application/x-www-form-urlencoded")
            assert response.status == 302, (response.status, response.text[:1000])
            if response.release == on:
                return response
            self.shift()
        raise AssertionError(f"no login POST landed on {on}")

    def logged_in_on(self, host: str) -> bool:
        page = self.until_host(host, "GET", f"/{ADMIN_URL}")
        assert page.status in (200, 302), page.status
        return page.status == 200


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 5), (200, 80, 40)).save(buffer, format="PNG")
    return buffer.getvalue()


def essay_form(bed: Bed, *, title: str, slug: str, cover: bytes | None = None) -> dict:
    with bed.database.connect("folio") as db:
        author = db.execute("SELECT id FROM users_user WHERE username = %s", [ADMIN_USERNAME]).fetchone()[0]
    fields = {
        "title": title,
        "slug": slug,
        "author": str(author),
        "body": "A short essay about a harbour at dawn.",
        "status": "published",
        "published_at_0": "2026-01-02",
        "published_at_1": "08:00:00",
        "_save": "Save",
    }
    if cover is not None:
        upload = io.BytesIO(cover)
        upload.name = "harbour.png"
        fields["cover"] = upload
    return fields


def essays_with_slug(bed: Bed, slug: str) -> int:
    with bed.database.connect("folio") as db:
        return db.execute("SELECT count(*) FROM content_essay WHERE slug = %s", [slug]).fetchone()[0]


def wait_for(condition, *, within: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + within
    while not (result := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {within:.0f} s")
        time.sleep(interval)
    return result
