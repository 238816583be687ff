"""The sitemap: an index at /sitemap.xml of sections of SECTION_SIZE essays, /sitemap-essays.xml?p=N.

Why sections of 1,000 and not one sitemap of up to 50,000 URLs (the protocol's limit, Django's default): Django
renders a sitemap in Python at about 0.15 ms an essay, and every saved essay makes the cached copy stale. At 100,000
essays one 50,000-URL page took 12 s of a worker, each time a crawler (or a deploy rehearsal's reader) asked while
an editor was saving; a section of 1,000 is a page's render, and search engines read an index as one sitemap.
"""

from __future__ import annotations

from datetime import datetime

from django.contrib.sitemaps import Sitemap
from django.contrib.sitemaps import views as sitemap_views
from django.db.models import Max
from django.http import HttpRequest, HttpResponse

from .models import Essay

SECTION_SIZE = 1000


class EssaySitemap(Sitemap):
    """Every visible essay and nothing else; the list pages are reachable from any of them."""

    limit = SECTION_SIZE

    def items(self):
        # What a URL and its lastmod need: never the bodies.
        return Essay.objects.published().only("slug", "updated_at").order_by("-published_at", "-id")

    def lastmod(self, item: Essay) -> datetime:
        return item.updated_at

    def get_latest_lastmod(self) -> datetime | None:
        # The index's lastmod: Django's own loads every essay to take the newest; the database does it in one query.
        return self.items().order_by().aggregate(latest=Max("updated_at"))["latest"]


SECTIONS = {"essays": EssaySitemap}


# The views the URLconf names (imported on a sitemap's first request: apps/core/http/deferred_views.py).
def index(request: HttpRequest) -> HttpResponse:
    return sitemap_views.index(request, SECTIONS, sitemap_url_name="content:sitemap_section")


def section(request: HttpRequest, section: str) -> HttpResponse:
    return sitemap_views.sitemap(request, SECTIONS, section=section)
