"""A view whose module is imported by its first request, not by the URLconf.

Loading the URLconf is part of every cold start (a Vercel function's first request). Views that almost no first
request asks for — the cron endpoint (with the task worker it drains by), the feed (syndication and its XML
writer), the sitemaps — would otherwise be imported into every fresh process for nothing.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.functional import cached_property
from django.utils.module_loading import import_string


class ImportedOnFirstRequest:
    """Stands in the URLconf for the view at `dotted_path`. The view must not need attributes Django reads off the
    callback before calling it (`csrf_exempt`): these are only seen on the stand-in."""

    def __init__(self, dotted_path: str) -> None:
        self.dotted_path = dotted_path

    @cached_property
    def view(self) -> Any:
        # Two threads may both import on the first requests; the import system makes that safe and the same view.
        return import_string(self.dotted_path)

    def __call__(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self.view(request, *args, **kwargs)

    def __repr__(self) -> str:
        return f"<view {self.dotted_path}, imported on its first request>"
