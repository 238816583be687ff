from __future__ import annotations

from datetime import datetime

from django.contrib.sitemaps import Sitemap

from .models import Essay


class EssaySitemap(Sitemap):
    """Every visible essay and nothing else; the list pages are reachable from any of them."""

    def items(self):
        return Essay.objects.published().order_by("-published_at", "-id")

    def lastmod(self, item: Essay) -> datetime:
        return item.updated_at
