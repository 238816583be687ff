"""Public pages: the list, an essay, robots.txt; plus the staff-only preview of any essay."""

from __future__ import annotations

from django.contrib.admin.views.decorators import staff_member_required
from django.core.paginator import EmptyPage, Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from .models import Essay
from .pagecache import cached_for_readers, numbered_pages, one_page

ESSAYS_PER_PAGE = 10

# The list's cache key; a page number that is not canonical is a 404, not another entry.
list_page = numbered_pages("page")


def page_number(request: HttpRequest) -> int:
    list_page(request)
    return int(request.GET.get("page", "1"))


@require_safe
@cached_for_readers(list_page)
def essay_list(request: HttpRequest) -> HttpResponse:
    # The list shows excerpts, never the stored HTML, the row's longest column.
    essays = Essay.objects.published().select_related("author").defer("rendered_html")
    paginator = Paginator(essays, ESSAYS_PER_PAGE, allow_empty_first_page=True)
    try:
        page = paginator.page(page_number(request))
    except EmptyPage as exc:
        raise Http404("No such page.") from exc
    return render(request, "content/essay_list.html", {"page": page, "essays": page.object_list})


def _render_essay(request: HttpRequest, essay: Essay, *, preview: bool = False) -> HttpResponse:
    # The neighbours are links: their title and slug, not their bodies nor their authors (every cache miss pays
    # for these two queries, and a body may be long).
    visible = Essay.objects.published().only("title", "slug")
    context = {
        "essay": essay,
        "preview": preview,
        "older": visible.before(essay).first() if essay.published_at else None,
        "newer": visible.after(essay).first() if essay.published_at else None,
    }
    return render(request, "content/essay_detail.html", context)


@require_safe
@cached_for_readers(one_page)
def essay_detail(request: HttpRequest, slug: str) -> HttpResponse:
    essay = get_object_or_404(Essay.objects.published().select_related("author"), slug=slug)
    return _render_essay(request, essay)


@require_safe
@never_cache
@staff_member_required
def essay_preview(request: HttpRequest, slug: str) -> HttpResponse:
    """Any essay, draft or scheduled, as readers will see it; staff only, never cached anywhere."""
    essay = get_object_or_404(Essay.objects.select_related("author"), slug=slug)
    response = _render_essay(request, essay, preview=True)
    response["X-Robots-Tag"] = "noindex"
    return response


@require_safe
def robots_txt(request: HttpRequest) -> HttpResponse:
    sitemap = request.build_absolute_uri(reverse("content:sitemap"))
    lines = ["User-agent: *", "Allow: /", f"Sitemap: {sitemap}", ""]
    return HttpResponse("\n".join(lines), content_type="text/plain; charset=utf-8")
