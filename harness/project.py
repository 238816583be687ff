"""Helpers shared by tests that start Folio in a fresh process, as a server or a platform would."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable

# A secret that passes production's checks; tests only.
STRONG_SECRET = "t3st-" + "Q7x9Lm2Pz4Rk8Vn1Bc6Hd0Jf5Gs3Wy" * 2
# Every server a test run starts keys its Redis cache under this run's own prefix: two runs on one machine (a
# developer's and CI's, or parallel worktrees) share Redis's databases, and one run's flush must not empty the
# other's pages. A test that needs a clean cache of its own passes its own prefix.
RUN_CACHE_PREFIX = f"folio-test-{os.getpid()}"


def clean_env(**overrides: str) -> dict[str, str]:
    """The machine's environment without Folio's variables, plus `overrides`: what a fresh server would see."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_", "DB_", "FOLIO_", "VERCEL", "AWS_", "REDIS_", "SENTRY_"))
        and key not in {"DEBUG", "ALLOWED_HOSTS", "READ_DOT_ENV", "TEST_DATABASE_URL", "LOG_LEVEL", "LOG_FORMAT"}
        # A developer's own mail set-up must not make test servers mail anyone (tests that mail set their own).
        and key not in {"ADMINS", "EMAIL_URL", "SERVER_EMAIL", "ERROR_MAIL_LIMIT"}
    }
    env["CACHE_KEY_PREFIX"] = RUN_CACHE_PREFIX
    env.update(overrides)
    return env


def production_env(**overrides: str) -> dict[str, str]:
    """A complete, valid production environment on a throwaway SQLite file unless told otherwise."""
    return clean_env(
        **{
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "DJANGO_SECRET_KEY": STRONG_SECRET,
            "DATABASE_URL": "postgres://folio@127.0.0.1:5432/folio",
            "ALLOWED_HOSTS": "folio.example.org",
            **overrides,
        }
    )


# How long a project command may take before a test calls it hung. A guard, not a bound: on a loaded 2-core CI
# machine a bare `django.setup()` in a fresh interpreter has taken over 60 s.
HUNG_AFTER = 600.0


def run_in_project(
    command: list[str], *, env: dict[str, str], timeout: float = HUNG_AFTER, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a command from the project root, as a deploy step would: output captured as text, status returned."""
    return subprocess.run(
        command, cwd=ROOT, env=env, input=stdin, capture_output=True, text=True, timeout=timeout, check=False
    )


def manage(*args: str, env: dict[str, str], timeout: float = HUNG_AFTER) -> subprocess.CompletedProcess[str]:
    return run_in_project([PYTHON, str(ROOT / "manage.py"), *args], env=env, timeout=timeout)


# What an operator runs before the first request: the schema, the demo essays, the static files.
SITE_STEPS = (("migrate", "--noinput"), ("seed_demo",), ("collectstatic", "--noinput"))


class CommandFailed(RuntimeError):
    """A set-up command failed; the message names it and carries its output."""


def manage_steps(*commands: Sequence[str], env: dict[str, str], timeout: float = HUNG_AFTER) -> None:
    """Each `manage.py` command in turn, as a deploy runs them; the first that fails raises CommandFailed."""
    for command in commands:
        result = manage(*command, env=env, timeout=timeout)
        if result.returncode != 0:
            raise CommandFailed(
                f"manage.py {' '.join(command)} failed (exit {result.returncode}):\n{result.stdout}{result.stderr}"
            )


def run_python(code: str, *, env: dict[str, str], timeout: float = HUNG_AFTER) -> subprocess.CompletedProcess[str]:
    """`python -c code` from the project root: a fresh interpreter, as a platform's runtime starts one."""
    return run_in_project([PYTHON, "-c", code], env=env, timeout=timeout)
