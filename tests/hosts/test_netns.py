"""Namespaces a crashed run left are removed (their processes killed by pid) when the next run starts; a live
run's are not."""

from __future__ import annotations

import os
import secrets
import subprocess

import pytest

from harness.availability import unavailable
from harness.netns import OWNERS, available, in_namespace, ip, namespaces, process_start_time, remove_leftovers
from harness.processes import group_alive, stop_process_group

pytestmark = pytest.mark.services


@pytest.fixture
def stray_namespace():
    """A namespace in the bed's family with a process inside; always gone afterwards."""
    if reason := available():
        unavailable(reason)
    prefix = f"f{secrets.token_hex(2)}"
    name = f"{prefix}-app1"
    ip("netns", "add", name)
    # A stand-in for a server a crashed run left running: it waits to be killed.
    process = subprocess.Popen(in_namespace(name, ["sleep", "600"]), start_new_session=True)
    try:
        yield prefix, name, process
    finally:
        stop_process_group(process, grace=5)
        ip("netns", "delete", name, check=False)
        (OWNERS / prefix).unlink(missing_ok=True)


def test_a_crashed_runs_namespace_and_its_processes_are_removed_at_start(stray_namespace):
    _, name, process = stray_namespace
    removed = remove_leftovers()
    assert name in removed and name not in namespaces()
    process.wait(timeout=10)
    assert process.returncode == -9 and not group_alive(process.pid)


def test_a_live_runs_namespace_is_left_alone(stray_namespace):
    prefix, name, process = stray_namespace
    OWNERS.mkdir(parents=True, exist_ok=True)
    (OWNERS / prefix).write_text(f"{os.getpid()} {process_start_time(os.getpid())}")
    assert name not in remove_leftovers()
    assert name in namespaces() and process.poll() is None
