"""The `make bench` harness, fed by fake benchmark modules: isolation, the report, the chart, the exit status."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import textwrap
import time
import uuid
from pathlib import Path

import pytest
from PIL import Image

from bench import __main__ as cli
from bench import chart, machine, report, runner
from bench.common import Measurement
from bench.goals import Goal
from harness.project import PYTHON, ROOT, run_in_project

GOOD = """
from bench.common import Measurement
from bench.goals import Goal

def run(quick):
    print("quick" if quick else "full")
    return [
        Measurement("essay page req/s vs hello-world", 900.0, 1800.0, "req/s", Goal("≥", 0.5), ratio=0.5,
                    spread="880–930; baseline 1750–1850", command="python -m bench --only good"),
        Measurement("peak RSS", 60.0, 100.0, "MB", Goal("<", 100, unit="MB"), details={"rows": 1000}),
    ]
"""
MISSED = """
from bench.common import Measurement
from bench.goals import Goal

def run(quick):
    return [Measurement("cold start vs bare Django", 0.9, 0.5, "s", Goal("≤", 1.3), ratio=1.8)]
"""
BROKEN = """
def run(quick):
    print("starting gunicorn")
    raise RuntimeError("gunicorn did not start")
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A killed child that nobody has reaped yet is a zombie: gone for every practical purpose.
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(")")[-1].split()[0] == "Z")


def wait_gone(pid: int, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.1)
    return False


@pytest.fixture
def fake(tmp_path, monkeypatch):
    """Make a throwaway benchmark package: fake(bench_good=GOOD, ...) -> its dotted name."""
    monkeypatch.syspath_prepend(str(tmp_path))

    def make(**modules: str) -> str:
        package = f"fakebench_{uuid.uuid4().hex[:8]}"
        folder = tmp_path / package
        folder.mkdir()
        (folder / "__init__.py").write_text("")
        for name, source in modules.items():
            (folder / f"{name}.py").write_text(textwrap.dedent(source))
        return package

    return make


