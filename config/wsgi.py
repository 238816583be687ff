"""WSGI entry point for Gunicorn (`config.wsgi:application`) and Vercel (`app`, the name Vercel looks up).

Production settings by default; on Vercel, whose runtime sets `VERCEL=1`, the vercel settings instead.

The whole WSGI stack is built here, outermost first:
0. config.request_body.DrainUnreadBody: a request body an inner layer answered without reading is read after the
   answer, so Gunicorn closes the connection cleanly instead of resetting it under nginx (a random 502); and
   config.head_requests.NoBodyForHead: a HEAD's body is dropped here, not by Gunicorn with a WARNING each time.
1. config.proxy.TrustedProxyHeaders, where the settings ask for it (FILTER_FORWARDED_HEADERS: production, that is
   Gunicorn on a VM or in Docker): forwarding headers count only from FORWARDED_ALLOW_IPS. Not on Vercel, whose
   runtime builds the environ from its own edge's headers, nor under runserver or the test suite.
2. config.release: X-Folio-Release names the build that answered (set when FOLIO_RELEASE is).
3. The page cache's front door (apps/content/pagecache/front.py): cached pages answered before Django runs.
4. Django's handler (apps/core/http/unreadable.py's, whose requests never raise while they are built), which runs
   settings.MIDDLEWARE.
Beside the stack, config.query_deadline bounds every wait for PostgreSQL in this process (DB_QUERY_DEADLINE).
"""

from __future__ import annotations

import os

import django
from django.conf import settings

from config.head_requests import NoBodyForHead
from config.proxy import TrustedProxyHeaders, forwarded_allow_ips
from config.query_deadline import install as install_query_deadline
from config.release import with_release_header
from config.request_body import DrainUnreadBody
from config.startup import load_settings_or_exit

os.environ.setdefault(
    "DJANGO_SETTINGS_MODULE",
    "config.settings.vercel" if os.environ.get("VERCEL") else "config.settings.production",
)

# Read before the settings, which may add a .env file's values to the environment: the filter must trust exactly
# the peers Gunicorn's own forwarded_allow_ips does, and gunicorn.conf.py never sees .env.
proxy_addresses = forwarded_allow_ips()
load_settings_or_exit()

# The imports from config/ back into apps/, after the settings they read: the front door must sit outside Django's
# handler, which only this file wraps, while what it serves (entries, keys, the handoff with the view) is the page
# cache's and changes with it; the handler's request class pairs with a middleware in apps/core/http/. A dotted
# path in a setting would hide the same ties behind a string.
from apps.content.pagecache import PageCacheFront  # noqa: E402 - needs the settings loaded above
from apps.core.http.unreadable import ReadableWSGIHandler  # noqa: E402 - likewise

# get_wsgi_application(), with a handler whose requests never raise while Django builds them (a hostile
# Content-Type is a 400 from apps/core/http/unreadable.py, not Gunicorn's bare 500).
django.setup(set_prefix=False)
# Requests (and the health checks' threads) wait a bounded time for PostgreSQL; management commands don't.
install_query_deadline(settings.DATABASE_QUERY_DEADLINE)
application = ReadableWSGIHandler()
# Cached pages carry the answering build's X-Folio-Release too (config/release.py).
application = with_release_header(PageCacheFront(application), settings.RELEASE)
if settings.FILTER_FORWARDED_HEADERS:
    application = TrustedProxyHeaders(application, proxy_addresses)
application = DrainUnreadBody(NoBodyForHead(application))
app = application
