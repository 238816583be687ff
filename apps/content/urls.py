from __future__ import annotations

from django.urls import path

from . import views

app_name = "content"

urlpatterns = [
    path("", views.essay_list, name="essay_list"),
    path("essays/<slug:slug>/", views.essay_detail, name="essay_detail"),
]
