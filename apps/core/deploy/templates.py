"""Django's template engine over deploy/<kind>/templates/: a variable left unset is an error, not a blank.

Django's engine is used because nginx syntax never contains `{{` or `{%`.
"""

from __future__ import annotations

import re
from typing import Any

from django.template import Context, Engine

from config.env import BASE_DIR

DEPLOY_DIR = BASE_DIR / "deploy"
MISSING = "@@UNSET-VARIABLE@@"
# A DNS name of at least two labels (RFC 1123): what a certificate, server_name or route host can be.
HOST_NAME = re.compile(r"(?=.{1,253}\Z)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?", re.I)


class RenderError(ValueError):
    """A value the templates need is missing or unusable; the message says which."""


def check_host_name(domain: str, option: str = "--domain") -> None:
    if not HOST_NAME.fullmatch(domain or ""):
        raise RenderError(f"{option} {domain!r} is not a host name, e.g. folio.example.org")


def engine(kind: str) -> Engine:
    return Engine(
        dirs=[str(DEPLOY_DIR / kind / "templates")],
        autoescape=False,
        string_if_invalid=MISSING,
    )


def render(kind: str, names: list[str], context: dict[str, Any]) -> dict[str, str]:
    files = {}
    templates = engine(kind)
    for name in names:
        text = templates.get_template(name).render(Context(context, autoescape=False))
        if MISSING in text:
            raise RenderError(f"{kind}/templates/{name} uses a variable the renderer did not provide")
        files[name] = "\n".join(line.rstrip() for line in text.splitlines()).strip("\n") + "\n"
    return files
