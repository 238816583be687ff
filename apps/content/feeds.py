"""The Atom feed of the latest visible essays: summary for previews, the full sanitised body as content."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.syndication.views import Feed
from django.urls import reverse_lazy
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import escape

from .models import Essay

FEED_SIZE = 20


class AtomWithContent(Atom1Feed):
    """Django's Atom writer only knows <summary>; readers show <content> as the article."""

    def add_item_elements(self, handler: Any, item: dict[str, Any]) -> None:
        super().add_item_elements(handler, item)
        if item.get("content_html"):
            handler.addQuickElement("content", item["content_html"], {"type": "html"})


class LatestEssaysFeed(Feed):
    feed_type = AtomWithContent
    title = "Folio"
    subtitle = "Essays on building and deploying Django, published properly."
    link = reverse_lazy("content:essay_list")
    feed_url = reverse_lazy("content:feed")
    author_name = "Folio"

    def items(self) -> list[Essay]:
        return list(Essay.objects.published().select_related("author")[:FEED_SIZE])

    def item_title(self, item: Essay) -> str:
        return item.title

    def item_description(self, item: Essay) -> str:
        # type="html": the excerpt is plain text, so it is escaped once to stay text in a reader.
        return escape(item.excerpt)

    def item_author_name(self, item: Essay) -> str:
        return item.author.get_full_name() or item.author.get_username()

    def item_pubdate(self, item: Essay) -> datetime | None:
        return item.published_at

    def item_updateddate(self, item: Essay) -> datetime:
        return max(item.updated_at, item.published_at) if item.published_at else item.updated_at

    def item_extra_kwargs(self, item: Essay) -> dict[str, Any]:
        return {"content_html": str(item.html)}


# The view the URLconf names (imported on the feed's first request: apps/core/http/deferred_views.py).
latest_essays = LatestEssaysFeed()