def run_cli(*args: str, extra_path: Path) -> subprocess.CompletedProcess[str]:
    """`python -m bench` on a fake package; what it would write under bench/.work goes to extra_path/work."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(extra_path)])}
    return run_in_project([PYTHON, "-m", "bench", "--quiet", "--work-dir", str(extra_path / "work"), *args], env=env)


def result(name: str, *measurements: Measurement, error: str = "") -> runner.BenchmarkResult:
    return runner.BenchmarkResult(f"bench.bench_{name}", list(measurements), error=error, seconds=1.0)


# Discovery and selection


def test_discovery_finds_every_bench_module_in_name_order_and_nothing_else(fake):
    package = fake(bench_zeta=GOOD, bench_alpha=GOOD, common="", helpers_bench="")
    assert runner.discover(package) == [f"{package}.bench_alpha", f"{package}.bench_zeta"]


def test_only_with_an_unknown_name_stops_and_lists_the_names_that_exist(fake):
    modules = runner.discover(fake(bench_good=GOOD))
    with pytest.raises(SystemExit, match="no benchmark named nope; there are: good"):
        runner.select(modules, ["nope"])


# Isolation: one benchmark's failure is a row, not a crash


def test_a_benchmark_that_raises_becomes_an_error_row_and_the_next_one_still_runs(fake):
    package = fake(bench_broken=BROKEN, bench_good=GOOD)
    broken, good = runner.run_all(runner.discover(package), quick=True, timeout=60, echo=False)
    assert broken.error == "RuntimeError: gunicorn did not start"
    assert "starting gunicorn" in broken.log_tail
    assert broken.measurements == []
    assert good.error == ""
    assert [m.name for m in good.measurements] == ["essay page req/s vs hello-world", "peak RSS"]
    assert good.measurements[1].details == {"rows": 1000}


def test_the_quick_flag_reaches_the_benchmark(fake):
    package = fake(bench_good=GOOD)
    (quick,) = runner.run_all(runner.discover(package), quick=True, timeout=60, echo=False)
    (full,) = runner.run_all(runner.discover(package), quick=False, timeout=60, echo=False)
    assert quick.log_tail == "quick"
    assert full.log_tail == "full"


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("return []", "ValueError: run() returned no measurements"),
        ("return {'req/s': 1}", "TypeError: run() must return a list of Measurement, not dict"),
        ("return [('x', 1.0)]", "TypeError: run() returned a tuple where a Measurement belongs"),
        (
            "return [Measurement('x', float('nan'), 1.0, 's', Goal('≤', 1.3), ratio=1.0)]",
            "ValueError: 'x': subject must be a finite number, got nan",
        ),
        (
            "return [Measurement('x', 1.0, 1.0, 's', '≤ 1.3×', ratio=1.0)]",
            "TypeError: 'x': goal must be a bench.goals.Goal, not str",
        ),
        (
            "return [Measurement('x', 1.0, 1.0, 's', Goal('≤', 1.3))]",
            "ValueError: 'x': a goal on the ratio (≤ 1.3×) needs the measurement's ratio",
        ),
        (
            "return [Measurement('rss', 60.0, 100.0, 'MB', Goal('<', 100, unit='s'))]",
            "ValueError: 'rss': the goal (< 100 s) and the measurement (MB) differ in unit",
        ),
        ("import sys; sys.exit(0)", "SystemExit: 0"),
    ],
)
def test_a_benchmark_that_breaks_the_contract_is_an_error(fake, body, error):
    package = fake(
        bench_bad=f"from bench.common import Measurement\nfrom bench.goals import Goal\ndef run(quick):\n    {body}\n"
    )
    (bad,) = runner.run_all(runner.discover(package), quick=True, timeout=60, echo=False)
    assert bad.error == error


def test_a_measurement_subclass_with_more_fields_is_reported_with_them_as_details(fake):
    package = fake(
        bench_sub="""
        from dataclasses import dataclass
        from bench.common import Measurement
        from bench.goals import Goal

        @dataclass
        class Timed(Measurement):
            p999_ms: float = 0.0

        def run(quick):
            return [Timed("x", 1.0, 1.0, "ms", Goal("≤", 2), ratio=1.0, p999_ms=12.5)]
        """
    )
    (sub,) = runner.run_all(runner.discover(package), quick=True, timeout=60, echo=False)
    assert sub.error == ""
    assert sub.measurements[0].details == {"p999_ms": "12.5"}


def test_a_benchmark_killed_outright_is_an_error_naming_its_exit_status(fake):
    package = fake(bench_crash="import os\ndef run(quick):\n    os._exit(3)\n")
    (crash,) = runner.run_all(runner.discover(package), quick=True, timeout=60, echo=False)
    assert crash.error == "exited with status 3 without reporting"


def hanging_benchmark(pid_file: Path) -> str:
    """A benchmark that starts a server, writes its pid to `pid_file`, and never returns."""
    return f"""
        import subprocess, time
        def run(quick):
            server = subprocess.Popen(["sleep", "300"])
            open({str(pid_file)!r}, "w").write(str(server.pid))
            time.sleep(300)
        """


def test_a_hanging_benchmark_is_stopped_at_the_timeout_together_with_the_servers_it_started(fake, tmp_path):
    pid_file = tmp_path / "server.pid"
    package = fake(bench_hang=hanging_benchmark(pid_file))
    started = time.monotonic()
    (hang,) = runner.run_all(runner.discover(package), quick=True, timeout=3, echo=False)
    assert hang.error == "timed out after 3 s"
    assert time.monotonic() - started < 60
    assert wait_gone(int(pid_file.read_text())), "the benchmark's server outlived the timeout"


def test_a_server_a_benchmark_forgot_to_stop_is_stopped_and_reported(fake, tmp_path):
    pid_file = tmp_path / "server.pid"
    package = fake(
        bench_leaky=f"""
        import subprocess
        from bench.common import Measurement
        from bench.goals import Goal
        def run(quick):
            server = subprocess.Popen(["sleep", "300"])
            open({str(pid_file)!r}, "w").write(str(server.pid))
            return [Measurement("x", 1.0, 1.0, "s", Goal("≤", 1.3), ratio=1.0)]
        """
    )
    (leaky,) = runner.run_all(runner.discover(package), quick=True, timeout=60, echo=False)
    assert leaky.error == ""
    assert leaky.warnings == ["left processes running after it finished; the harness stopped them"]
    assert wait_gone(int(pid_file.read_text()))


# The report and the chart


def test_the_report_tabulates_folio_baseline_ratio_goal_verdict_and_spread():
    good = Measurement(
        "essay page req/s vs hello-world", 900.0, 1800.0, "req/s", Goal("≥", 0.5), ratio=0.5, spread="880–930"
    )
    text = report.render(
        [result("gunicorn", good)], {"Cores": "2"}, quick=False, command="make bench", chart=None, report_path=ROOT
    )
    row = (
        "| gunicorn | essay page req/s vs hello-world | 900 | 1,800 | req/s | 0.5 | ≥ 0.5× | ✅ pass | 1,800 "
        "| 50% of baseline | 880–930 |"
    )
    assert row in text.splitlines()
    assert "**1 of 1 goals met** across 1 benchmarks. Reproduce with `make bench`" in text


def test_the_report_shows_a_missed_goal_an_error_and_how_to_reproduce_each_benchmark():
    missed = Measurement("cold start", 0.9, 0.5, "s", Goal("≤", 1.3), ratio=1.8, command="python -m bench.x")
    results = [result("cold_start", missed), result("gunicorn", error="timed out after 600 s")]
    text = report.render(results, {}, quick=False, command="make bench", chart=None, report_path=ROOT)
    lines = text.splitlines()
    assert "| cold_start | cold start | 0.9 | 0.5 | s | 1.8 | ≤ 1.3× | ❌ FAIL | 0.5 | 1.8× baseline | — |" in lines
    assert "| gunicorn | — | — | — | — | — | — | 💥 ERROR: timed out after 600 s | — | — | — |" in lines
    assert "| cold_start | 1 | `python -m bench --only cold_start` | `python -m bench.x` |" in lines
    assert "**1 benchmark(s) failed to report: gunicorn**" in text


def test_each_measurements_details_get_their_own_table():
    rss = Measurement(
        "peak RSS", 60.0, 100.0, "MB", Goal("<", 100, unit="MB"), details={"rows": 1_000_000, "batch": "5k"}
    )
    text = report.render([result("backfill", rss)], {}, quick=False, command="x", chart=None, report_path=ROOT)
    details = text.split("## Details", 1)[1].splitlines()
    assert "### backfill: peak RSS" in details
    assert "| rows | 1,000,000 |" in details
    assert "| batch | 5k |" in details


def test_details_shared_by_a_benchmarks_measurements_are_printed_once():
    shared = {"workers": 3}
    native = Measurement("native", 6.0, 6.0, "backends", Goal("≤", 6, unit="backends"), details=shared)
    bouncer = Measurement("pgbouncer", 5.0, 5.0, "backends", Goal("≤", 5, unit="backends"), details=dict(shared))
    text = report.render([result("pool", native, bouncer)], {}, quick=False, command="x", chart=None, report_path=ROOT)
    details = text.split("## Details", 1)[1].splitlines()
    assert details.count("| workers | 3 |") == 1
    assert "### pool: native · pgbouncer" in details


def test_a_pipe_in_a_measurement_name_does_not_add_a_table_column():
    odd = Measurement("static | nginx", 1.0, 2.0, "ms", Goal("≤", 2), ratio=0.5)
    text = report.render([result("static", odd)], {}, quick=True, command="x", chart=None, report_path=ROOT)
    (row,) = [line for line in text.splitlines() if line.startswith("| static | static")]
    assert row.replace("\\|", "").count("|") == 12  # eleven columns


def test_each_row_says_how_far_folio_is_from_its_limit():
    """The floor or ceiling a benchmark measured, else the baseline (a ratio goal) or the goal's own limit."""
    floor = Measurement(
        "backfill", 20.0, 300.0, "s", Goal("≥", 10, label="faster"), ratio=15.0, limit=13.0, limit_name="the floor"
    )
    ceiling = Measurement("essay req/s", 900.0, 1000.0, "req/s", Goal("≥", 0.8), ratio=0.9)
    rss = Measurement("peak RSS", 65.0, 100.0, "MB", Goal("<", 100, unit="MB"))
    assert [m.from_limit for m in (floor, ceiling, rss)] == ["1.54× the floor", "90% of baseline", "65% of goal"]
    text = report.render([result("b", floor)], {}, quick=False, command="x", chart=None, report_path=ROOT)
    assert "| ✅ pass | 13 | 1.54× the floor | — |" in text


