"""The machine a run measured on: numbers from a 2-core VM and a 16-core laptop are not comparable."""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import psycopg

from harness.project import ROOT

# Where the benchmarks' PostgreSQL runs; the local server the test tiers use.
POSTGRES_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


def _first_line(command: list[str]) -> str:
    """A tool's version banner (nginx prints its own to stderr), or "not installed"."""
    if shutil.which(command[0]) is None:
        return "not installed"
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unknown ({exc})"
    lines = (done.stdout or done.stderr).strip().splitlines()
    return lines[0] if lines else "unknown"


def _cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        return platform.processor() or platform.machine()
    match = re.search(r"^model name\s*:\s*(.+)$", text, flags=re.MULTILINE)
    return match.group(1).strip() if match else platform.machine()


def _memory() -> str:
    try:
        text = Path("/proc/meminfo").read_text(encoding="utf-8")
    except OSError:
        return "unknown"
    match = re.search(r"^MemTotal:\s*(\d+) kB", text, flags=re.MULTILINE)
    return f"{int(match.group(1)) / 1024**2:.1f} GiB" if match else "unknown"


def _cores() -> str:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{usable} usable of {os.cpu_count()}" if usable != os.cpu_count() else str(usable)


def _os_name() -> str:
    try:
        release = Path("/etc/os-release").read_text(encoding="utf-8")
    except OSError:
        return platform.platform()
    match = re.search(r'^PRETTY_NAME="?([^"\n]+)"?$', release, flags=re.MULTILINE)
    name = match.group(1) if match else platform.system()
    return f"{name}, kernel {platform.release()}"


def _postgres() -> str:
    """The server's own version when it answers; the client's otherwise, marked as such."""
    try:
        with psycopg.connect(POSTGRES_DSN, connect_timeout=3) as connection:
            return "PostgreSQL " + connection.execute("SHOW server_version").fetchone()[0]
    except Exception as exc:  # any failure only downgrades the report to the client version
        return f"{_first_line(['psql', '--version'])} (client; server not reachable: {type(exc).__name__})"


def _package(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def _git_revision() -> str:
    if shutil.which("git") is None:
        return "unknown"
    run = {"cwd": ROOT, "capture_output": True, "text": True, "timeout": 10, "check": False}
    revision = subprocess.run(["git", "rev-parse", "--short", "HEAD"], **run).stdout.strip() or "unknown"
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], **run).stdout.strip()
    return f"{revision}{' with uncommitted changes' if dirty else ''}"


def describe() -> dict[str, str]:
    """Everything the report prints about the machine, in the order it prints it."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return {
        "Date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "CPU": _cpu_model(),
        "Cores": _cores(),
        "Memory": _memory(),
        "Load average at start": " / ".join(f"{value:.2f}" for value in load),
        "OS": _os_name(),
        "Python": f"{platform.python_implementation()} {platform.python_version()}",
        "PostgreSQL": _postgres(),
        "nginx": _first_line(["nginx", "-v"]).removeprefix("nginx version: "),
        "wrk": _first_line(["wrk", "-v"]).split(" Copyright")[0],
        "Django": _package("django"),
        "Gunicorn": _package("gunicorn"),
        "psycopg": _package("psycopg"),
        "Folio revision": _git_revision(),
    }
