"""The systemd units for a VM: the web server (Gunicorn) and the socket it inherits, the task worker, and the backup
with its timer."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

from .templates import DEPLOY_DIR, RenderError, render

SYSTEMD_FILES = [
    "folio-web.socket",
    "folio-web.service",
    "folio-worker.service",
    "folio-backup.service",
    "folio-backup.timer",
]
# Who may connect to a unix socket: nginx, whose Debian user and group is www-data.
NGINX_GROUP = "www-data"


@cache
def release_tool() -> ModuleType:
    """deploy/vm/release.py, the one place the release layout is decided (a standalone script: root runs it with
    the system's python3, before any virtualenv exists)."""
    spec = importlib.util.spec_from_file_location("folio_release", DEPLOY_DIR / "vm" / "release.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
    # gunicorn.conf.py's bind (GUNICORN_BIND): where folio-web.socket listens.
    bind: str = "127.0.0.1:8000"

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
            "release_env": release_tool().RELEASE_ENV,
            **self.socket(),
        }

    def socket(self) -> dict[str, str]:
        """folio-web.socket's ListenStream= from Gunicorn's bind: `host:port`, `[v6]:port` or `unix:/path`."""
        if self.bind.startswith("unix:"):
            path = self.bind.removeprefix("unix:")
            if not path.startswith("/"):
                raise RenderError(f"GUNICORN_BIND={self.bind} must name an absolute path for systemd's socket")
            return {"listen": path, "socket_group": NGINX_GROUP}
        host, _, port = self.bind.rpartition(":")
        if not port.isdigit() or not host:
            raise RenderError(f"GUNICORN_BIND={self.bind} is not host:port or unix:/path")
        return {"listen": self.bind, "socket_group": ""}


def systemd_files(units: SystemdUnits) -> dict[str, str]:
    return render("systemd", SYSTEMD_FILES, units.context())
