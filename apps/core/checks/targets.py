"""Which deploy target a check run speaks about, and which checks `preflight --target` runs for it.

`preflight --target vm` says so; a plain `manage.py check` only knows what the settings say: Vercel's settings
(SERVERLESS) mean Vercel, anything else a server, where a VM and a container look alike (None).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.checks import Tags

from .ids import VERCEL


@dataclass
class CheckRun:
    target: str | None
    # What one probe learned and the next may reuse within the run (the database's answer, once).
    found: dict[str, Any] = field(default_factory=dict)


_run: contextvars.ContextVar[CheckRun | None] = contextvars.ContextVar("folio_check_run", default=None)

# Django's own checks, under every tag but `database`: a `--tag` run drops every check carrying none of the named
# tags, and security.W018 (DEBUG) or a models error must not vanish from a preflight. Django's `database` checks
# would open a connection outside the probes, and an unreachable database must be a finding (E041), not a crash.
DJANGO_TAGS = frozenset(value for name, value in vars(Tags).items() if not name.startswith("_")) - {Tags.database}


def preflight_tags(target: str) -> set[str]:
    """The tags a preflight for `target` runs: folio's rules for that target, and Django's own checks."""
    return {target, *DJANGO_TAGS}


@contextlib.contextmanager
def checking_for(target: str) -> Iterator[CheckRun]:
    token = _run.set(CheckRun(target))
    try:
        yield _run.get()
    finally:
        _run.reset(token)


def current_run() -> CheckRun | None:
    return _run.get()


def current() -> str | None:
    """The run's target: preflight's, else Vercel under Vercel's settings, else None (a VM or a container)."""
    run = _run.get()
    if run is not None and run.target:
        return run.target
    return VERCEL if getattr(settings, "SERVERLESS", False) else None


def on_vercel() -> bool:
    return current() == VERCEL
