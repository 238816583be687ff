"""A rule is a function that finds one problem; `rule` registers it as the Django system check for one id.

The function returns the message (or several, or None when all is well); the id's level, topic, targets and the
runs that report it come from ids.CHECK_IDS, so a rule cannot report an id it was not given, nor be tagged
otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.core.checks import Error, Warning, register

from .ids import ALWAYS, CHECK_IDS, PREFLIGHT
from .targets import current_run

Found = str | Iterable[str] | None


def no_inputs(**kwargs: Any) -> tuple:
    return ()


class Rule:
    """The registered check for one id. `reads` turns Django's keyword arguments into the function's arguments."""

    def __init__(self, check_id: str, find: Callable[..., Found], *, hint: str, reads: Callable[..., tuple]) -> None:
        self.id = check_id
        self.entry = CHECK_IDS[check_id]
        self.find = find
        self.hint = hint
        self.reads = reads

    def messages(self, *args: Any) -> list[Error | Warning]:
        found = self.find(*args)
        texts = [] if found is None else [found] if isinstance(found, str) else list(found)
        kind = Error if self.id.split(".", 1)[1].startswith("E") else Warning
        return [kind(text, hint=self.hint, id=self.id) for text in texts]

    def __call__(self, app_configs: Any = None, **kwargs: Any) -> list[Error | Warning]:
        if self.entry.runs == PREFLIGHT and current_run() is None:
            return []
        return self.messages(*self.reads(**kwargs))

    def __repr__(self) -> str:
        return f"<Rule {self.id}: {self.find.__module__}.{self.find.__name__}>"


def rule(check_id: str, *, hint: str, reads: Callable[..., tuple] = no_inputs) -> Callable[..., Rule]:
    """Register the decorated function as the system check reporting `check_id`."""

    def decorate(find: Callable[..., Found]) -> Rule:
        check = Rule(check_id, find, hint=hint, reads=reads)
        entry = check.entry
        register(check, "folio", entry.topic, *entry.targets, deploy=entry.runs != ALWAYS)
        return check

    return decorate
