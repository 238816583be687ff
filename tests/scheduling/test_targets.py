"""Every long-running target starts the worker that keeps the schedule; Vercel, which has none, calls the cron
endpoint, and the schedule holds the same jobs there."""

from __future__ import annotations

import json
import re

import pytest
import yaml
from django.core.management import load_command_class
from django.urls import resolve
from django_tasks_db.management.commands import db_worker

from apps.core.deploy import examples, systemd
from apps.core.scheduling import cron
from harness.project import ROOT, production_env, run_python
from tests.vercel.conftest import vercel_env

WORKER_COMMAND = ["python", "manage.py", "worker"]


def test_the_systemd_worker_unit_runs_manage_py_worker():
    unit = systemd.systemd_files(examples.EXAMPLE_UNITS)["folio-worker.service"]
    (exec_start,) = re.findall(r"^ExecStart=(.*)$", unit, flags=re.MULTILINE)
    assert exec_start == f"{examples.EXAMPLE_UNITS.venv}/bin/{' '.join(WORKER_COMMAND)}"


def test_the_compose_worker_service_runs_manage_py_worker():
    compose = yaml.safe_load((ROOT / "docker-compose.production.yml").read_text(encoding="utf-8"))
    assert compose["services"]["worker"]["command"] == WORKER_COMMAND


def test_manage_py_worker_is_db_worker_with_its_options_and_the_schedule():
    command = load_command_class("apps.core", "worker")
    assert isinstance(command, db_worker.Command)
    options = {action.dest for action in command.create_parser("manage.py", "worker")._actions}
    assert {"queue_name", "interval", "batch", "worker_id", "max_tasks"} <= options


def test_vercel_calls_the_cron_endpoint_that_enqueues_the_same_schedule():
    (schedule,) = json.loads((ROOT / "vercel.json").read_text(encoding="utf-8"))["schedules"]
    assert resolve(schedule["path"]).func.view is cron.run


SCHEDULE = "from django.conf import settings; print(settings.SCHEDULED_JOBS.get('backup_database'))"


@pytest.mark.parametrize(("schedule", "every"), [("off", None), ("daily", 86400), ("Hourly", 3600), ("weekly", 604800)])
def test_the_worker_backs_up_only_when_backup_schedule_says_so(schedule, every):
    result = run_python(SCHEDULE, env=production_env(BACKUP_SCHEDULE=schedule))
    assert result.returncode == 0, result.stderr
    expected = None if every is None else {"task": "apps.core.scheduling.tasks.backup_database", "every": every}
    assert result.stdout.strip() == str(expected)


def test_backups_are_off_in_the_schedule_by_default_since_a_vm_has_its_timer():
    result = run_python(SCHEDULE, env=production_env())
    assert result.stdout.strip() == "None", result.stderr


def test_a_backup_schedule_that_is_not_one_is_refused_naming_the_choices():
    result = run_python(SCHEDULE, env=production_env(BACKUP_SCHEDULE="nightly"))
    assert result.returncode != 0
    assert "BACKUP_SCHEDULE='nightly' is not a schedule: use one of off, hourly, daily, weekly" in result.stderr


VERCEL_SETTINGS = {
    "DJANGO_SETTINGS_MODULE": "config.settings.vercel",
    "DATABASE_URL": "postgres://folio@db.invalid/folio",
}


def test_vercel_refuses_a_backup_schedule_its_cron_function_could_not_run():
    result = run_python(SCHEDULE, env=vercel_env(BACKUP_SCHEDULE="daily", **VERCEL_SETTINGS))
    assert result.returncode != 0
    assert "BACKUP_SCHEDULE=daily cannot run on Vercel" in result.stderr
    control = run_python(SCHEDULE, env=vercel_env(BACKUP_SCHEDULE="off", **VERCEL_SETTINGS))
    assert control.returncode == 0 and control.stdout.strip() == "None", control.stderr
