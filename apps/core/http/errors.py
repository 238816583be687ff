"""The site's 500 handler: a friendly 503 when the database is unreachable, the usual 500 page otherwise; and its
400 handler, which says what to do when a form's upload could not even be read.

Django calls handler500 while the exception is being handled, from whichever layer raised it (a view, the
session middleware, a template), so one handler covers every page. "Unreachable" means Django's wrapped
OperationalError/InterfaceError: refused, timed out, pool exhausted, connection lost. A 503 with Retry-After
tells browsers, crawlers and load balancers that this will pass; a 500 would say the page is broken.
"""

from __future__ import annotations

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.template import loader
from django.views.decorators.csrf import requires_csrf_token
from django.views.defaults import bad_request, server_error

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


@requires_csrf_token
def handler400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    # Django's multipart parser reads each part's headers in at most 1,024 bytes: a file name longer than about
    # 940 characters (no file system holds one over 255) makes the whole form unreadable, before any form field or
    # upload handler sees it. The editor is told why; nothing was stored.
    if isinstance(exception, MultiPartParserError):
        return HttpResponse(loader.get_template("400_upload.html").render(), status=400)
    return bad_request(request, exception)
