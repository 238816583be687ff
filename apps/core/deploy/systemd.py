"""The systemd units for a VM: the web server (Gunicorn), the task worker, and the backup with its timer."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .templates import RenderError, render

SYSTEMD_FILES = ["folio-web.service", "folio-worker.service", "folio-backup.service", "folio-backup.timer"]


@dataclass(frozen=True)
class SystemdUnits:
    project_dir: Path
    venv: Path
    env_file: Path
    user: str = "folio"
    group: str = "folio"
    writable_paths: tuple[Path, ...] = field(default_factory=tuple)
    # BACKUP_DIR: the one place folio-backup.service may write (it only reads MEDIA_ROOT).
    backup_dir: Path = Path("/srv/folio/backups")

    def context(self) -> dict[str, Any]:
        for name in ("project_dir", "venv", "env_file", "backup_dir"):
            if not Path(getattr(self, name)).is_absolute():
                raise RenderError(f"--{name.replace('_', '-')} must be an absolute path; systemd needs one")
        return {
            "project_dir": self.project_dir,
            "venv": self.venv,
            "env_file": self.env_file,
            "user": self.user,
            "group": self.group,
            "writable_paths": " ".join(f"-{path}" for path in self.writable_paths),
            "backup_dir": self.backup_dir,
            "backup_writable_paths": f"-{self.backup_dir}",
        }


def systemd_files(units: SystemdUnits) -> dict[str, str]:
    return render("systemd", SYSTEMD_FILES, units.context())
