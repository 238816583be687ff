"""Starting a server in a process group of its own, waiting until it is ready, and stopping the whole group.

Every server the harness starts (Gunicorn, nginx, PgBouncer, PostgreSQL, moto, a benchmark's worker) runs with
`start_new_session=True`, so its workers and helpers share one process group; `stop_process_group()` is the one
way they are stopped: the server's own stop signal, a bounded wait for every member of the group, then SIGKILL.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from harness.ports import port_open

# Once SIGKILL is sent nothing can delay the exit but the kernel; ten seconds is a margin for a loaded machine.
KILL_WAIT = 10.0


class ServiceDidNotStart(RuntimeError):
    """A server exited or did not become ready in time; the message names it and shows its log."""


def group_alive(pgid: int) -> bool:
    """Whether any process of the group still runs; zombies (dead, waiting to be reaped) do not count."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False  # the cheap answer, and the common one once a server has stopped
    proc = Path("/proc")
    if not proc.is_dir():  # not Linux: signal 0 cannot tell a zombie from a live process, but it is the best there is
        return True
    for stat in proc.glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            # Fields after the parenthesised command name: state, ppid, pgrp, ...
            state, _, pgrp = stat.read_text().rpartition(")")[2].split()[:3]
            if int(pgrp) == pgid and state != "Z":
                return True
    return False


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signum)


def stop_process_group(process: subprocess.Popen, *, stop_signal: int = signal.SIGTERM, grace: float = 15.0) -> bool:
    """Send `stop_signal` to the group `process` leads, wait up to `grace` seconds for every member to exit (a
    master whose workers outlive it is not stopped), then SIGKILL what is left. True if anything was running.

    The signal is the server's own graceful stop: SIGTERM for Gunicorn and PgBouncer, SIGQUIT for nginx, SIGINT
    (fast shutdown) for PostgreSQL."""
    if not group_alive(process.pid):
        process.poll()  # reap the leader if it is a zombie; never wait on one that was not a group leader at all
        return False
    # process.poll() reaps the leader itself, or it stays a zombie member of the group.
    stop_group(process.pid, stop_signal=stop_signal, grace=grace, while_waiting=process.poll)
    _reap(process)
    return True


def stop_group(
    pgid: int,
    *,
    stop_signal: int = signal.SIGTERM,
    grace: float = 15.0,
    while_waiting: Callable[[], object] = lambda: None,
) -> None:
    """The same stop for a group known only by its id (a server a crashed run left behind, found by its pidfile)."""
    _signal_group(pgid, stop_signal)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        while_waiting()
        if not group_alive(pgid):
            return
        time.sleep(0.1)
    _signal_group(pgid, signal.SIGKILL)


def _reap(process: subprocess.Popen) -> None:
    """Collect the leader's exit status (it is dead or dying by now), so it leaves no zombie and has a returncode."""
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=KILL_WAIT)


def wait_until_ready(
    process: subprocess.Popen,
    ready: Callable[[], bool],
    *,
    what: str,
    timeout: float,
    interval: float = 0.1,
    log: Callable[[], str] | None = None,
) -> None:
    """Poll `ready()` until it is true; raise ServiceDidNotStart, with `log()` appended, as soon as the process
    exits or after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not ready():
        if process.poll() is not None:
            problem = f"{what} exited with status {process.returncode}"
        elif time.monotonic() > deadline:
            problem = f"{what} was not ready within {timeout:.0f} s"
        else:
            time.sleep(interval)
            continue
        raise ServiceDidNotStart(f"{problem}:\n{log()}" if log else problem)


def wait_until_listening(
    process: subprocess.Popen,
    ports: Iterable[int],
    *,
    what: str,
    timeout: float,
    host: str = "127.0.0.1",
    log: Callable[[], str] | None = None,
) -> None:
    """Until every one of `ports` on `host` accepts a connection (see wait_until_ready)."""
    ports = list(ports)
    wait_until_ready(
        process,
        lambda: all(port_open(host, port, timeout=0.3) for port in ports),
        what=f"{what} on {host}:{','.join(map(str, ports))}",
        timeout=timeout,
        log=log,
    )


def read_log(path: Path, tail: int = 4000) -> Callable[[], str]:
    """A `log` argument for the waits above: the end of a server's log file, or nothing when it has none yet."""

    def read() -> str:
        try:
            return path.read_text(encoding="utf-8", errors="replace")[-tail:]
        except OSError:
            return ""

    return read


def lines_logged(read: Callable[[], str], marker: str, *, expected: int = 1, within: float = 30.0) -> list[str]:
    """The lines of a log holding `marker`, once `expected` of them are there or `within` seconds have passed.
    Servers (Gunicorn, nginx) write a request's access line after its response has gone out, so a fast client can
    read the log before the line is there; `within` is the bound for a loaded machine, not a product limit."""
    deadline = time.monotonic() + within
    while True:
        lines = [line for line in read().splitlines() if marker in line]
        if len(lines) >= expected or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


def child_pids(pid: int) -> set[int]:
    """The direct children of `pid` (a server's workers), or none once it is gone."""
    try:
        return {int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}
    except OSError:
        return set()