def test_a_run_over_its_time_budget_says_so_in_the_report():
    ok = Measurement("x", 1.0, 1.0, "s", Goal("≤", 1.3), ratio=1.0)
    note = "The whole run took 950 s, over its 900 s budget."
    text = report.render([result("x", ok)], {}, quick=False, command="x", chart=None, report_path=ROOT, notes=[note])
    assert f"- {note}" in text.split("## Problems", 1)[1].splitlines()


def test_the_report_derives_each_verdict_from_the_numbers_and_prints_the_goal():
    fast = Measurement("backfill speedup", 2.0, 40.0, "s", Goal("≥", 10, label="faster"), ratio=20.0)
    slow = Measurement("backfill speedup, small", 8.0, 40.0, "s", Goal("≥", 10, label="faster"), ratio=5.0)
    rss = Measurement("peak RSS", 120.0, 100.0, "MB", Goal("<", 100, unit="MB"))
    text = report.render(
        [result("backfill", fast, slow, rss)], {}, quick=False, command="x", chart=None, report_path=ROOT
    )
    lines = text.splitlines()
    assert (
        "| backfill | backfill speedup | 2 | 40 | s | 20 | ≥ 10× faster | ✅ pass | 40 | 5% of baseline | — |" in lines
    )
    assert (
        "| backfill | backfill speedup, small | 8 | 40 | s | 5 | ≥ 10× faster | ❌ FAIL | 40 | 20% of baseline | — |"
        in lines
    )
    assert "| backfill | peak RSS | 120 | 100 | MB | — | < 100 MB | ❌ FAIL | 100 | 1.2× goal | — |" in lines
    assert "**1 of 3 goals met**" in text


