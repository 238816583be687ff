"""Git repositories of small releases for the rehearsal's tests: Folio's committed tree copied into a fresh
repository, with release variants committed on top and tagged (each tag a release a team could deploy).

The variants' lock is Folio's own, so every release runs in this checkout's virtualenv (no build per test).
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from harness.project import ROOT

GIT_TIMEOUT = 120


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=GIT_TIMEOUT, check=True
    ).stdout


@dataclass(frozen=True)
class FixtureRepo:
    path: Path

    @classmethod
    def from_folio(cls, path: Path) -> FixtureRepo:
        """Folio's committed tree (HEAD) as the first commit of a new repository, tagged `folio`."""
        path.mkdir(parents=True)
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", "HEAD"], capture_output=True, timeout=GIT_TIMEOUT, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(path)], input=archive, timeout=GIT_TIMEOUT, check=True)
        git(path, "init", "-q", "-b", "main")
        git(path, "config", "user.email", "rehearsal@example.org")
        git(path, "config", "user.name", "Rehearsal fixture")
        git(path, "add", "-A")
        git(path, "commit", "-q", "-m", "Folio")
        git(path, "tag", "folio")
        return cls(path)

    def release(
        self,
        tag: str,
        *,
        on: str,
        files: Mapping[str, str | None] = {},
        edits: Mapping[str, list[tuple[str, str]]] = {},
        restore: Mapping[str, str] = {},  # path → the release to take it from
    ) -> str:
        """A commit on top of release `on`, tagged `tag`: `files` written (None deletes), `edits` as exact (old, new)
        replacements that must each match, `restore` paths as another release had them."""
        git(self.path, "checkout", "-q", "--detach", on)
        for name, source in restore.items():
            git(self.path, "checkout", "-q", source, "--", name)
        for name, text in files.items():
            target = self.path / name
            if text is None:
                git(self.path, "rm", "-q", name)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        for name, replacements in edits.items():
            target = self.path / name
            text = target.read_text(encoding="utf-8")
            for old, new in replacements:
                if old not in text:
                    raise AssertionError(f"fixture edit of {name}: {old!r} is not there")
                text = text.replace(old, new, 1)
            target.write_text(text, encoding="utf-8")
        git(self.path, "add", "-A")
        git(self.path, "commit", "-q", "-m", tag)
        git(self.path, "tag", tag)
        return tag
