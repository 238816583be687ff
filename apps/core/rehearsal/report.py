"""What the rehearsal found, per phase and release: failures (5xx, connection errors, timeouts, and a 4xx only when
the same request succeeded before the migration) with the first of each kind and its traceback from that release's
log; the longest write wait; each migration's duration and locks; lost and corrupted writes. Text or JSON."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from .traffic import Result

PHASES = ("before", "migrate", "both", "next")
PHASE_NAMES = {
    "before": "before (previous release alone)",
    "migrate": "during migrate (previous release alone, next release's migrations running)",
    "both": "both releases (traffic split)",
    "next": "next release alone (previous stopping)",
}
# Gunicorn's access lines (gunicorn.conf.py's access_log_format) start with the client address.
ACCESS_LINE = re.compile(r'^\S+ - \S+ \[[^]]+\] "')
TRACEBACK_LINES = 60
# The last line of a traceback: "psycopg.errors.UndefinedColumn: column … does not exist".
EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Warning|Column|Table)\b.*")


def failure_kind(result: Result, succeeded_before: set[str]) -> str | None:
    if result.status is None:
        if result.error.startswith("hook:"):
            return "hook"
        return "timeout" if result.error == "timeout" else "connection"
    if result.status >= 500:
        return "5xx"
    if result.status >= 400 and result.request in succeeded_before:
        return "4xx"
    return None


def traceback_for(log: str, path: str) -> tuple[str, str]:
    """The traceback Django logged for `path` (its first), and its last line: the error itself."""
    lines = log.splitlines()
    for index, line in enumerate(lines):
        if "Internal Server Error" in line and path.split("?")[0] in line:
            block = [line]
            for following in lines[index + 1 : index + TRACEBACK_LINES]:
                if ACCESS_LINE.match(following):
                    break
                block.append(following)
            errors = [entry for entry in block if EXCEPTION_LINE.match(entry)]
            return "\n".join(block), (errors[-1] if errors else "")
    return "", ""


@dataclass
class Report:
    previous: dict[str, str]
    next: dict[str, str]
    precheck: list[str] = field(default_factory=list)
    phases: list[dict[str, Any]] = field(default_factory=list)
    migrations: list[dict[str, Any]] = field(default_factory=list)
    migrate_failure: dict[str, str] | None = None
    long_locks: list[dict[str, Any]] = field(default_factory=list)
    writes: dict[str, Any] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    unread: dict[str, str] = field(default_factory=dict)
    rows: int = 0
    essays: int = 0  # in the scratch database once filled (demo, generated, or from the dump)
    max_wait: float = 1.0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems

    def as_json(self) -> str:
        data = {key: value for key, value in self.__dict__.items()}
        data["passed"] = self.passed
        return json.dumps(data, indent=2, default=str)

    def as_text(self) -> str:
        out = [
            f"Rehearsal: {_release(self.previous)} → {_release(self.next)}, {self.essays} essays "
            f"({self.rows} generated), {self.seconds:.0f} s",
            "",
            "Pre-check (previous release's models against the schema after the next release's migrations):",
        ]
        out += [f"  ✗ {finding}" for finding in self.precheck] or ["  ok"]
        out += ["", "Migrations:"]
        for migration in self.migrations:
            out.append(f"  {migration['name']}: {migration['seconds']:.2f} s")
            for lock in migration["locks"]:
                # Only locks that make writers wait: one on a relation the migration itself made is never one
                # (migration.Lock.blocks_writes).
                if lock["blocks_writes"]:
                    out.append(f"    {lock['mode']} on {lock['relation']} for {lock['held_seconds']:.2f} s")
        if self.migrate_failure:
            out.append(f"  ✗ migrate failed: {self.migrate_failure['error']}")
            if self.migrate_failure.get("blocked_by"):
                out.append(f"    blocked by: {self.migrate_failure['blocked_by']}")
        for lock in self.long_locks:
            out.append(
                f"  ✗ long lock: {lock['migration']} held {lock['mode']} on {lock['relation']} for "
                f"{lock['held_seconds']:.2f} s; longest write wait meanwhile {lock['write_wait']:.2f} s"
            )
        out += ["", "Traffic:"]
        for phase in self.phases:
            out.append(
                f"  {PHASE_NAMES[phase['phase']]}, {phase['release']}: {phase['requests']} requests, "
                f"{phase['writes']} writes, {sum(phase['failures'].values())} failed, "
                f"longest write wait {phase['longest_write_wait']:.2f} s"
            )
            for kind, first in phase["first_failures"].items():
                out.append(
                    f"    ✗ {phase['failures'][kind]} × {kind}, first: {first['request']} ({first['path']}) → "
                    f"{first['status'] or first['error']}"
                    + (f" ({first['error_line']})" if first["error_line"] else "")
                )
        for path, answer in self.unread.items():
            out.append(f"  not read: {path} answered {answer} before the rehearsal began")
        for label, reason in self.skipped.items():
            out.append(f"  skipped {label}: cannot fill {reason}")
        writes = self.writes
        out += [
            "",
            f"Writes: {writes.get('recorded', 0)} recorded, {writes.get('rows', 0)} rows read back by the next "
            f"release: {writes.get('lost', 0)} lost, {writes.get('corrupted', 0)} corrupted",
        ]
        for problem in writes.get("problems", [])[:10]:
            detail = f" field {problem['field']}: stored {problem['read']!r}, expected {problem['written']!r}"
            out.append(
                f"  ✗ {problem['kind']} {problem['model']} {problem['pk']}"
                + (detail if problem["field"] else "")
                + f" (last written by the {problem['release']} release, phase {problem['phase']})"
            )
        out += ["", "PASSED" if self.passed else "FAILED: " + "; ".join(self.problems)]
        return "\n".join(out)


def _release(release: dict[str, str]) -> str:
    return release["ref"] if release["commit"] == release["ref"] else f"{release['ref']} ({release['commit'][:10]})"
