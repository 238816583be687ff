"""The two releases as directories with an interpreter each: git worktrees of the refs, and the virtualenv each
one's lock pins (the current one when the locks agree, else one built once and cached by the lock's hash)."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .errors import RehearsalError

# The file a release's production dependencies are pinned in (hashes included): what its virtualenv must hold.
LOCK = Path("requirements/production.txt")
# Beside uv's and pip's caches; built once per lock, reused by every later rehearsal on the machine.
VENV_CACHE = Path.home() / ".cache" / "folio" / "rehearse"
# A venv build from the uv cache takes seconds; from the network, minutes on a slow link.
INSTALL_TIMEOUT = 900
WORKING_TREE = "working tree"
GIT_TIMEOUT = 120


@dataclass(frozen=True)
class Release:
    role: str  # "previous" or "next"
    ref: str  # as the operator named it
    commit: str  # the commit, or "working tree"
    root: Path
    python: Path

    @property
    def name(self) -> str:
        return f"{self.role} ({self.ref} {self.commit[:10]})" if self.commit != WORKING_TREE else self.role

    def bin(self, program: str) -> Path:
        return self.python.parent / program


def git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=GIT_TIMEOUT, check=False
    )
    if check and result.returncode != 0:
        raise RehearsalError(f"git {' '.join(args)} failed: {(result.stderr or result.stdout).strip()}")
    return result


def resolve(repo: Path, ref: str) -> str:
    """The commit `ref` names, or one line saying why there is none (a shallow clone says how to get it)."""
    found = git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
    if found.returncode == 0:
        return found.stdout.strip()
    if git(repo, "rev-parse", "--is-shallow-repository", check=False).stdout.strip() == "true":
        raise RehearsalError(
            f"{ref!r} is not in this shallow clone: run `git fetch --unshallow --tags` (CI: fetch-depth: 0) and retry."
        )
    raise RehearsalError(f"{ref!r} is not a commit, branch or tag of {repo}.")


def dirty(repo: Path) -> list[str]:
    return git(repo, "status", "--porcelain").stdout.splitlines()


def lock_hash(root: Path) -> str:
    path = root / LOCK
    if not path.is_file():
        raise RehearsalError(f"{path} is missing: a release must pin its dependencies there (make lock).")
    return hashlib.sha256(path.read_bytes()).hexdigest()


@contextlib.contextmanager
def worktree(repo: Path, commit: str, *, into: Path) -> Iterator[Path]:
    """A detached worktree of `commit`, removed (and pruned from git's list) whatever happens."""
    git(repo, "worktree", "add", "--detach", "--quiet", str(into), commit)
    try:
        yield into
    finally:
        git(repo, "worktree", "remove", "--force", str(into), check=False)
        shutil.rmtree(into, ignore_errors=True)
        git(repo, "worktree", "prune", check=False)


def _installer() -> list[str]:
    uv = Path(sys.executable).parent / "uv"
    if uv.exists():
        return [str(uv), "pip", "install", "--quiet", "--require-hashes"]
    found = shutil.which("uv")
    if found:
        return [found, "pip", "install", "--quiet", "--require-hashes"]
    return []


def venv_for(root: Path, current_root: Path) -> Path:
    """The interpreter for the release at `root`: this one when its lock is `current_root`'s (the tree this
    interpreter was installed from), else a venv built once per lock and cached."""
    digest = lock_hash(root)
    if digest == lock_hash(current_root):
        return Path(sys.executable)
    target = VENV_CACHE / f"venv-{digest[:16]}"
    python = target / "bin" / "python"
    if (target / ".installed").exists():
        return python
    VENV_CACHE.mkdir(parents=True, exist_ok=True)
    # Paths inside a venv are absolute, so it is built where it will live, under a lock (two rehearsals at once),
    # and counts as built only once `.installed` is there.
    with (VENV_CACHE / "build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (target / ".installed").exists():
            return python
        shutil.rmtree(target, ignore_errors=True)
        try:
            _build(target, root / LOCK)
        except BaseException:
            shutil.rmtree(target, ignore_errors=True)
            raise
    return python


def _build(target: Path, lock: Path) -> None:
    # The base interpreter, not this venv's: a venv made from a venv points at the wrong site-packages.
    subprocess.run([sys._base_executable, "-m", "venv", str(target)], check=True, capture_output=True)
    python = target / "bin" / "python"
    installer = _installer()
    command = (
        [*installer, "--python", str(python), "-r", str(lock)]
        if installer
        else [str(python), "-m", "pip", "install", "--quiet", "-r", str(lock)]
    )
    result = subprocess.run(command, capture_output=True, text=True, timeout=INSTALL_TIMEOUT, check=False)
    if result.returncode != 0:
        last = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
        raise RehearsalError(f"The release's lock ({lock}) cannot be installed: {last[0]}")
    (target / ".installed").touch()
