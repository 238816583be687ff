"""Find the benchmarks and run each in its own process group, so one failure becomes an error row, not a crash."""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import Measurement

ROOT = Path(__file__).resolve().parent.parent
PREFIX = "bench_"
LOG_TAIL_LINES = 40


@dataclass
class BenchmarkResult:
    module: str  # dotted name, e.g. bench.bench_cold_start
    measurements: list[Measurement] = field(default_factory=list)
    error: str = ""  # why the benchmark did not report; empty when it did
    log_tail: str = ""  # its last output lines, kept for the report when it failed
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.module.rpartition(".")[2].removeprefix(PREFIX)

    @property
    def command(self) -> str:
        return f"python -m bench --only {self.name}"


def discover(package: str = "bench") -> list[str]:
    """Dotted names of every `<package>/bench_<topic>.py`, in name order."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"no benchmark package {package!r}")
    found = {
        path.stem
        for location in spec.submodule_search_locations
        for path in Path(location).glob(f"{PREFIX}*.py")
        if path.is_file()
    }
    return [f"{package}.{stem}" for stem in sorted(found)]


def select(modules: list[str], only: list[str]) -> list[str]:
    """The modules named in `only` (topic names such as cold_start); an unknown name is an error, not a no-op."""
    if not only:
        return modules
    by_name = {module.rpartition(".")[2].removeprefix(PREFIX): module for module in modules}
    unknown = sorted(set(only) - set(by_name))
    if unknown:
        raise SystemExit(f"no benchmark named {', '.join(unknown)}; there are: {', '.join(sorted(by_name)) or 'none'}")
    return [by_name[name] for name in only]


def _pump(stream, name: str, tail: deque[str], echo: bool) -> None:
    for line in stream:
        tail.append(line.rstrip("\n"))
        if echo:
            sys.stderr.write(f"[{name}] {line}")
            sys.stderr.flush()


def _group_alive(pgid: int) -> bool:
    """Whether any process of the group still runs; zombies (dead, waiting to be reaped) do not count."""
    proc = Path("/proc")
    if not proc.is_dir():  # not Linux: signal 0 cannot tell a zombie from a live process, but it is the best there is
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        return True
    for stat in proc.glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            # Fields after the parenthesised command name: state, ppid, pgrp, ...
            state, _, pgrp = stat.read_text().rpartition(")")[2].split()[:3]
            if int(pgrp) == pgid and state != "Z":
                return True
    return False


def _stop_group(process: subprocess.Popen, grace: float = 5.0) -> bool:
    """SIGTERM, then SIGKILL, everything left in the worker's process group; True if anything was running."""
    pgid = process.pid
    if not _group_alive(pgid):
        return False
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        process.poll()  # reap the worker itself, or it stays a zombie member of the group
        if not _group_alive(pgid):
            return True
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
    return True


def _import_root(module: str) -> str:
    """The sys.path entry the module's package was found under, so the worker finds it the same way."""
    spec = importlib.util.find_spec(module.partition(".")[0])
    locations = list(spec.submodule_search_locations or []) if spec else []
    return str(Path(locations[0]).parent) if locations else str(ROOT)


def run_one(module: str, *, quick: bool, timeout: float, echo: bool = True) -> BenchmarkResult:
    """Run one benchmark module in a fresh interpreter and collect what it reported, or why it did not."""
    result = BenchmarkResult(module)
    env = dict(os.environ)
    paths = dict.fromkeys([str(ROOT), _import_root(module), *filter(None, [env.get("PYTHONPATH")])])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env["MPLBACKEND"] = "Agg"
    tail: deque[str] = deque(maxlen=LOG_TAIL_LINES)
    with tempfile.TemporaryDirectory(prefix="folio-bench-") as scratch:
        out = Path(scratch) / "result.json"
        command = [sys.executable, "-m", "bench.worker", module, "--out", str(out)]
        if quick:
            command.append("--quick")
        started = time.monotonic()
        # Its own session: on a timeout the whole group (gunicorn, nginx, psql children) goes, not just the worker.
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            start_new_session=True,
        )
        reader = threading.Thread(target=_pump, args=(process.stdout, result.name, tail, echo), daemon=True)
        reader.start()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _stop_group(process)
            process.wait()
            result.error = f"timed out after {timeout:.0f} s"
        except BaseException:
            # Ctrl-C or SIGTERM to the harness: its own session shields the group, so stop it here or it lingers.
            _stop_group(process)
            raise
        else:
            # The worker has exited; anything still in its group is a server the benchmark forgot to stop.
            if _stop_group(process):
                result.warnings.append("left processes running after it finished; the harness stopped them")
        result.seconds = time.monotonic() - started
        reader.join(timeout=5)
        result.log_tail = "\n".join(tail)
        if not result.error:
            result.error = _read_result(out, process.returncode, result)
    return result


def _read_result(out: Path, returncode: int, result: BenchmarkResult) -> str:
    """Fill `result.measurements` from the worker's file; return the error text, empty on success."""
    try:
        payload = json.loads(out.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return f"exited with status {returncode} without reporting"
    if "error" in payload:
        return payload["error"]
    if returncode != 0:
        return f"exited with status {returncode} after reporting"
    known = {f.name for f in dataclasses.fields(Measurement)}
    for reported in payload["measurements"]:
        # A benchmark's Measurement subclass may carry more fields: keep them visible, as details.
        extra = {key: value for key, value in reported.items() if key not in known}
        measurement = Measurement(**{key: value for key, value in reported.items() if key in known})
        measurement.details.update({key: str(value) for key, value in extra.items()})
        result.measurements.append(measurement)
    return ""


def run_all(modules: list[str], *, quick: bool, timeout: float, echo: bool = True) -> list[BenchmarkResult]:
    """Each benchmark in turn, never in parallel: they would compete for the same two cores."""
    results = []
    for module in modules:
        if echo:
            sys.stderr.write(f"== {module} ({'quick' if quick else 'full'}, timeout {timeout:.0f} s)\n")
        results.append(run_one(module, quick=quick, timeout=timeout, echo=echo))
    return results
