"""`X-Folio-Release` on every response: which build answered, so a rolling release can be watched (and tested)
from the outside. A WSGI wrapper around the whole application (config/wsgi.py), because pages answered from the
shared page cache never reach Django's middleware, and that cache outlives a release. FOLIO_RELEASE is baked into
the Docker image by `make docker-release`; unset, nothing is wrapped."""

from __future__ import annotations

HEADER = "X-Folio-Release"


class ReleaseHeader:
    def __init__(self, application, release: str):
        self.application = application
        self.header = (HEADER, release)

    def __call__(self, environ, start_response):
        def start_with_release(status, headers, exc_info=None):
            return start_response(status, [*headers, self.header], exc_info)

        return self.application(environ, start_with_release)


def with_release_header(application, release: str):
    return ReleaseHeader(application, release) if release else application
