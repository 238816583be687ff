from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from .models import Essay


def essay_list(request: HttpRequest) -> HttpResponse:
    essays = Essay.objects.published().select_related("author")
    return render(request, "content/essay_list.html", {"essays": essays})


def essay_detail(request: HttpRequest, slug: str) -> HttpResponse:
    essay = get_object_or_404(Essay.objects.published().select_related("author"), slug=slug)
    return render(request, "content/essay_detail.html", {"essay": essay})
