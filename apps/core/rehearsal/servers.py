"""A release's commands and its Gunicorn, each from the release's own worktree, interpreter and gunicorn.conf.py,
with the production settings the release itself reads (its `.env.example` names them; `--env-file` adds more)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .errors import RehearsalError
from .releases import Release
from .report import EXCEPTION_LINE

# Django's start-up in a fresh interpreter has taken over 60 s on a loaded 2-core machine: a guard, not a budget.
COMMAND_TIMEOUT = 900.0
START_TIMEOUT = 120.0
STOP_GRACE = 30.0
HOST = "127.0.0.1"

# Folio's variables are the release's to set: none of the operator's own leaks into a rehearsal.
FOLIO_PREFIXES = ("DJANGO_", "DATABASE_", "DB_", "FOLIO_", "VERCEL", "AWS_", "REDIS_", "SENTRY_", "GUNICORN_")
FOLIO_NAMES = {"DEBUG", "ALLOWED_HOSTS", "READ_DOT_ENV", "LOG_LEVEL", "LOG_FORMAT", "ADMINS", "EMAIL_URL"}


def read_env_file(path: Path) -> dict[str, str]:
    values = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise RehearsalError(f"{path}:{number} is not KEY=value: {line!r}")
        values[key.strip()] = value.strip().strip("'\"")
    return values


def example_env(root: Path) -> dict[str, str]:
    """The values a release's own `.env.example` gives (an empty one means "unset", and stays unset)."""
    example = root / ".env.example"
    if not example.is_file():
        return {}
    return {key: value for key, value in read_env_file(example).items() if value}


def release_env(
    *, database_url: str, secret: str, workdir: Path, example: dict[str, str], extra: dict[str, str]
) -> dict[str, str]:
    """The release's environment: none of the operator's Folio variables, then its `.env.example` values, then the
    rehearsal's own (its database, a secret, production settings on loopback), then `extra` (an env file)."""
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(FOLIO_PREFIXES) and key not in FOLIO_NAMES
    }
    env.update(example)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "DJANGO_SECRET_KEY": secret,
            "DATABASE_URL": database_url,
            "ALLOWED_HOSTS": f"{HOST},localhost",
            "READ_DOT_ENV": "false",
            # Plain HTTP on loopback: the rehearsal tests the schema, not TLS.
            "SECURE_SSL_REDIRECT": "false",
            "STATIC_ROOT": str(workdir / "static"),
            "MEDIA_ROOT": str(workdir / "media"),
            "WEB_CONCURRENCY": "2",
            "GUNICORN_THREADS": "4",
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            **extra,
        }
    )
    return env


def failure(what: str, output: str) -> RehearsalError:
    """One line naming what failed and the exceptions it ended with, then the output's last lines."""
    lines = output.strip().splitlines()
    errors = list(dict.fromkeys(line.strip() for line in lines if EXCEPTION_LINE.match(line.strip())))
    tail = "\n".join(f"    {line}" for line in lines[-12:])
    return RehearsalError(f"{what} failed: {'; '.join(errors) or (lines or ['no output'])[-1]}\n{tail}")


def _run(release: Release, env: dict[str, str], argv: list[str], what: str, stdin: str | None) -> str:
    """`argv` with the release's interpreter in its worktree; its output, or RehearsalError naming `what`."""
    result = subprocess.run(
        [str(release.python), *argv],
        cwd=release.root,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    if result.returncode != 0:
        raise failure(f"{release.name}: {what}", result.stdout + result.stderr)
    return result.stdout


def manage(release: Release, env: dict[str, str], *args: str) -> str:
    return _run(release, env, ["manage.py", *args], f"manage.py {' '.join(args)}", None)


def run_python(release: Release, env: dict[str, str], script: Path, *args: str, stdin: str | None = None) -> str:
    """A script of the current tree (probe.py) run by the release's interpreter, in the release's worktree."""
    return _run(release, env, [str(script), *args], f"{script.name} {' '.join(args)}", stdin)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    release: Release
    process: subprocess.Popen
    port: int
    log: Path

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""

    def stop(self) -> None:
        """Gunicorn's graceful stop (SIGTERM: finish the requests in flight), then SIGKILL for what is left."""
        if self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=STOP_GRACE)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - a loopback http URL of our own
            return response.status < 500
    except urllib.error.HTTPError as exc:
        return exc.code < 500
    except OSError:
        return False


@contextlib.contextmanager
def gunicorn(release: Release, env: dict[str, str], log: Path) -> Iterator[Server]:
    """The release under its own gunicorn.conf.py on a free loopback port, in a process group of its own (stopped
    whole, workers included), until the block ends.

    A release without a gunicorn.conf.py (Folio's first commits) runs under Gunicorn's own defaults, which read
    WEB_CONCURRENCY and GUNICORN_CMD_ARGS from its environment, as `gunicorn config.wsgi` would have run it."""
    port = free_port()
    bind = f"{HOST}:{port}"
    env = {**env, "GUNICORN_BIND": bind}
    # On the command line the bind outranks the file's: the release's own port default never wins.
    config = ["-c", "gunicorn.conf.py"] if (release.root / "gunicorn.conf.py").is_file() else []
    with log.open("ab") as output:
        process = subprocess.Popen(
            [str(release.bin("gunicorn")), *config, "--bind", bind, "config.wsgi"],
            cwd=release.root,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(release=release, process=process, port=port, log=log)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        # An open port may still be the master without a booted worker: wait for an answer.
        while not _answers(server.base_url + "/admin/login/"):
            if process.poll() is not None or time.monotonic() > deadline:
                tail = "\n".join(server.log_text().strip().splitlines()[-15:])
                raise RehearsalError(f"{release.name} did not start under Gunicorn:\n{tail}")
            time.sleep(0.2)
        yield server
    finally:
        server.stop()
