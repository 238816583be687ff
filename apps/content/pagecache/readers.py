"""The view side: `cached_for_readers` serves and stores anonymous GETs under the key a view names: `one_page` for
a view with one page per path, `numbered_pages(parameter)` for a paginated one."""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone

from . import handoff
from .entry import HEADER, Entry, Pending, hit_headers, page_headers
from .store import CacheUnavailable, page_key, pages

# The only spelling of a page number: "01", "+1" or "1.0" would each be another cache entry.
PAGE_NUMBER = re.compile(r"[1-9][0-9]{0,5}")

View = Callable[..., HttpResponse]


class NextDue:
    """When the next scheduled essay appears, asked of the database once per page generation, not on every miss.

    Only a write to the essays can bring it sooner or push it later, and every such write changes the generation
    (generation.py); once the moment itself has passed, the one after it is asked for. One value per process, set
    in one assignment: threads that race both ask and store the same answer.
    """

    def __init__(self) -> None:
        self._known: tuple[int, float | None] | None = None  # (generation, timestamp or None for none scheduled)

    def at(self, generation: int, now: float) -> float | None:
        known = self._known
        if known is not None and known[0] == generation and (known[1] is None or known[1] > now):
            return known[1]
        from apps.content.models import Essay

        due = Essay.objects.next_scheduled_at()
        answer = due.timestamp() if due is not None else None
        self._known = (generation, answer)
        return answer


next_due = NextDue()


def seconds_valid(now: float, generation: int) -> float:
    """How long a page rendered now may be served: PAGE_CACHE_SECONDS, or less if an essay is due sooner."""
    seconds = float(settings.PAGE_CACHE_SECONDS)
    if seconds <= 0:
        return seconds  # nothing is stored: when the next essay is due does not matter
    if (due := next_due.at(generation, now)) is not None:
        seconds = min(seconds, due - now)
    return seconds


def page_variant(request: HttpRequest, parameter: str = "page") -> str | None:
    """The part of the query that selects another page of the same path: "" for the first, "<parameter>=N" after
    it; None when the number is not canonical ("01", "1.0" and "abc" would each be one more entry)."""
    if not request.META.get("QUERY_STRING"):
        return ""  # the common case, without parsing a query string
    raw = request.GET.get(parameter, "1")
    if not PAGE_NUMBER.fullmatch(raw):
        return None
    return "" if raw == "1" else f"{parameter}={raw}"


def one_page(request: HttpRequest, **kwargs: Any) -> str:
    """The key of a view with one page per path: any query string is the same page."""
    return ""


def numbered_pages(parameter: str) -> Callable[..., str]:
    """The key of a view paginated by the query's `parameter` (page_variant); a number that is not canonical is a
    404, not one more entry."""

    def key(request: HttpRequest, **kwargs: Any) -> str:
        variant = page_variant(request, parameter)
        if variant is None:
            raise Http404("No such page.")
        return variant

    return key


def _entry(response: HttpResponse, generation: int, valid_until: float) -> Entry | None:
    # A cookie (CSRF, session, messages) is per reader; a streamed or error response is not worth keeping.
    if response.status_code != 200 or response.streaming or response.cookies:
        return None
    headers = page_headers(response.items())
    if headers is None:
        return None
    return Entry(generation, valid_until, response.content, headers, whole_stack=False)


def _replay(entry: Entry) -> HttpResponse:
    # The same headers the front door sends for this entry (entry.hit_headers); the middleware then adds its own.
    return HttpResponse(entry.content, headers=hit_headers(entry))


def cached_for_readers(key: Callable[..., str]) -> Callable[[View], View]:
    """Serve anonymous GETs of the decorated view from the cache. An entry is named by the path and
    `key(request, **kwargs)` — `one_page` or `numbered_pages(parameter)` — which may raise Http404 for input that
    names no page, and may read nothing but the path and the query string: the front door remembers each name by
    those (front.NAME_INPUTS). Logged-in users are neither served nor stored."""

    def decorator(view: View) -> View:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method != "GET" or request.user.is_authenticated:
                response = view(request, *args, **kwargs)
                response[HEADER] = "bypass"
                return response
            name = page_key(request, f"{request.path}|{key(request, **kwargs)}")
            now = timezone.now().timestamp()
            try:
                generation, entry = pages.lookup(name, now)
            except CacheUnavailable:
                response = view(request, *args, **kwargs)
                response[HEADER] = "unavailable"
                return response
            if entry is not None:
                return _replay(entry)
            # Generation and lifetime are taken before rendering: a save or a due essay during the render
            # then makes this entry stale instead of letting it hide the change.
            valid_for = seconds_valid(now, generation)
            response = view(request, *args, **kwargs)
            if not getattr(response, "is_rendered", True):
                response.render()  # a TemplateResponse (Django's sitemap views): its body is what is stored
            response[HEADER] = "miss"
            if valid_for > 0 and (entry := _entry(response, generation, now + valid_for)):
                pending = Pending(name, entry, math.ceil(valid_for))
                if not handoff.leave(pending):
                    pages.store(pending)
            return response

        # The front answers only for paths that resolve to a cached view, under the name this key gives.
        wrapper.folio_page_cache = key
        return wrapper

    return decorator