def test_the_machine_description_names_cores_memory_cpu_python_postgres_nginx_and_date():
    facts = machine.describe()
    for key in ("Date", "CPU", "Cores", "Memory", "Python", "PostgreSQL", "nginx", "Folio revision"):
        assert facts[key] and facts[key] != "unknown", key
    assert facts["Cores"].split()[0] == str(len(os.sched_getaffinity(0)))
    assert facts["Python"].endswith(".".join(map(str, os.sys.version_info[:3])))
    text = report.render([], facts, quick=False, command="x", chart=None, report_path=ROOT)
    assert f"| Cores | {facts['Cores']} |" in text.splitlines()


def test_the_chart_is_a_png_with_room_for_every_measurement(tmp_path):
    one = [result("a", Measurement("x", 1.0, 2.0, "s", Goal("≤", 2), ratio=0.5))]
    many = [
        *one,
        result("b", Measurement("peak RSS", 60.0, 100.0, "MB", Goal("<", 100, unit="MB"))),
        result("c", Measurement("speedup", 1.0, 30.0, "s", Goal("≥", 10), ratio=30.0)),
        result("d", Measurement("backends", 14.0, 12.0, "backends", Goal("≤", 12, unit="backends"))),
        result("e", error="boom"),
    ]
    small = Image.open(chart.draw(one, tmp_path / "one.png", title="one"))
    large = Image.open(chart.draw(many, tmp_path / "many.png", title="many"))
    assert small.format == large.format == "PNG"
    assert large.height > small.height


