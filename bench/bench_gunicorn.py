"""Folio's essay page under Gunicorn, and a static file through nginx, against a hello-world WSGI app.

Both apps run under the same gunicorn.conf.py (gthread, the machine's default worker and thread counts) with
production settings on a throwaway PostgreSQL database; nginx serves the site rendered by `render_deploy`. wrk
drives 64 connections on loopback, the targets alternating round by round so that a noisy neighbour hurts all
of them alike. Hello-world is the ceiling: no Django page under the same Gunicorn answers faster.

Goals: the essay page (cached, as readers get it) ≥ 0.8× hello-world's requests/s and p99 ≤ 1.5× its p99; the
essay page with the page cache off (PAGE_CACHE_SECONDS=0: every request the render a cache miss pays for)
≥ 0.3× hello-world's requests/s; a static file through nginx at least as fast as hello-world through Gunicorn.
The uncached page's limit is a bare `startproject` page reading the same row (bench/bare_django.py) under the same
Gunicorn: what any Django page that reads the database answers at, where hello-world reads nothing.

    python -m bench.bench_gunicorn --quick
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from bench import bare_django
from bench.common import Measurement, median_and_spread
from bench.goals import Goal
from harness.gunicorn import running_gunicorn
from harness.nginx import check_config, running_nginx, write_main_conf
from harness.ports import free_port
from harness.postgres import LOCAL
from harness.project import ROOT, SITE_STEPS, manage, manage_steps, production_env
from harness.tls import self_signed_certificate

CONNECTIONS = 64
ESSAY_RPS_GOAL = Goal("≥", 0.8)
ESSAY_P99_GOAL = Goal("≤", 1.5)
UNCACHED_RPS_GOAL = Goal("≥", 0.3)
HOST = "folio.bench"
COMMAND = "python -m bench.bench_gunicorn"

UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


@dataclass
class Run:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    bad_responses: int
    # Requests without an answer within wrk's 2 s timeout: counted apart, as a stall of the machine causes them too.
    timeouts: int = 0
    retried: bool = False


def parse_wrk(output: str) -> Run:
    """Requests/sec, the 50th and 99th latency percentiles (`--latency`), non-2xx/3xx responses and socket
    errors (connect, read, write), and timeouts."""

    def latency(percent: str) -> float:
        value, unit = re.search(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE).groups()
        return float(value) * UNITS[unit]

    bad = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", output))
    timeouts = 0
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if errors:
        *socket_errors, timeouts = (int(n) for n in errors.groups())
        bad += sum(socket_errors)
    rps = float(re.search(r"^Requests/sec:\s+([\d.]+)", output, re.MULTILINE).group(1))
    return Run(rps, latency("50"), latency("99"), bad, timeouts)


# What nginx adds: Gunicorn trusts it from 127.0.0.1, so Django sees HTTPS and serves the page, not a redirect.
PROXY_HEADERS = {"Host": HOST, "X-Forwarded-Proto": "https", "X-Real-IP": "127.0.0.1"}


def expect_200(url: str) -> None:
    """One request first: a benchmark of redirects or error pages would measure the wrong thing."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(parts.hostname, parts.port, context=ssl._create_unverified_context())  # noqa: S323 - our self-signed certificate
    else:
        conn = http.client.HTTPConnection(parts.hostname, parts.port)
    try:
        conn.request("GET", parts.path, headers=PROXY_HEADERS)
        status = conn.getresponse().status
    finally:
        conn.close()
    if status != 200:
        raise RuntimeError(f"{url} answered {status}, not 200; nothing to benchmark")


def wrk(url: str, seconds: int) -> Run:
    """One round of load. A failed response fails the benchmark; a round with timeouts only is run once more
    (the machine stalling for two seconds says nothing about the app), and fails it if they come back."""
    wrk_path = shutil.which("wrk")
    if wrk_path is None:
        raise RuntimeError("wrk is not installed (apt-get install wrk)")
    headers = [argument for name, value in PROXY_HEADERS.items() for argument in ("-H", f"{name}: {value}")]
    command = [wrk_path, "-t2", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", *headers, url]

    def load() -> tuple[Run, str]:
        output = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=True).stdout
        return parse_wrk(output), output

    run, output = load()
    if run.timeouts and not run.bad_responses:
        print(f"{url}: {run.timeouts} requests timed out (> 2 s); running the round again", file=sys.stderr)
        run, output = load()
        run.retried = True
    if run.bad_responses or run.timeouts:
        failed = run.bad_responses + run.timeouts
        raise RuntimeError(f"{url}: {failed} failed or timed-out responses under load:\n{output}")
    return run


