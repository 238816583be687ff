"""Find the benchmarks and run each in its own process group, so one failure becomes an error row, not a crash."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import Measurement
from bench.goals import Goal
from harness.processes import stop_process_group
from harness.project import ROOT

PREFIX = "bench_"
LOG_TAIL_LINES = 40
# How long a benchmark's process group gets to exit on SIGTERM before SIGKILL.
STOP_GRACE = 5.0


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
            stop_process_group(process, grace=STOP_GRACE)
            process.wait()
            result.error = f"timed out after {timeout:.0f} s"
        except BaseException:
            # Ctrl-C or SIGTERM to the harness: its own session shields the group, so stop it here or it lingers.
            stop_process_group(process, grace=STOP_GRACE)
            raise
        else:
            # The worker has exited; anything still in its group is a server the benchmark forgot to stop.
            if stop_process_group(process, grace=STOP_GRACE):
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
        fields = {key: value for key, value in reported.items() if key in known}
        measurement = Measurement(**{**fields, "goal": Goal(**fields["goal"])})
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
