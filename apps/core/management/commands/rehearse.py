"""`manage.py rehearse --previous <ref>`: rehearse a deploy on a scratch database (apps/core/rehearsal/).

Exit status: 0 passed, 1 the rehearsal found something (failed requests, lost or corrupted writes, a write wait
above --max-wait, a pre-check finding, a failed migrate), 2 it could not run (one line says why).
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from apps.core.rehearsal.errors import RehearsalError
from apps.core.rehearsal.phases import Options, rehearse

BAD_INPUT = 2


def _interrupt(signum: int, frame: Any) -> None:
    # SIGTERM (a CI job cancelled) unwinds like Ctrl-C, so every scratch database and worktree is removed.
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = "Rehearse a deploy: the previous release serving while the next one's migrations run, then both."
    requires_system_checks: list[str] = []  # the releases are checked by their own settings, not this process's

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--previous", required=True, help="The git ref serving now (e.g. the last release tag).")
        parser.add_argument("--next", help="The git ref to deploy (default: the working tree).")
        parser.add_argument("--repo", type=Path, help="The git repository of the releases (default: this project).")
        parser.add_argument("--allow-dirty", action="store_true", help="Rehearse a working tree with changes.")
        parser.add_argument(
            "--apps",
            help="Comma-separated app labels whose models are written through the admin (default: all of "
            "the project's own apps).",
        )
        parser.add_argument("--rows", type=int, default=0, help="Generated essays beside the demo ones.")
        parser.add_argument("--phase-seconds", type=float, default=5.0, help="Least time per phase (seconds).")
        parser.add_argument("--max-wait", type=float, default=1.0, help="Longest acceptable write wait (seconds).")
        parser.add_argument("--database", help="An existing database on the server to use instead of a scratch one.")
        parser.add_argument("--previous-env-file", type=Path, help="KEY=value lines for the previous release.")
        parser.add_argument("--next-env-file", type=Path, help="KEY=value lines for the next release.")
        parser.add_argument("--from-dump", type=Path, help="Start from this `make backup` dump, not the demo essays.")
        parser.add_argument("--precheck-only", action="store_true", help="Stop after the static pre-check.")
        parser.add_argument("--json", action="store_true", help="The report as JSON (for CI).")

    def handle(self, *args: Any, **options: Any) -> None:
        env_files = {role: path for role in ("previous", "next") if (path := options[f"{role}_env_file"]) is not None}
        for path in env_files.values():
            if not path.is_file():
                self._refuse(f"--env-file {path} does not exist.")
        if options["repo"] is not None and not (options["repo"] / ".git").exists():
            self._refuse(f"--repo {options['repo']} is not a git repository.")
        if options["rows"] < 0 or options["phase_seconds"] <= 0 or options["max_wait"] <= 0:
            self._refuse("--rows must be 0 or more, --phase-seconds and --max-wait above 0.")
        chosen = Options(
            repo=(options["repo"] or Path(settings.BASE_DIR)).resolve(),
            previous=options["previous"],
            next=options["next"],
            allow_dirty=options["allow_dirty"],
            database=options["database"],
            rows=options["rows"],
            phase_seconds=options["phase_seconds"],
            max_wait=options["max_wait"],
            env_files=env_files,
            precheck_only=options["precheck_only"],
            from_dump=options["from_dump"],
            apps=[label.strip() for label in (options["apps"] or "").split(",") if label.strip()],
        )
        # Ctrl-C too, explicitly: a process started from a background job (a CI runner's) inherits SIGINT ignored,
        # and Python then never raises KeyboardInterrupt, so the rehearsal would run on to its end.
        previous_handlers = {signum: signal.signal(signum, _interrupt) for signum in (signal.SIGTERM, signal.SIGINT)}
        try:
            report = rehearse(chosen)
        except RehearsalError as exc:
            self._refuse(str(exc))
        except KeyboardInterrupt:
            self._refuse("Interrupted: the scratch database, worktrees and servers were removed.")
        finally:
            for signum, handler in previous_handlers.items():
                signal.signal(signum, handler)
        self.stdout.write(report.as_json() if options["json"] else report.as_text())
        if not report.passed:
            sys.exit(1)

    def _refuse(self, message: str) -> None:
        self.stderr.write(f"rehearse: {message}")
        sys.exit(BAD_INPUT)
