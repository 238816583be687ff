"""The harness's one way to start and stop a server: a process group, a bounded wait, the whole group stopped."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from harness.ports import free_port
from harness.processes import ServiceDidNotStart, group_alive, stop_process_group, wait_until_listening


def start(code: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], start_new_session=True)


def wait_for_file(path: Path, process: subprocess.Popen, seconds: float = 30) -> str:
    deadline = time.monotonic() + seconds
    while not (path.exists() and path.read_text()):
        assert process.poll() is None and time.monotonic() < deadline, "the server never wrote its file"
        time.sleep(0.05)
    return path.read_text()


def test_a_worker_that_outlives_its_master_is_stopped_with_the_group(tmp_path):
    pid_file = tmp_path / "worker.pid"
    master = start(
        f"""
        import subprocess, sys, time
        worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
        open({str(pid_file)!r}, "w").write(str(worker.pid))
        time.sleep(300)
        """
    )
    wait_for_file(pid_file, master)
    assert stop_process_group(master, grace=20) is True
    assert master.returncode == -signal.SIGTERM
    assert not group_alive(master.pid)


def test_a_server_that_ignores_its_stop_signal_is_killed_after_the_grace(tmp_path):
    ready = tmp_path / "ready"
    stubborn = start(
        f"""
        import signal, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        open({str(ready)!r}, "w").write("ignoring SIGTERM")
        time.sleep(300)
        """
    )
    wait_for_file(ready, stubborn)
    assert stop_process_group(stubborn, grace=0.5) is True
    assert stubborn.returncode == -signal.SIGKILL


def test_stopping_a_group_that_already_exited_reports_nothing_was_running():
    done = start("pass")
    done.wait(timeout=30)
    assert stop_process_group(done) is False


def test_waiting_for_a_server_that_exits_says_so_with_its_log_at_once():
    crashed = start("import sys; sys.exit(3)")
    started = time.monotonic()
    with pytest.raises(ServiceDidNotStart, match=r"(?s)toy server on 127\.0\.0\.1:\d+ exited with status 3:\nboom"):
        wait_until_listening(crashed, [free_port()], what="toy server", timeout=60, log=lambda: "boom")
    # Far below the 60 s timeout: an exited server is reported when seen, not when the wait runs out.
    assert time.monotonic() - started < 30


def test_waiting_for_a_server_that_never_listens_ends_at_the_timeout():
    silent = start("import time; time.sleep(300)")
    try:
        with pytest.raises(ServiceDidNotStart, match=r"silent server on .* was not ready within 1 s"):
            wait_until_listening(silent, [free_port()], what="silent server", timeout=1)
    finally:
        stop_process_group(silent)


def test_waiting_returns_once_the_server_listens():
    port = free_port()
    server = start(
        f"""
        import socket, time
        listener = socket.create_server(("127.0.0.1", {port}))
        time.sleep(300)
        """
    )
    try:
        wait_until_listening(server, [port], what="listener", timeout=60)
    finally:
        stop_process_group(server)
