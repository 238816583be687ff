from __future__ import annotations

from django.urls import path

from apps.core.http.deferred_views import ImportedOnFirstRequest

from . import views
from .pagecache import cached_for_readers, numbered_pages, one_page

app_name = "content"

# Imported by their first request, not with the URLconf: a cold start that serves a page pays nothing for them.
feed = ImportedOnFirstRequest("apps.content.feeds.latest_essays")
sitemap_index = ImportedOnFirstRequest("apps.content.sitemaps.index")
sitemap_section = ImportedOnFirstRequest("apps.content.sitemaps.section")

urlpatterns = [
    path("", views.essay_list, name="essay_list"),
    path("essays/<slug:slug>/", views.essay_detail, name="essay_detail"),
    path("essays/<slug:slug>/preview/", views.essay_preview, name="essay_preview"),
    path("feed/", cached_for_readers(one_page)(feed), name="feed"),
    # An index of the sections' pages (sitemaps.py says why not one sitemap), each page cached like the list's.
    path("sitemap.xml", cached_for_readers(one_page)(sitemap_index), name="sitemap"),
    path("sitemap-<section>.xml", cached_for_readers(numbered_pages("p"))(sitemap_section), name="sitemap_section"),
    path("robots.txt", views.robots_txt, name="robots_txt"),
]
