"""The site's 500 handler: a friendly 503 when the database is unreachable, the usual 500 page otherwise.

Django calls handler500 while the exception is being handled, from whichever layer raised it (a view, the
session middleware, a template), so one handler covers every page. "Unreachable" means Django's wrapped
OperationalError/InterfaceError: refused, timed out, pool exhausted, connection lost. A 503 with Retry-After
tells browsers, crawlers and load balancers that this will pass; a 500 would say the page is broken.
"""

from __future__ import annotations

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.template import loader
from django.views.decorators.csrf import requires_csrf_token
from django.views.defaults import server_error

RETRY_AFTER_SECONDS = 30


def database_unavailable(exc: BaseException | None) -> bool:
    while exc is not None:
        if isinstance(exc, OperationalError | InterfaceError):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


@requires_csrf_token
def handler500(request: HttpRequest) -> HttpResponse:
    if not database_unavailable(sys.exc_info()[1]):
        return server_error(request)
    # No request context: context processors (the user, messages) would reach for the database again.
    response = HttpResponse(loader.get_template("503.html").render(), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response
