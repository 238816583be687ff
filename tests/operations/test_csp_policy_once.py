"""The CSP header Folio sends is django-csp's own policy, built once; per-view customisation still works."""

from __future__ import annotations

import pytest
from csp.decorators import csp_update
from csp.utils import build_policy
from django.http import HttpResponse
from django.test import RequestFactory

from apps.core.http.csp import CSPMiddleware

pytestmark = pytest.mark.django_db


def test_every_page_carries_django_csps_policy_unchanged(client):
    for path in ("/", "/no-such-page/", "/robots.txt"):
        assert client.get(path)["Content-Security-Policy"] == build_policy(), path


def test_a_view_that_customises_its_policy_gets_its_own_header():
    @csp_update({"img-src": ["https://images.example.org"]})
    def view(request):
        return HttpResponse("ok")

    middleware = CSPMiddleware(view)
    response = middleware(RequestFactory().get("/"))

    assert "https://images.example.org" in response["Content-Security-Policy"]
    assert "https://images.example.org" not in middleware.policy


def test_a_nonce_asked_for_after_the_header_is_written_is_an_error():
    middleware = CSPMiddleware(lambda request: HttpResponse("ok"))
    request = RequestFactory().get("/")
    middleware(request)
    with pytest.raises(Exception, match="not available after the CSP header"):
        str(request.csp_nonce)