def render_site(env: dict[str, str], out: Path, https_port: int, cert: Path, key: Path) -> Path:
    result = manage(
        "render_deploy", "nginx", "--domain", HOST, "--output-dir", str(out),
        "--listen-address", "127.0.0.1", "--http-port", str(free_port()), "--https-port", str(https_port),
        "--certificate", str(cert), "--certificate-key", str(key),
        "--snippets-dir", str(out / "snippets"), "--log-dir", str(out / "logs"),
        env=env, timeout=120,
    )  # fmt: skip
    if result.returncode:
        raise RuntimeError(f"render_deploy nginx failed: {result.stderr}")
    conf = write_main_conf(out, includes=[out / "folio.conf"])
    checked = check_config(conf)
    if checked.returncode:
        raise RuntimeError(f"nginx -t failed: {checked.stderr}")
    return conf


def ratio_measurement(name: str, subject: list[float], baseline: list[float], **fields) -> Measurement:
    """Medians and their ratio, which the goal judges."""
    subject_median, subject_spread = median_and_spread(subject)
    baseline_median, baseline_spread = median_and_spread(baseline)
    return Measurement(
        name=name,
        subject=subject_median,
        baseline=baseline_median,
        ratio=subject_median / baseline_median,
        spread=f"subject {subject_spread}; baseline {baseline_spread}",
        **fields,
    )


def run(quick: bool) -> list[Measurement]:
    rounds, seconds = (2, 2) if quick else (5, 8)
    with (
        tempfile.TemporaryDirectory(prefix="bench-gunicorn-") as tmp,
        LOCAL.scratch_database(prefix="folio_bench_gunicorn") as database_url,
    ):
        root = Path(tmp)
        gunicorn_port, uncached_port, bare_port, https_port = free_port(), free_port(), free_port(), free_port()
        env = production_env(
            DATABASE_URL=database_url,
            ALLOWED_HOSTS=HOST,
            STATIC_ROOT=str(root / "staticfiles"),
            MEDIA_ROOT=str(root / "media"),
            BEHIND_PROXY="true",
            GUNICORN_BIND=f"127.0.0.1:{gunicorn_port}",
            LOG_LEVEL="WARNING",
        )
        manage_steps(*SITE_STEPS, env=env, timeout=600)
        slug = json.loads((ROOT / "apps/content/demo/essays.json").read_text())[0]["slug"]
        manifest = json.loads((root / "staticfiles" / "staticfiles.json").read_text())
        static_path = "/static/" + manifest["paths"]["css/folio.css"]
        cert, key = self_signed_certificate(root / "cert.pem", root / "key.pem", domain=HOST)
        conf = render_site(env, root / "nginx", https_port, cert, key)
        bare_project, bare_env = bare_django.make_project(root, database_url)
        # Access logs off for both apps alike: writing a line per request is not what is being compared.
        quiet = ("--access-logfile", "/dev/null")
        with (
            running_gunicorn(env=env, log=root / "folio.log", port=gunicorn_port, host_header=HOST, extra_args=quiet)
            as folio,
            running_gunicorn(
                env={**env, "PAGE_CACHE_SECONDS": "0"}, log=root / "uncached.log", port=uncached_port,
                host_header=HOST, extra_args=quiet,
            ) as uncached,
            running_gunicorn(env=env, log=root / "hello.log", app="bench.hello_wsgi", ready_path="/", extra_args=quiet)
            as hello,
            running_gunicorn(
                env=bare_env, log=root / "bare.log", port=bare_port, app=f"{bare_django.PACKAGE}.wsgi",
                ready_path=f"/essays/{slug}/", extra_args=(*quiet, "--chdir", str(bare_project)),
            ) as bare,
            running_nginx(conf, ports=[https_port]),
        ):  # fmt: skip
            targets = {
                "essay": folio.url(f"/essays/{slug}/"),
                "uncached": uncached.url(f"/essays/{slug}/"),
                "hello": hello.url("/"),
                "bare": bare.url(f"/essays/{slug}/"),
                "static": f"https://127.0.0.1:{https_port}{static_path}",
            }
            for url in targets.values():  # warm-up: caches, connections, the first template compile
                expect_200(url)
                wrk(url, 1)
            results: dict[str, list[Run]] = {name: [] for name in targets}
            for round_number in range(rounds):
                order = list(targets) if round_number % 2 == 0 else list(reversed(targets))
                for name in order:
                    results[name].append(wrk(targets[name], seconds))

    def series(name: str, attribute: str) -> list[float]:
        return [getattr(result, attribute) for result in results[name]]

    def median(name: str, attribute: str) -> float:
        return median_and_spread(series(name, attribute))[0]

    retried = sum(run.retried for runs in results.values() for run in runs)
    common = {
        "details": {
            "connections": CONNECTIONS,
            "rounds": rounds,
            "seconds per round": seconds,
            "rounds run again after wrk timeouts": retried,
        }
    }
    essay_rps = ratio_measurement(
        "essay page requests/s vs hello-world (Gunicorn, 64 connections)",
        series("essay", "requests_per_second"),
        series("hello", "requests_per_second"),
        unit="req/s",
        goal=ESSAY_RPS_GOAL,
        command=COMMAND,
        limit_name="hello-world (the ceiling)",
        **common,
    )
    bare_rps = median("bare", "requests_per_second")
    uncached_rps = ratio_measurement(
        "essay page, page cache off (PAGE_CACHE_SECONDS=0), requests/s vs hello-world (Gunicorn, 64 connections)",
        series("uncached", "requests_per_second"),
        series("hello", "requests_per_second"),
        unit="req/s",
        goal=UNCACHED_RPS_GOAL,
        command=COMMAND,
        limit=bare_rps,
        limit_name="a bare startproject page reading the same row (Django's ceiling)",
        details={
            **common["details"],
            "bare startproject page req/s": bare_rps,
            "bare startproject page vs hello-world, req/s": round(bare_rps / median("hello", "requests_per_second"), 3),
            "uncached p50 ms": median("uncached", "p50_ms"),
            "uncached p99 ms": median("uncached", "p99_ms"),
            "uncached vs cached essay page, req/s": round(
                median("uncached", "requests_per_second") / median("essay", "requests_per_second"),
                3,
            ),
        },
    )
    essay_p99 = ratio_measurement(
        "essay page p99 latency vs hello-world (Gunicorn, 64 connections)",
        series("essay", "p99_ms"),
        series("hello", "p99_ms"),
        unit="ms",
        goal=ESSAY_P99_GOAL,
        command=COMMAND,
        limit_name="hello-world (the floor)",
        details={
            **common["details"],
            "essay p50 ms": median("essay", "p50_ms"),
            "hello-world p50 ms": median("hello", "p50_ms"),
        },
    )
    static_rps = ratio_measurement(
        "static file through nginx (HTTPS) requests/s vs hello-world through Gunicorn",
        series("static", "requests_per_second"),
        series("hello", "requests_per_second"),
        unit="req/s",
        goal=Goal("≥", 1),
        command=COMMAND,
        details={
            **common["details"],
            "static p50 ms": median("static", "p50_ms"),
            "static p99 ms": median("static", "p99_ms"),
        },
    )
    return [essay_rps, essay_p99, uncached_rps, static_rps]


