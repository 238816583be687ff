"""Error reporting with sentry-sdk, started from CoreConfig.ready() only when SENTRY_DSN is set.

Nothing here is imported otherwise: sentry-sdk and its integrations cost a serverless cold start real time.
Each event carries the request id (the same one on the response header and the log lines) and the release.
"""

from __future__ import annotations

from typing import Any

import sentry_sdk
from django.conf import settings
from sentry_sdk.integrations.django import DjangoIntegration
from sentry_sdk.integrations.logging import LoggingIntegration

from apps.core.http.request_id import current_request_id


def add_request_id(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    request_id = current_request_id()
    if request_id:
        event.setdefault("tags", {})["request_id"] = request_id
    return event


def start() -> None:
    sentry_sdk.init(
        dsn=settings.SENTRY_DSN,
        # None lets sentry-sdk find a release itself (SOURCE_VERSION, the git checkout...).
        release=settings.SENTRY_RELEASE or None,
        environment=settings.SENTRY_ENVIRONMENT,
        traces_sample_rate=settings.SENTRY_TRACES_SAMPLE_RATE,
        integrations=[DjangoIntegration(), LoggingIntegration(event_level=None)],
        # Readers' IP addresses and cookies stay out of a third party's storage.
        send_default_pii=False,
        before_send=add_request_id,
    )