def test_a_goal_prints_as_people_read_it_and_sits_on_the_chart_scale():
    ratio = Measurement("x", 1.0, 2.0, "s", Goal("≥", 0.5), ratio=0.5)
    limit = Measurement("rss", 60.0, 100.0, "MB", Goal("<", 100, unit="MB"))
    backends = Measurement("b", 9.0, 12.0, "backends", Goal("≤", 12, unit="backends", label="(3 workers × pool 4)"))
    assert [str(m.goal) for m in (ratio, limit, backends)] == [
        "≥ 0.5×",
        "< 100 MB",
        "≤ 12 backends (3 workers × pool 4)",
    ]
    assert (ratio.goal.higher_is_better, limit.goal.higher_is_better) == (True, False)
    assert chart.on_scale(ratio) == (0.5, 0.5)
    assert chart.on_scale(limit) == (0.6, 1.0)
    assert ratio.passed and limit.passed and backends.passed
    assert not Measurement("rss", 120.0, 100.0, "MB", Goal("<", 100, unit="MB")).passed
    assert not Measurement("x", 1.0, 0.0, "s", Goal("≥", 0.5), ratio=float("inf")).passed  # not a number to judge


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        (("=>", 1.0), "goal comparison '=>' is none of ≥ > ≤ <"),
        (("≥", 0), "goal threshold must be a positive finite number, got 0"),
        (("≥", float("nan")), "goal threshold must be a positive finite number, got nan"),
        (("≥", "0.5"), "goal threshold must be a number, got '0.5'"),
    ],
)
def test_a_goal_that_cannot_be_judged_is_refused_when_written(arguments, error):
    with pytest.raises((ValueError, TypeError), match=re.escape(error)):
        Goal(*arguments)


# The command line: what `make bench-quick` (CI) and `make bench` do


def committed_files() -> dict[Path, bytes | None]:
    return {path: path.read_bytes() if path.exists() else None for path in cli.COMMITTED.values()}


@pytest.mark.parametrize(
    ("argv", "folder", "command"),
    [
        ([], None, "make bench"),
        (["--quick"], "quick", "make bench-quick"),
        (["--only", "gunicorn"], "partial", "python -m bench --only gunicorn"),
        (["--quick", "--only", "gunicorn"], "quick", "python -m bench --quick --only gunicorn"),
    ],
)
def test_only_a_complete_full_run_writes_the_committed_report_and_chart(argv, folder, command):
    report_path, chart_path, _, reproduce = cli.destinations(cli.parse(argv))
    if folder is None:
        assert (report_path, chart_path) == (ROOT / "BENCHMARKS.md", ROOT / "bench" / "benchmarks.png")
    else:
        assert (report_path, chart_path) == (cli.WORK / folder / "BENCHMARKS.md", cli.WORK / folder / "benchmarks.png")
    assert reproduce == command


def test_bench_quick_fails_when_a_benchmark_errors_and_leaves_the_committed_report_alone(fake, tmp_path):
    package = fake(bench_broken=BROKEN, bench_good=GOOD)
    before = committed_files()
    done = run_cli("--quick", "--package", package, extra_path=tmp_path)
    assert done.returncode == 1, done.stderr
    assert committed_files() == before
    written = (tmp_path / "work" / "quick" / "BENCHMARKS.md").read_text()
    assert "💥 ERROR: RuntimeError: gunicorn did not start" in written
    assert "| good | essay page req/s vs hello-world |" in written
    assert f"- No {package}/bench_cold_start.py, so this goal is not measured: cold start ≤ 1.2× bare Django" in written
    assert Image.open(tmp_path / "work" / "quick" / "benchmarks.png").format == "PNG"


