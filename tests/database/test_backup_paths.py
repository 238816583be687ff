"""Every way a backup is made on a server, each through the real component, each restored: `make backup` with only
requirements/production.txt installed, the VM timer's command, the worker's scheduled job, and the off-site copy
landing in an S3 API server with the dump's bytes."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from apps.core.dbops.backup_offsite import PREFIX
from harness.availability import unavailable
from harness.processes import ServiceDidNotStart, read_log, stop_process_group
from harness.project import ROOT, manage, production_env, run_in_project
from harness.s3 import running_s3
from tests.database.conftest import site_env
from tests.database.test_backups import essays, one_line_error

pytestmark = [pytest.mark.postgres, pytest.mark.services]

UV = Path(sys.executable).parent / "uv"
# A fresh Django process on a loaded 2-core machine has taken a minute to start (harness/project.py HUNG_AFTER);
# then one look at the schedule (the worker's first, at start) and a dump of a few hundred kilobytes.
WORKER_BACKUP_WITHIN = 180.0


def server_env(server, name: str, tmp_path: Path, **overrides: str) -> dict[str, str]:
    """Production settings as a VM's env file holds them, backing up into tmp_path/backups."""
    (tmp_path / "media").mkdir(exist_ok=True)
    return production_env(
        DATABASE_URL=server.url(name),
        BACKUP_DIR=str(tmp_path / "backups"),
        MEDIA_ROOT=str(tmp_path / "media"),
        **overrides,
    )


def restored_matches(server, make_database, dump: Path, source: str) -> None:
    fresh = make_database()
    restored = manage("db_restore", str(dump), env=site_env(server.url(fresh)))
    assert restored.returncode == 0, restored.stderr
    expected = essays(server, source)
    assert len(expected) >= 12
    assert essays(server, fresh) == expected


def the_dump(tmp_path: Path) -> Path:
    (dump,) = (tmp_path / "backups").glob("folio-*.dump")
    return dump


def test_make_backup_and_restore_work_with_only_the_production_requirements(server, seeded, make_database, tmp_path):
    if not UV.exists():
        unavailable(f"uv is not installed at {UV} (make install bootstraps it)")
    venv = tmp_path / "production-venv"
    for command in (
        [str(UV), "venv", "--quiet", "--python", sys.executable, str(venv)],
        [str(UV), "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"),
         "-r", str(ROOT / "requirements" / "production.txt")],
    ):  # fmt: skip
        built = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
        assert built.returncode == 0, built.stderr
    python = str(venv / "bin" / "python")
    without_dev = subprocess.run([python, "-c", "import pytest"], capture_output=True, check=False)
    assert without_dev.returncode != 0, "the production venv must not hold the dev toolchain"

    # No dev venv where the Makefile looks for one (VENV), the production venv where a VM keeps it (VM_VENV): make
    # must pick the latter by itself and install nothing (an `install` step would create VENV).
    no_dev_venv = tmp_path / "no-dev-venv"
    make = ["make", "--no-print-directory", f"VENV={no_dev_venv}", f"VM_VENV={venv}"]
    env = server_env(server, seeded, tmp_path)
    backed_up = run_in_project([*make, "backup"], env=env)
    assert backed_up.returncode == 0, backed_up.stdout + backed_up.stderr
    assert f"{venv}/bin/python manage.py db_backup" in backed_up.stdout
    assert not no_dev_venv.exists()

    fresh = make_database()
    restore_env = server_env(server, fresh, tmp_path)
    restored = run_in_project([*make, "restore", f"BACKUP={the_dump(tmp_path)}"], env=restore_env)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert essays(server, fresh) == essays(server, seeded)
    assert len(essays(server, fresh)) >= 12


def test_a_dump_made_by_the_timers_command_restores_every_essay(server, seeded, make_database, tmp_path):
    units = tmp_path / "units"
    rendered = manage("render_deploy", "systemd", "--output-dir", str(units), env=production_env())
    assert rendered.returncode == 0, rendered.stderr
    service = (units / "folio-backup.service").read_text()
    (exec_start,) = re.findall(r"^ExecStart=(.*)$", service, flags=re.MULTILINE)
    (directory,) = re.findall(r"^WorkingDirectory=(.*)$", service, flags=re.MULTILINE)
    assert "OnCalendar=" in (units / "folio-backup.timer").read_text()

    result = subprocess.run(
        exec_start.split(), cwd=directory, env=server_env(server, seeded, tmp_path),
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    restored_matches(server, make_database, the_dump(tmp_path), seeded)


def backup_task_succeeded(server, name: str) -> bool:
    with server.connect(name) as db:
        return bool(
            db.execute(
                "SELECT 1 FROM django_tasks_database_dbtaskresult"
                " WHERE task_path = 'apps.core.scheduling.tasks.backup_database' AND status = 'SUCCESSFUL'"
            ).fetchall()
        )


def test_a_dump_made_by_the_workers_scheduled_job_restores_every_essay(server, seeded, make_database, tmp_path):
    env = server_env(server, seeded, tmp_path, BACKUP_SCHEDULE="daily")
    log = tmp_path / "worker.log"
    with log.open("wb") as output:
        # The command deploy/systemd's folio-worker.service and docker-compose.production.yml's worker run.
        worker = subprocess.Popen(
            [sys.executable, "manage.py", "worker", "--interval", "0.1", "--no-startup-delay"],
            cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + WORKER_BACKUP_WITHIN
        while not backup_task_succeeded(server, seeded):
            if worker.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"no successful backup task within {WORKER_BACKUP_WITHIN:.0f} s:\n{read_log(log)()}")
            time.sleep(0.2)
    finally:
        stop_process_group(worker, stop_signal=signal.SIGTERM, grace=60)
    restored_matches(server, make_database, the_dump(tmp_path), seeded)


@pytest.fixture
def s3(tmp_path):
    try:
        with running_s3(tmp_path / "moto.log") as s3_server:
            yield s3_server
    except ServiceDidNotStart as exc:
        unavailable(str(exc))


def s3_env(s3, bucket: str) -> dict[str, str]:
    """The off-site copy's settings; uploads stay on disk (no AWS_STORAGE_BUCKET_NAME), so the media tar goes too."""
    env = s3.env(bucket)
    env["BACKUP_BUCKET"] = env.pop("AWS_STORAGE_BUCKET_NAME")
    return env


def test_the_off_site_copy_puts_the_dump_and_the_media_tar_in_the_bucket_byte_for_byte(s3, server, seeded, tmp_path):
    bucket = s3.create_bucket("folio-backups")
    result = manage("db_backup", env=server_env(server, seeded, tmp_path, **s3_env(s3, bucket)))
    assert result.returncode == 0, result.stderr
    local = sorted((tmp_path / "backups").iterdir())
    assert [path.suffix for path in local] == [".dump", ".gz"]
    assert sorted(s3.keys(bucket)) == [PREFIX + path.name for path in local]
    for path in local:
        body = s3.client().get_object(Bucket=bucket, Key=PREFIX + path.name)["Body"].read()
        assert body == path.read_bytes()


def test_a_failed_off_site_copy_fails_the_run_naming_the_bucket_and_keeps_the_local_backup(
    s3, server, seeded, tmp_path
):
    result = manage("db_backup", env=server_env(server, seeded, tmp_path, **s3_env(s3, "no-such-bucket")))
    assert "its off-site copy to BACKUP_BUCKET=no-such-bucket failed" in one_line_error(result)
    assert the_dump(tmp_path).read_bytes()[:5] == b"PGDMP"
