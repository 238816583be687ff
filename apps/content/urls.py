from __future__ import annotations

from django.contrib.sitemaps import views as sitemaps
from django.urls import path

from . import views
from .feeds import LatestEssaysFeed
from .pagecache import cached_for_readers, numbered_pages, one_page
from .sitemaps import SECTIONS

app_name = "content"

urlpatterns = [
    path("", views.essay_list, name="essay_list"),
    path("essays/<slug:slug>/", views.essay_detail, name="essay_detail"),
    path("essays/<slug:slug>/preview/", views.essay_preview, name="essay_preview"),
    path("feed/", cached_for_readers(one_page)(LatestEssaysFeed()), name="feed"),
    # An index of the sections' pages (sitemaps.py says why not one sitemap), each page cached like the list's.
    path(
        "sitemap.xml",
        cached_for_readers(one_page)(sitemaps.index),
        {"sitemaps": SECTIONS, "sitemap_url_name": "content:sitemap_section"},
        name="sitemap",
    ),
    path(
        "sitemap-<section>.xml",
        cached_for_readers(numbered_pages("p"))(sitemaps.sitemap),
        {"sitemaps": SECTIONS},
        name="sitemap_section",
    ),
    path("robots.txt", views.robots_txt, name="robots_txt"),
]
