from __future__ import annotations

from django.contrib.sitemaps.views import sitemap
from django.urls import path

from . import views
from .feeds import LatestEssaysFeed
from .pagecache import cached_for_readers
from .sitemaps import EssaySitemap

app_name = "content"

urlpatterns = [
    path("", views.essay_list, name="essay_list"),
    path("essays/<slug:slug>/", views.essay_detail, name="essay_detail"),
    path("essays/<slug:slug>/preview/", views.essay_preview, name="essay_preview"),
    path("feed/", cached_for_readers(lambda request: "")(LatestEssaysFeed()), name="feed"),
    path("sitemap.xml", sitemap, {"sitemaps": {"essays": EssaySitemap}}, name="sitemap"),
    path("robots.txt", views.robots_txt, name="robots_txt"),
]
