"""EMAIL_URL and ADMINS made into Django's mail settings, or one sentence that names the variable.

django-environ parses the URL's scheme, host and port but leaves its query in an OPTIONS dict no Django setting
reads: `?timeout=5` used to change nothing, so a hanging SMTP server could hold an error page forever. Here the
query options become the settings they name, and anything that is not a working mail URL stops start-up (a typo
in EMAIL_URL would otherwise surface as silence the first time the site fails). Errors never echo the URL: it may
hold the SMTP password.
"""

from __future__ import annotations

import math
import re
from email.utils import getaddresses
from typing import Any
from urllib.parse import parse_qs, urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

from config.env import HINT

SMTP_SCHEMES = frozenset({"smtp", "smtps", "smtp+tls", "smtp+ssl"})
# The query options a mail URL may carry, and the setting each becomes.
QUERY_SETTINGS = {"timeout": "EMAIL_TIMEOUT", "ssl_certfile": "EMAIL_SSL_CERTFILE", "ssl_keyfile": "EMAIL_SSL_KEYFILE"}
EXAMPLE_URL = "smtp+tls://USER:PASSWORD@HOST:587?timeout=5 or consolemail://"
# One @, something on each side, no spaces: enough to catch a name without its address, not a full RFC 5322 check.
ADDRESS = re.compile(r"[^@\s]+@[^@\s]+")


def email_settings(name: str, url: str, *, default_timeout: float) -> dict[str, Any]:
    """EMAIL_BACKEND, EMAIL_HOST, EMAIL_PORT, the credentials, TLS, EMAIL_TIMEOUT (`default_timeout` unless the
    URL's ?timeout= says otherwise) and the certificate files, from one URL."""

    def refuse(reason: str) -> ImproperlyConfigured:
        return ImproperlyConfigured(
            f"{name} is not a mail URL Folio understands ({reason}); use {EXAMPLE_URL}; {HINT}."
        )

    try:
        parsed = environ.Env.email_url_config(url)
    except ImproperlyConfigured:
        scheme = urlsplit(url).scheme
        known = ", ".join(f"{known}://" for known in sorted(environ.Env.EMAIL_SCHEMES))
        said = f"{scheme}:// is not a mail scheme" if scheme else "it has no scheme"
        raise refuse(f"{said}; the schemes are {known}") from None
    except ValueError as exc:  # urllib's port parsing: "Port could not be cast to integer value as 'x'"
        raise refuse(str(exc)) from None
    if urlsplit(url).scheme in SMTP_SCHEMES and not parsed["EMAIL_HOST"]:
        raise refuse("it names no host")

    given: dict[str, str] = {}
    for option, values in parse_qs(urlsplit(url).query, keep_blank_values=True).items():
        if option.lower() not in QUERY_SETTINGS:
            raise refuse(f"?{option}= is not an option; use {', '.join(f'?{known}=' for known in QUERY_SETTINGS)}")
        given[QUERY_SETTINGS[option.lower()]] = values[-1]
    timeout = default_timeout
    if "EMAIL_TIMEOUT" in given:
        try:
            timeout = float(given["EMAIL_TIMEOUT"])
        except ValueError:
            timeout = math.nan
        if not (0 < timeout < math.inf):
            raise refuse(f"?timeout={given['EMAIL_TIMEOUT']} is not a number of seconds above 0")

    return {
        "EMAIL_BACKEND": parsed["EMAIL_BACKEND"],
        "EMAIL_HOST": parsed["EMAIL_HOST"] or "localhost",
        "EMAIL_PORT": parsed["EMAIL_PORT"] or 25,
        "EMAIL_HOST_USER": parsed["EMAIL_HOST_USER"] or "",
        "EMAIL_HOST_PASSWORD": parsed["EMAIL_HOST_PASSWORD"] or "",
        "EMAIL_FILE_PATH": parsed["EMAIL_FILE_PATH"],
        "EMAIL_USE_TLS": parsed.get("EMAIL_USE_TLS", False),
        "EMAIL_USE_SSL": parsed.get("EMAIL_USE_SSL", False),
        "EMAIL_TIMEOUT": timeout,
        "EMAIL_SSL_CERTFILE": given.get("EMAIL_SSL_CERTFILE") or None,
        "EMAIL_SSL_KEYFILE": given.get("EMAIL_SSL_KEYFILE") or None,
    }


def admins(name: str, value: str) -> list[tuple[str, str]]:
    """Django 5.2's ADMINS, (name, address) pairs, from `Ada Lovelace <ada@example.org>, grace@example.org`."""
    if not value.strip():
        return []
    pairs = getaddresses([value])
    for _person, address in pairs:
        if not ADDRESS.fullmatch(address):
            said = f"{address!r} is not an e-mail address" if address else "it cannot be read as a list of addresses"
            raise ImproperlyConfigured(
                f"{name}: {said}; write comma-separated addresses, each optionally with a name: "
                f'Ada Lovelace <ada@example.org>, grace@example.org (quote a name holding a comma: "Lovelace, Ada" '
                f"<ada@example.org>); {HINT}."
            )
    return pairs
