#!/usr/bin/env python3
"""Releases on a VM: each version in a directory of its own with its own virtualenv, `current` pointing at the live
one, and a rollback that refuses to run old code against migrations it has never seen.

    sudo python3 deploy/vm/release.py release v1.5.0 /tmp/folio-v1.5.0.tar.gz   # or a directory (a checkout)
    sudo python3 deploy/vm/release.py rollback              # to the release before; or `rollback v1.4.0`
    sudo python3 deploy/vm/release.py list

The layout, under --home (/srv/folio):
    releases/<version>/            the code (owned by root: the site cannot rewrite itself), with
    releases/<version>/venv/       its own virtualenv, built from that release's requirements/production.txt,
    releases/<version>/release.env FOLIO_RELEASE=<version>, read by the units (X-Folio-Release names the answerer),
    current -> releases/<version>  switched by renaming a new link over it: readers see the old or the new, never none,
    release-history                one line per switch, which `rollback` reads.

A release is built, collects its static files and migrates (as --user, with --env-file) while the previous one still
serves, so migrations must suit the code still running (README, "Releases and rollback": expand/contract). Then
`current` switches and `systemctl try-restart` restarts the web and worker units if they run: a restart, not a
reload, because HUP forks new workers from the old master, which keeps its interpreter, virtualenv and directory.
folio-web.socket holds the listening socket meanwhile, so connections wait in the kernel's queue for the new master
instead of being refused.

Production-only on purpose: the standard library and the release's own virtualenv, nothing from the dev toolchain.
`make release` and `make rollback` run it; every rule about releases lives here.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

# A version is a directory name and a header value: no slashes, no dots-only names, nothing a shell would expand.
VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$")
# Written last into a release: without it the directory is a build that failed or is still running.
COMPLETE = ".folio-release.json"
RELEASE_ENV = "release.env"
# What a source directory may hold that a release must not: the developer's virtualenvs, caches, data, secrets.
NOT_COPIED = (
    ".git",
    ".venv",
    ".venv-*",
    "venv",
    "node_modules",
    "__pycache__",
    "*.pyc",
    "staticfiles",
    "media",
    "backups",
    "test-artifacts",
    ".env",
    ".env.*",
    ".vercel",
    ".pytest_cache",
    ".ruff_cache",
)
# The one .env-like file that is documentation, not a secret.
KEPT = {".env.example"}
UNITS = ("folio-web.service", "folio-worker.service")
# Printed by the target release's own Django: which migrations the database has applied that its files lack.
# Its own loader, so a release knows nothing of migrations added after it (that is the point).
UNKNOWN_MIGRATIONS = """
import json, os, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
django.setup()
from django.db import connection
from django.db.migrations.loader import MigrationLoader
loader = MigrationLoader(connection, ignore_no_migrations=True)
print(json.dumps(sorted(f"{app}.{name}" for app, name in set(loader.applied_migrations) - set(loader.disk_migrations))))
"""


class ReleaseError(Exception):
    """One line for the operator: what is wrong and what to do."""


class Releases:
    def __init__(self, args: argparse.Namespace) -> None:
        self.home: Path = args.home
        self.root = self.home / "releases"
        self.current = self.home / "current"
        self.history = self.home / "release-history"
        self.user: str = args.user
        self.env_file: Path = args.env_file
        self.python: str = args.python
        self.units: list[str] = args.unit or list(UNITS)
        self.systemctl: str = args.systemctl
        self.keep: int = args.keep

    # WHAT EXISTS

    def path(self, version: str) -> Path:
        if not VERSION.match(version) or set(version) == {"."}:
            raise ReleaseError(f"{version!r} is not a version: letters, digits, '.', '_', '+', '-', up to 64")
        return self.root / version

    def is_complete(self, version: str) -> bool:
        return (self.path(version) / COMPLETE).is_file()

    def built(self) -> list[str]:
        """Complete releases, oldest build first."""
        if not self.root.is_dir():
            return []
        found = [p.name for p in self.root.iterdir() if (p / COMPLETE).is_file()]
        return sorted(found, key=lambda name: json.loads((self.root / name / COMPLETE).read_text())["built"])

    def live(self) -> str | None:
        if not self.current.is_symlink():
            return None
        return Path(os.readlink(self.current)).name

    def switches(self) -> list[str]:
        if not self.history.is_file():
            return []
        return [line.split()[1] for line in self.history.read_text().splitlines() if len(line.split()) >= 2]

    # THE APP'S OWN STEPS, as the folio user with the production environment

    def environment(self, release: Path) -> dict[str, str]:
        """The env file's KEY=value lines, then the release's own (FOLIO_RELEASE), as systemd would pass them."""
        env = {"PATH": f"{release / 'venv' / 'bin'}:/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}
        # pip's own settings (PIP_FIND_LINKS, PIP_NO_INDEX, a proxy's certificate): an operator's choice, passed on.
        env.update({name: value for name, value in os.environ.items() if name.startswith("PIP_")})
        for path in (self.env_file, release / RELEASE_ENV):
            try:
                lines = path.read_text().splitlines()
            except FileNotFoundError:
                raise ReleaseError(f"{path} does not exist; README, 'Deploy to a VM', step 3 writes it") from None
            except PermissionError:
                raise ReleaseError(f"{path} is not readable: run this as root (sudo)") from None
            for line in lines:
                line = line.strip()
                if line and not line.startswith("#") and "=" in line:
                    name, value = line.split("=", 1)
                    value = value.strip()
                    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                        value = value[1:-1]
                    env[name.strip()] = value
        return env

    def as_app(self, release: Path, *command: str, capture: bool = False) -> str:
        runner = [] if self.user == current_user() else [runuser(), "-u", self.user, "--"]
        completed = subprocess.run(
            [*runner, str(release / "venv" / "bin" / "python"), *command],
            cwd=release,
            env=self.environment(release),
            stdout=subprocess.PIPE if capture else None,
            text=True,
            check=False,
        )
        if completed.returncode != 0:
            shown = " ".join(command[:2]) if command[0] != "-c" else "the migration check"
            raise ReleaseError(f"{shown} failed in {release.name} (exit {completed.returncode}; output above)")
        return completed.stdout or ""

    def unknown_migrations(self, version: str) -> list[str]:
        return json.loads(self.as_app(self.path(version), "-c", UNKNOWN_MIGRATIONS, capture=True).strip() or "[]")

    # BUILDING

    def build(self, version: str, source: Path) -> Path:
        release = self.path(version)
        if self.is_complete(version):
            raise ReleaseError(f"{version} is built already; `rollback {version}` switches to it")
        if not source.exists():
            raise ReleaseError(f"{source} does not exist: give a checkout or a .tar(.gz) of one")
        if release.exists():
            shutil.rmtree(release)  # a build that failed half-way: start again
        self.root.mkdir(parents=True, exist_ok=True)
        unpack(source, release)
        if not (release / "manage.py").is_file() or not (release / "requirements" / "production.txt").is_file():
            shutil.rmtree(release)
            raise ReleaseError(f"{source} holds no Folio checkout (no manage.py and requirements/production.txt)")
        (release / RELEASE_ENV).write_text(f"FOLIO_RELEASE={version}\n")
        # The virtualenv at its final path: a venv's scripts name their interpreter by absolute path.
        run([self.python, "-m", "venv", str(release / "venv")])
        run(
            [
                str(release / "venv" / "bin" / "pip"),
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--require-hashes",
                "-r",
                str(release / "requirements" / "production.txt"),
            ],
            env={**os.environ, "PIP_ROOT_USER_ACTION": "ignore"},
        )
        run(
            [
                str(release / "venv" / "bin" / "python"),
                "-m",
                "compileall",
                "-q",
                str(release / "apps"),
                str(release / "config"),
            ]
        )
        return release

    def finish(self, version: str, source: Path) -> None:
        record = {"version": version, "built": now(), "source": str(source)}
        (self.path(version) / COMPLETE).write_text(json.dumps(record) + "\n")

    # SWITCHING

    def switch(self, version: str) -> None:
        """`current` → releases/<version>, by renaming a new link over the old one (atomic on one file system)."""
        link = self.home / f".current-{os.getpid()}"
        link.unlink(missing_ok=True)
        link.symlink_to(Path("releases") / version)
        os.replace(link, self.current)
        with self.history.open("a") as history:
            history.write(f"{now()} {version}\n")

    def restart(self) -> None:
        """The units that run (try-restart); on the first release they are not installed yet, which is fine."""
        installed = [unit for unit in self.units if self.load_state(unit) not in ("", "not-found")]
        for unit in sorted(set(self.units) - set(installed)):
            print(f"{unit} is not installed: nothing to restart (README, 'Deploy to a VM', steps 6-7)")
        if installed:
            run([self.systemctl, "try-restart", *installed])

    def load_state(self, unit: str) -> str:
        shown = subprocess.run(
            [self.systemctl, "show", "--property", "LoadState", "--value", unit], capture_output=True, text=True
        )
        return shown.stdout.strip()

    def prune(self) -> None:
        """The oldest complete releases beyond --keep; never the live one or the one a rollback would pick."""
        spared = {self.live(), self.rollback_target(None)}
        removable = [name for name in self.built() if name not in spared]
        for name in removable[: max(0, len(self.built()) - self.keep)]:
            shutil.rmtree(self.root / name)
            print(f"removed the old release {name}")

    def rollback_target(self, version: str | None) -> str | None:
        if version:
            return version
        live = self.live()
        for earlier in reversed(self.switches()):
            if earlier != live and self.is_complete(earlier):
                return earlier
        return None

    # COMMANDS

    def release(self, version: str, source: Path) -> None:
        release = self.build(version, source.resolve())
        self.as_app(release, "manage.py", "collectstatic", "--noinput", "--verbosity", "0")
        self.as_app(release, "manage.py", "migrate", "--noinput")
        self.finish(version, source)
        self.switch(version)
        self.restart()
        print(f"{version} is live ({self.current} -> {release})")
        self.prune()

    def rollback(self, version: str | None) -> None:
        target = self.rollback_target(version)
        if target is None:
            raise ReleaseError("no earlier release to roll back to; `list` shows what is built")
        if not self.is_complete(target):
            raise ReleaseError(f"{target} is not a complete release here; `list` shows what is built")
        if target == self.live():
            raise ReleaseError(f"{target} is live already")
        unknown = self.unknown_migrations(target)
        if unknown:
            raise ReleaseError(
                f"refusing to roll back to {target}: the database has applied {len(unknown)} migration(s) it does "
                f"not have: {', '.join(unknown)}. Migrations are forward-only: release a fix instead "
                "(README, 'Releases and rollback')"
            )
        # Its own manifest back in STATIC_ROOT (every release's hashed files stay there), then the switch.
        self.as_app(self.path(target), "manage.py", "collectstatic", "--noinput", "--verbosity", "0")
        self.switch(target)
        self.restart()
        print(f"rolled back to {target} ({self.current} -> {self.path(target)})")

    def list(self) -> None:
        live = self.live()
        for name in reversed(self.built()):
            record = json.loads((self.root / name / COMPLETE).read_text())
            print(f"{'*' if name == live else ' '} {name:24} built {record['built']}  from {record['source']}")


def unpack(source: Path, release: Path) -> None:
    """A checkout's files, or a tarball's (a single top directory, as `git archive --prefix` makes, is dropped)."""
    if source.is_dir():
        shutil.copytree(source, release, symlinks=True, ignore=not_copied)
        return
    with tempfile.TemporaryDirectory(dir=release.parent, prefix=".unpack-") as scratch:
        try:
            with tarfile.open(source) as archive:
                extract_safely(archive, Path(scratch))
        except (tarfile.TarError, OSError) as exc:
            # tarfile's message lists every compression it tried, a line each: the first says enough.
            reason = str(exc).splitlines()[0].rstrip(":") if str(exc) else type(exc).__name__
            raise ReleaseError(f"{source} is not a readable tar archive: {reason}") from None
        entries = list(Path(scratch).iterdir())
        top = entries[0] if len(entries) == 1 and entries[0].is_dir() else Path(scratch)
        shutil.copytree(top, release, symlinks=True, ignore=not_copied)


def not_copied(directory: str, names: list[str]) -> set[str]:
    return shutil.ignore_patterns(*NOT_COPIED)(directory, names) - KEPT


def extract_safely(archive: tarfile.TarFile, into: Path) -> None:
    """No member outside `into`, no device files: tarfile's "data" filter, or the same refusal by hand on a Python
    whose tarfile predates filters (3.11 before 3.11.4)."""
    if hasattr(tarfile, "data_filter"):
        archive.extractall(into, filter="data")
        return
    for member in archive.getmembers():
        target = (into / member.name).resolve()
        if not target.is_relative_to(into.resolve()) or not (member.isfile() or member.isdir() or member.issym()):
            raise ReleaseError(f"{archive.name} holds {member.name!r}, which would land outside the release")
    archive.extractall(into)  # noqa: S202 - every member was checked above


def run(command: list[str], env: dict[str, str] | None = None) -> None:
    completed = subprocess.run(command, env=env, check=False)
    if completed.returncode != 0:
        raise ReleaseError(f"`{' '.join(command[:3])} …` failed with exit {completed.returncode} (output above)")


def now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def runuser() -> str:
    # Looked up on root's PATH (/usr/sbin), not the app's, which the command is given.
    found = shutil.which("runuser") or shutil.which("runuser", path="/usr/sbin:/sbin")
    if not found:
        raise ReleaseError("runuser (util-linux) is not installed; it runs the app's steps as --user")
    return found


def current_user() -> str:
    import pwd

    return pwd.getpwuid(os.geteuid()).pw_name


@contextlib.contextmanager
def locked(home: Path) -> Iterator[None]:
    """One release or rollback at a time on a machine."""
    home.mkdir(parents=True, exist_ok=True)
    with (home / ".release.lock").open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ReleaseError(f"another release or rollback holds {home / '.release.lock'}; wait for it") from None
        yield


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    main.add_argument("--home", type=Path, default=Path("/srv/folio"), help="where releases/ and current live")
    main.add_argument("--user", default="folio", help="who runs the app (default folio)")
    main.add_argument("--env-file", type=Path, default=Path("/etc/folio/folio.env"), help="the app's environment")
    main.add_argument("--python", default="python3", help="the interpreter each release's virtualenv is made with")
    main.add_argument("--unit", action="append", help=f"a unit to restart (default: {', '.join(UNITS)})")
    main.add_argument("--systemctl", default="systemctl", help=argparse.SUPPRESS)
    main.add_argument("--keep", type=int, default=5, help="complete releases kept (default 5)")
    commands = main.add_subparsers(dest="command", required=True)
    release = commands.add_parser("release", help="build VERSION from SOURCE, migrate, switch, restart")
    release.add_argument("version")
    release.add_argument("source", type=Path, help="a checkout, or a .tar/.tar.gz of one (`git archive`)")
    rollback = commands.add_parser("rollback", help="switch back (default: to the release before this one)")
    rollback.add_argument("version", nargs="?")
    commands.add_parser("list", help="the releases built here, * marking the live one")
    return main


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.keep < 2:
        print("release.py: --keep must be 2 or more (the live release and one to roll back to)", file=sys.stderr)
        return 2
    releases = Releases(args)
    try:
        if args.command == "list":
            releases.list()
            return 0
        with locked(args.home):
            if args.command == "release":
                releases.release(args.version, args.source)
            else:
                releases.rollback(args.version)
    except ReleaseError as exc:
        print(f"release.py: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