def test_bench_quick_passes_when_every_benchmark_reports_even_if_a_goal_is_missed(fake, tmp_path):
    package = fake(bench_good=GOOD, bench_missed=MISSED)
    done = run_cli("--quick", "--package", package, extra_path=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "**2 of 3 goals met** across 2 benchmarks." in done.stderr
    strict = run_cli("--quick", "--strict", "--package", package, extra_path=tmp_path)
    assert strict.returncode == 1


def test_a_full_run_writes_the_report_and_the_chart_it_links(fake, tmp_path):
    package = fake(bench_good=GOOD)
    out, png = tmp_path / "docs" / "BENCHMARKS.md", tmp_path / "docs" / "img" / "chart.png"
    done = run_cli("--package", package, "--output", str(out), "--chart", str(png), extra_path=tmp_path)
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    assert "![Ratios against goals](img/chart.png)" in text
    assert "Quick run" not in text
    assert "Reproduce with `make bench`" in text
    assert Image.open(png).format == "PNG"


def test_without_any_benchmark_the_run_fails_instead_of_reporting_nothing(fake, tmp_path):
    done = run_cli("--quick", "--package", fake(), extra_path=tmp_path)
    assert done.returncode == 1
    assert "nothing measured" in done.stderr


def test_stopping_the_harness_stops_the_server_of_the_benchmark_it_was_running(fake, tmp_path):
    pid_file = tmp_path / "server.pid"
    package = fake(bench_hang=hanging_benchmark(pid_file))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(tmp_path)])}
    harness = subprocess.Popen(
        [PYTHON, "-m", "bench", "--quiet", "--quick", "--package", package, "--work-dir", str(tmp_path / "work")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not pid_file.exists() or not pid_file.read_text():
            assert time.monotonic() < deadline and harness.poll() is None, "the benchmark never started its server"
            time.sleep(0.1)
        harness.terminate()
        assert harness.wait(timeout=30) == 143
    finally:
        harness.kill()
    assert wait_gone(int(pid_file.read_text())), "the server outlived the harness"


def test_profile_shows_where_the_benchmarks_subject_spends_its_time(fake, tmp_path):
    package = fake(
        bench_slow="""
        import time
        def folio_hot_path():
            end = time.perf_counter() + 0.3
            while time.perf_counter() < end:
                sum(range(1000))
        def profile_subject(quick):
            folio_hot_path()
        def run(quick):
            raise AssertionError("--profile runs the subject, not the whole benchmark")
        """
    )
    done = run_cli("--quick", "--package", package, "--profile", "slow", extra_path=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "folio_hot_path" in done.stdout
    assert f"Profile of {package}.bench_slow.profile_subject" in done.stdout
    assert (tmp_path / "work" / "profiles" / "profile-bench_slow.html").exists()


def test_profile_leaves_out_the_set_up_when_the_hook_returns_the_subject(fake, tmp_path):
    package = fake(
        bench_setup="""
        import time
        def busy(seconds):
            end = time.perf_counter() + seconds
            while time.perf_counter() < end:
                sum(range(1000))
        def expensive_migrations():
            busy(0.3)
        def folio_request_loop():
            busy(0.3)
        def profile_subject(quick):
            expensive_migrations()
            return folio_request_loop
        def run(quick):
            raise AssertionError("not profiled")
        """
    )
    done = run_cli("--quick", "--package", package, "--profile", "setup", extra_path=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "folio_request_loop" in done.stdout
    assert "expensive_migrations" not in done.stdout


# The real benchmarks keep the contract (read, not run: CI's `make bench-quick` runs them)


def test_every_design_goal_has_a_benchmark_and_each_defines_run_taking_quick():
    modules = runner.discover("bench")
    assert {runner.BenchmarkResult(module).name for module in modules} >= set(cli.EXPECTED)
    for module in modules:
        path = ROOT / (module.replace(".", "/") + ".py")
        functions = {node.name: node for node in ast.parse(path.read_text()).body if isinstance(node, ast.FunctionDef)}
        assert "run" in functions, f"{path.name} has no top-level run(quick)"
        assert functions["run"].args.args[0].arg == "quick", f"{path.name}: run's first parameter must be quick"
        if hook := functions.get("profile_subject"):
            assert [a.arg for a in hook.args.args] == ["quick"], f"{path.name}: profile_subject(quick)"
