"""`make test-next`: the test suite against the next Django in a virtualenv of its own (.venv-next).

Folio stays on the LTS (5.2) in uv.lock; this installs the same locked dev requirements with only Django overridden
to NEXT_DJANGO, so a failure here is a Django incompatibility, never a drifted dependency. Django 6.x needs Python
3.12+: NEXT_PYTHON names one, else the first found on PATH or under pyenv; with none the run is skipped with that
reason (a failure under FOLIO_REQUIRE_SERVICES=1, as CI sets).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / os.environ.get("NEXT_VENV", ".venv-next")
NEXT_DJANGO = os.environ.get("NEXT_DJANGO", "6.1.*")
MINIMUM_PYTHON = (3, 12)
UV = ROOT / ".venv" / "bin" / "uv"  # bootstrapped by `make install`, pinned by the Makefile

# Deprecations the next Django announces that Folio keeps while it runs 5.2 LTS: each goes away in Django 7.0, after
# 6.2 LTS, and moving off it would break 5.2 (README, "Upgrading to Django 6"). Every other deprecation still fails
# the run, as pyproject.toml's filterwarnings makes it fail on 5.2. Each is (the literal start of the message, as
# pytest's -W takes it, the category).
ACCEPTED_DEPRECATIONS = [
    # 6.1: EMAIL_BACKEND and the other EMAIL_* settings (django-environ's EMAIL_URL sets them) -> MAILERS.
    ("The EMAIL_", "PendingDeprecationWarning"),
    # 6.0: ADMINS and MANAGERS as (name, address) tuples -> address strings; 5.2 accepts tuples only.
    ("Using (name, address) pairs in the ", "PendingDeprecationWarning"),
]


def python_version(executable: str) -> tuple[int, int] | None:
    try:
        answer = subprocess.run(
            [executable, "-c", "import sys; print(*sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    major, minor = answer.stdout.split()
    return int(major), int(minor)


def candidates() -> list[str]:
    named = [os.environ["NEXT_PYTHON"]] if os.environ.get("NEXT_PYTHON") else []
    on_path = [shutil.which(f"python3.{minor}") for minor in range(20, MINIMUM_PYTHON[1] - 1, -1)]
    pyenv_root = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    pyenv = sorted(glob.glob(f"{pyenv_root}/versions/3.*/bin/python3"), reverse=True)
    return [found for found in [*named, *on_path, *pyenv] if found]


def next_python() -> str | None:
    for executable in candidates():
        version = python_version(executable)
        if version and version >= MINIMUM_PYTHON:
            return executable
    return None


def run(*command: str | Path, **kwargs) -> None:
    print("+", " ".join(str(part) for part in command), flush=True)
    subprocess.run([str(part) for part in command], cwd=ROOT, check=True, **kwargs)


def prepare(python: str) -> Path:
    """.venv-next with the locked dev requirements and Django overridden; rebuilt when its Python changed."""
    venv_python = VENV / "bin" / "python"
    if venv_python.exists() and python_version(str(venv_python)) != python_version(python):
        shutil.rmtree(VENV)
    if not venv_python.exists():
        run(python, "-m", "venv", VENV)
    requirements, overrides = VENV / "requirements.txt", VENV / "overrides.txt"
    # Without hashes: the lock has none for the overriding Django.
    run(UV, "export", "--frozen", "--no-hashes", "--no-emit-project", "--quiet", "-o", requirements)
    overrides.write_text(f"django=={NEXT_DJANGO}\n")
    run(UV, "pip", "install", "--quiet", "--python", venv_python, "-r", requirements, "--override", overrides)
    return venv_python


def main(pytest_args: list[str]) -> int:
    if not UV.exists():
        print(f"test-next: {UV} is missing: run `make install` first", file=sys.stderr)
        return 1
    python = next_python()
    if python is None:
        reason = f"Django {NEXT_DJANGO} needs Python {'.'.join(map(str, MINIMUM_PYTHON))}+ and none was found"
        print(f"test-next: skipped: {reason} (set NEXT_PYTHON=/path/to/python3.12)", file=sys.stderr)
        return 1 if os.environ.get("FOLIO_REQUIRE_SERVICES") == "1" else 0
    venv_python = prepare(python)
    run(venv_python, "-c", "import django; print('test-next: Django', django.get_version())")
    # The same two passes as `make test`: SQLite for every tier but postgres, then the postgres tier.
    pytest = [
        venv_python,
        "-m",
        "pytest",
        *(f"-Wignore:{message}:{category}" for message, category in ACCEPTED_DEPRECATIONS),
    ]
    env = {key: value for key, value in os.environ.items() if key != "TEST_DATABASE_URL"}
    first = subprocess.run([*pytest, "-m", "not postgres", *pytest_args], cwd=ROOT, env=env)
    env["TEST_DATABASE_URL"] = os.environ.get("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
    second = subprocess.run([*pytest, "-m", "postgres", *pytest_args], cwd=ROOT, env=env)
    return first.returncode or second.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