def profile_subject(quick: bool) -> None:
    """For `python -m bench --profile gunicorn`: the essay page through Django's WSGI handler, in this process.

    Production settings on a throwaway SQLite file: the page is served from the cache after its first request,
    so the database does not shape the profile (the system check that refuses SQLite is skipped on purpose).
    `PAGE_CACHE_SECONDS=0 python -m bench --profile gunicorn` profiles the uncached row's render instead.
    """
    import io
    import os

    root = Path(tempfile.mkdtemp(prefix="bench-gunicorn-profile-"))
    os.environ.update(
        production_env(
            DATABASE_URL=f"sqlite:///{root / 'db.sqlite3'}",
            ALLOWED_HOSTS=HOST,
            STATIC_ROOT=str(root / "staticfiles"),
            BEHIND_PROXY="true",
            LOG_LEVEL="WARNING",
            PAGE_CACHE_SECONDS=os.environ.get("PAGE_CACHE_SECONDS", "600"),
        )
    )
    import django
    from django.core.management import call_command

    django.setup()
    for command in ("migrate", "collectstatic"):
        call_command(command, interactive=False, verbosity=0, skip_checks=True)
    call_command("seed_demo", skip_checks=True)
    from config.wsgi import application

    slug = json.loads((ROOT / "apps/content/demo/essays.json").read_text())[0]["slug"]
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": f"/essays/{slug}/",
        "QUERY_STRING": "",
        "SERVER_NAME": HOST,
        "SERVER_PORT": "443",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": HOST,
        "HTTP_X_FORWARDED_PROTO": "https",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "https",
    }
    statuses = set()
    for _ in range(300 if quick else 3000):
        body = application({**environ, "wsgi.input": io.BytesIO()}, lambda status, headers: statuses.add(status))
        b"".join(body)
    if statuses != {"200 OK"}:
        raise RuntimeError(f"the essay page answered {statuses}; nothing to profile")


def main() -> None:
    parser = argparse.ArgumentParser(prog=COMMAND)
    parser.add_argument("--quick", action="store_true", help="two short rounds instead of five")
    for measurement in run(quick=parser.parse_args().quick):
        verdict = "PASS" if measurement.passed else "MISS"
        print(
            f"{verdict} {measurement.name}: {measurement.subject:.1f} vs {measurement.baseline:.1f} "
            f"{measurement.unit} = {measurement.ratio:.2f}× (goal {measurement.goal}; {measurement.spread}) "
            f"{measurement.details}"
        )


if __name__ == "__main__":
    main()
