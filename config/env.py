"""Environment reading for settings: django-environ with errors a user can act on.

Every settings module reads the environment through `env` from here, so a missing or malformed value
stops start-up with one sentence that names the variable and points at `.env.example`.
"""

from __future__ import annotations

import ipaddress
import re
import sys
from pathlib import Path
from typing import Any

import dj_database_url
import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
HINT = "see .env.example for what it should hold"

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off", ""})


class FolioEnv(environ.Env):
    """django-environ, but strict: `DEBUG=maybe` is an error, not a silent False."""

    def get_value(self, var, cast=None, default=environ.Env.NOTSET, parse_default=False):
        try:
            return super().get_value(var, cast=cast, default=default, parse_default=parse_default)
        except ImproperlyConfigured:
            raise ImproperlyConfigured(f"Set the {var} environment variable; {HINT}.") from None

    def bool(self, var, default=environ.Env.NOTSET):
        raw = self.str(var, default=None if default is environ.Env.NOTSET else str(default))
        if raw is None:
            raise ImproperlyConfigured(f"Set the {var} environment variable; {HINT}.")
        word = raw.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise ImproperlyConfigured(f"{var}={raw!r} is not a boolean: use true or false; {HINT}.")

    def int(self, var, default=environ.Env.NOTSET):
        raw = self.str(var, default=None if default is environ.Env.NOTSET else str(default))
        try:
            return int(raw)
        except (TypeError, ValueError):
            raise ImproperlyConfigured(f"{var}={raw!r} is not a whole number; {HINT}.") from None

    def float(self, var, default=environ.Env.NOTSET):
        raw = self.str(var, default=None if default is environ.Env.NOTSET else str(default))
        try:
            return float(raw)
        except (TypeError, ValueError):
            raise ImproperlyConfigured(f"{var}={raw!r} is not a number; {HINT}.") from None

    def seconds(self, var, default=environ.Env.NOTSET):
        """A duration: a finite number of seconds, 0 or more (0 usually turns the limit off)."""
        value = self.float(var, default=default)
        if not 0 <= value < float("inf"):
            raise ImproperlyConfigured(f"{var}={value!r} is not a number of seconds: use 0 or more; {HINT}.")
        return value

    def networks(self, var, default=environ.Env.NOTSET):
        """Addresses or networks, comma-separated, parsed once here: a typo stops start-up, not every request."""
        networks = []
        for item in self.list(var, default=default):
            try:
                networks.append(ipaddress.ip_network(item.strip(), strict=False))
            except ValueError:
                raise ImproperlyConfigured(
                    f"{var} holds {item!r}, which is not an IP address or network (e.g. 10.0.0.0/8); {HINT}."
                ) from None
        return tuple(networks)


env = FolioEnv()


# host:port, where the host is a name or an IPv4 address, or [an IPv6 address].
HOST_PORT = re.compile(r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})")


def web_hosts(name: str, values: list[str]) -> list[str]:
    """App hosts as nginx's `server` lines name them: host:port each, no duplicates (one would get twice the load)."""
    hosts = [value.strip() for value in values if value.strip()]
    for host in hosts:
        match = HOST_PORT.fullmatch(host)
        if match is None or not 0 < int(match.group(1)) < 65536:
            raise ImproperlyConfigured(f"{name}: {host!r} is not host:port (e.g. 10.0.0.11:8000); {HINT}.")
    if len(set(hosts)) != len(hosts):
        raise ImproperlyConfigured(f"{name} names a host twice: {', '.join(hosts)}; {HINT}.")
    return hosts


def require(name: str, value: Any) -> Any:
    """Stop start-up when a value a target needs was left empty."""
    if value in (None, "", []):
        raise ImproperlyConfigured(f"Set the {name} environment variable; {HINT}.")
    return value


def parse_database_url(name: str, url: str, **options: Any) -> dict[str, Any]:
    """A DATABASES entry from a URL, or an error that names the variable instead of a deep traceback."""
    try:
        config = dj_database_url.parse(url, **options)
    except (ValueError, KeyError) as exc:
        raise ImproperlyConfigured(
            f"{name} is not a database URL Folio understands ({exc}); "
            f"use postgres://USER:PASSWORD@HOST:5432/NAME or sqlite:///path; {HINT}."
        ) from None
    if not config.get("ENGINE") or (config["ENGINE"] != "django.db.backends.sqlite3" and not config.get("NAME")):
        raise ImproperlyConfigured(f"{name} names no database; {HINT}.")
    return config


# Placeholder and well-known keys that must never sign production cookies.
INSECURE_SECRET_PREFIXES = ("django-insecure", "change-me", "changeme", "secret", "build-only")
MIN_SECRET_LENGTH = 50


def check_secret_key(name: str, value: str) -> str:
    """Refuse a short or known-insecure secret key (what `check --deploy` would only warn about)."""
    lowered = value.lower()
    if lowered.startswith(INSECURE_SECRET_PREFIXES) or len(set(value)) < 5 or len(value) < MIN_SECRET_LENGTH:
        raise ImproperlyConfigured(
            f"{name} is too short or a known placeholder; generate one with "
            "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`; " + HINT + "."
        )
    return value


def running_collectstatic(argv: list[str] | None = None) -> bool:
    """True when this process is `manage.py collectstatic` (the one command DJANGO_BUILD may serve)."""
    argv = sys.argv if argv is None else argv
    return len(argv) > 1 and argv[1] == "collectstatic"
