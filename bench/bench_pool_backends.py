"""PostgreSQL backends at peak for each pooling mode (DB_POOL): Gunicorn under 200 connections, and a serverless burst.

(a) Gunicorn with W gthread workers serves 200 concurrent connections (wrk) of the essay list; (b) N short-lived
processes each open a connection and query, all at once, as cold serverless functions do. A sampler counts client
backends of the benchmark database in pg_stat_activity every few milliseconds; the peak is what max_connections
must cover. Everything runs on a private PostgreSQL cluster (harness/postgres.py) and a private PgBouncer
(harness/pgbouncer.py, the shipped pgbouncer.ini), so the shared server's 100 connections are never at risk.

Goals (DESIGN.md): native ≤ W × DB_POOL_MAX_SIZE under Gunicorn; pgbouncer ≤ its pool size in both cases.
No pooling is measured alongside and reported in the details.

    python -m bench.bench_pool_backends --quick
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from bench.common import Measurement
from bench.goals import Goal
from bench.sampling import Sampler
from harness.gunicorn import running_gunicorn
from harness.pgbouncer import running_pgbouncer
from harness.postgres import Cluster, private_cluster
from harness.project import clean_env, manage_steps, run_in_project

COMMAND = "python -m bench.bench_pool_backends"
DATABASE = "folio_bench_pool"
CONNECTIONS = 200
THREADS = 4
POOL_MAX = 2  # DB_POOL_MAX_SIZE for native mode
BOUNCER_POOL = 5  # PgBouncer's default_pool_size for the benchmark
HOLD_SECONDS = 0.1  # how long each serverless query keeps its connection busy, so the burst overlaps


class PeakSampler(Sampler):
    """Counts the benchmark database's client backends in pg_stat_activity until stopped; keeps the maximum."""

    def __init__(self, cluster: Cluster) -> None:
        super().__init__(cluster)
        self.peak = 0

    def sample(self, db: psycopg.Connection) -> None:
        (count,) = db.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND backend_type = 'client backend'",
            [DATABASE],
        ).fetchone()
        self.peak = max(self.peak, count)


def backends_now(cluster: Cluster) -> int:
    with cluster.connect(autocommit=True) as admin:
        return admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND backend_type = 'client backend'", [DATABASE]
        ).fetchone()[0]


def wait_for_quiet(cluster: Cluster, *, at_most: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while backends_now(cluster) > at_most and time.monotonic() < deadline:
        time.sleep(0.2)


def site_env(database_url: str, mode: str, workers: int) -> dict[str, str]:
    # Development settings serve static files without collectstatic; the pooling code is base.py's either way.
    return clean_env(
        DJANGO_SETTINGS_MODULE="config.settings.development",
        DATABASE_URL=database_url,
        DB_POOL=mode,
        DB_POOL_MIN_SIZE="1",
        DB_POOL_MAX_SIZE=str(POOL_MAX),
        WEB_CONCURRENCY=str(workers),
        GUNICORN_THREADS=str(THREADS),
        LOG_LEVEL="WARNING",
    )


def wrk(url: str, seconds: int) -> dict[str, float]:
    wrk_path = shutil.which("wrk")
    if wrk_path is None:
        raise RuntimeError("wrk is not installed (apt-get install wrk)")
    result = subprocess.run(
        [wrk_path, "-t2", f"-c{CONNECTIONS}", f"-d{seconds}s", "--timeout", "10s", url],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
    )
    out = result.stdout
    bad = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    if errors := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        bad += sum(int(n) for n in errors.groups())
    rps = float(re.search(r"^Requests/sec:\s+([\d.]+)", out, re.MULTILINE).group(1))
    return {"requests/s": rps, "failed": bad}


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def gunicorn_peak(cluster: Cluster, env: dict[str, str], seconds: int, log: Path) -> tuple[int, dict[str, float]]:
    with running_gunicorn(env=env, log=log, extra_args=("--access-logfile", "/dev/null")) as server:
        # Warm-up: the essay list once per worker thread, so templates are compiled before the sampler starts.
        with urllib.request.urlopen(server.url("/"), timeout=30) as response:  # noqa: S310 - our loopback server
            response.read()
        with PeakSampler(cluster) as sampler:
            load = wrk(server.url("/"), seconds)
        return sampler.peak, load


def burst_peak(cluster: Cluster, env: dict[str, str], processes: int) -> tuple[int, dict[str, float]]:
    with PeakSampler(cluster) as sampler:
        result = run_in_project(
            [sys.executable, "-m", "bench.bench_pool_backends", "--burst", str(processes)], env=env, timeout=300
        )
    if result.returncode != 0:
        raise RuntimeError(f"serverless burst failed:\n{result.stderr[-2000:]}")
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    failures = [line for line in result.stderr.splitlines() if line.startswith("burst child failed: ")]
    if failures:
        outcome["first failure"] = failures[0].removeprefix("burst child failed: ")
    return sampler.peak, outcome


def burst(processes: int) -> dict[str, int]:
    """Fork `processes` children from one loaded Django, release them together; each connects, queries, exits.

    Forking skips the seconds of import per process that would spread a real burst out; what is measured is
    connections, and each child opens its own exactly as a cold function instance does.
    """
    import django

    django.setup()
    from django.db import connection

    from apps.content.models import Essay

    read_end, write_end = os.pipe()
    children = []
    for _ in range(processes):
        pid = os.fork()
        if pid == 0:  # the function instance
            os.close(write_end)
            os.read(read_end, 1)  # returns when the parent closes its end: everyone starts at once
            status = 0
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_sleep(%s)", [HOLD_SECONDS])
                Essay.objects.published().count()
            except Exception as exc:
                status = 1
                os.write(2, f"burst child failed: {type(exc).__name__}: {str(exc)[:200]}\n".encode())
            os._exit(status)
        children.append(pid)
    os.close(read_end)
    os.close(write_end)
    failed = sum(1 for pid in children if os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) != 0)
    return {"processes": processes, "failed": failed}


