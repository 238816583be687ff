"""Every long-running target starts the worker that keeps the schedule; Vercel, which has none, calls the cron
endpoint, and the schedule holds the same jobs there."""

from __future__ import annotations

import json
import re

import yaml
from django.core.management import load_command_class
from django.urls import resolve
from django_tasks_db.management.commands import db_worker

from apps.core.deploy import examples, systemd
from apps.core.scheduling import cron
from harness.project import ROOT

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
    assert resolve(schedule["path"]).func is cron.run