@contextmanager
def prepared_cluster() -> Iterator[tuple[Cluster, str]]:
    with private_cluster(max_connections=500) as cluster:
        url = cluster.create_database(DATABASE)
        env = clean_env(DJANGO_SETTINGS_MODULE="config.settings.development", DATABASE_URL=url)
        manage_steps(("migrate", "--noinput"), ("seed_demo",), env=env, timeout=600)
        yield cluster, url


def run(quick: bool) -> list[Measurement]:
    workers, seconds, processes = (2, 2, 60) if quick else (3, 6, 200)
    # --quick checks the harness: no pooling and the native pool's burst are measured in full runs only.
    modes = ("native", "pgbouncer") if quick else ("none", "native", "pgbouncer")
    peaks: dict[tuple[str, str], int] = {}
    details: dict[str, float | str] = {
        "gunicorn": f"{workers} gthread workers × {THREADS} threads, {CONNECTIONS} connections, {seconds} s",
        "serverless processes": processes,
        "native DB_POOL_MAX_SIZE": POOL_MAX,
        "pgbouncer default_pool_size": BOUNCER_POOL,
    }
    progress("private PostgreSQL, migrate, seed")
    with (
        tempfile.TemporaryDirectory(prefix="bench-pool-") as tmp,
        prepared_cluster() as (cluster, url),
        running_pgbouncer(upstream_port=cluster.port, pool_size=BOUNCER_POOL) as bouncer,
    ):
        urls = {"none": url, "native": url, "pgbouncer": bouncer.url(DATABASE)}
        for mode in modes:  # PgBouncer last: its idle server connections stay open
            env = site_env(urls[mode], mode, workers)
            wait_for_quiet(cluster, at_most=0)
            progress(f"{mode}: Gunicorn under {CONNECTIONS} connections")
            peaks[mode, "gunicorn"], load = gunicorn_peak(cluster, env, seconds, Path(tmp) / f"{mode}.log")
            details[f"{mode}: gunicorn requests/s"] = round(load["requests/s"], 1)
            details[f"{mode}: gunicorn failed requests"] = load["failed"]
            details[f"{mode}: peak backends, gunicorn"] = peaks[mode, "gunicorn"]
            if quick and mode == "native":
                continue
            wait_for_quiet(cluster, at_most=BOUNCER_POOL if mode == "pgbouncer" else 0)
            progress(f"{mode}: {processes} short-lived processes")
            peaks[mode, "serverless"], outcome = burst_peak(cluster, env, processes)
            details[f"{mode}: serverless failed processes"] = outcome["failed"]
            if "first failure" in outcome:
                details[f"{mode}: serverless first failure"] = outcome["first failure"]
            details[f"{mode}: peak backends, serverless"] = peaks[mode, "serverless"]

    native_limit = workers * POOL_MAX

    def at_most(name: str, peak: int, limit: int, why: str, spread: str) -> Measurement:
        return Measurement(
            name=name,
            subject=peak,
            baseline=limit,
            unit="backends",
            goal=Goal("≤", limit, unit="backends", label=f"({why})"),
            spread=spread,
            command=COMMAND,
            details=details,
        )

    def no_pooling(case: str) -> str:
        return f"no pooling: {peaks.get(('none', case), 'not measured in --quick')}"

    return [
        at_most(
            f"peak PostgreSQL backends, DB_POOL=native, Gunicorn {workers} workers, {CONNECTIONS} connections",
            peaks["native", "gunicorn"],
            native_limit,
            "workers × pool max",
            no_pooling("gunicorn"),
        ),
        at_most(
            f"peak PostgreSQL backends, DB_POOL=pgbouncer, Gunicorn {workers} workers, {CONNECTIONS} connections",
            peaks["pgbouncer", "gunicorn"],
            BOUNCER_POOL,
            "PgBouncer pool size",
            no_pooling("gunicorn"),
        ),
        at_most(
            f"peak PostgreSQL backends, DB_POOL=pgbouncer, {processes} short-lived processes (serverless)",
            peaks["pgbouncer", "serverless"],
            BOUNCER_POOL,
            "PgBouncer pool size",
            f"{no_pooling('serverless')}; native: {peaks.get(('native', 'serverless'), 'not measured in --quick')}",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(prog=COMMAND)
    parser.add_argument("--quick", action="store_true", help="2 workers, 2 s of load, a burst of 60 processes")
    parser.add_argument("--burst", type=int, help=argparse.SUPPRESS)  # the serverless burst's own process
    args = parser.parse_args()
    if args.burst:
        print(json.dumps(burst(args.burst)))
        return
    for measurement in run(quick=args.quick):
        verdict = "PASS" if measurement.passed else "MISS"
        print(f"{verdict} {measurement.name}: {measurement.subject:g} {measurement.unit} (goal {measurement.goal}; "
              f"{measurement.spread})")  # fmt: skip
    print(json.dumps(measurement.details, indent=2))


if __name__ == "__main__":
    main()
