"""`python -m bench`: run every bench/bench_<topic>.py, each in its own process, and write BENCHMARKS.md + chart.

    python -m bench                    full run; rewrites BENCHMARKS.md and bench/benchmarks.png (`make bench`)
    python -m bench --quick            small sizes; writes under bench/.work/quick/ (`make bench-quick`, CI)
    python -m bench --only cold_start  some benchmarks; writes under bench/.work/partial/
    python -m bench --profile NAME     pyinstrument profile of one benchmark's subject
    python -m bench --list             the benchmarks found

Exit status 1 when a benchmark errors (or none exist): the harness must not rot silently. A missed goal is
reported in the table, and fails the run only with --strict.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from dataclasses import asdict
from pathlib import Path

from bench import chart, machine, report, runner

ROOT = runner.ROOT
WORK = ROOT / "bench" / ".work"
# Quick and partial runs must never touch the committed report: only a complete full run speaks for the project.
COMMITTED = {"report": ROOT / "BENCHMARKS.md", "chart": ROOT / "bench" / "benchmarks.png"}
# Seconds per benchmark: a safety net well above a normal run, which on a busy 2-core machine is slower.
TIMEOUTS = {"quick": 300.0, "full": 600.0}
# The goals of DESIGN.md and the issues, by the benchmark that measures them: a missing module is a goal unmeasured.
EXPECTED = {
    "cold_start": "cold start ≤ 1.2× bare Django; production dependencies < 80 MB (issues 7, 22)",
    "gunicorn": "essay page ≥ 0.8× hello-world req/s, p99 ≤ 1.5×, uncached ≥ 0.3×; static via nginx (issues 5, 22)",
    "pool_backends": "Postgres backends per pool mode, Gunicorn and serverless cases (issue 4)",
    "backfill": "1M-essay backfill ≥ 10× RunPython, peak RSS < 100 MB, no stall > 1 s (issue 4)",
}
BUDGETS = {"quick": 180.0, "full": 900.0}  # seconds for the whole run (issue 9: ~3 minutes quick, 15 full)


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: checks every benchmark runs and reports")
    parser.add_argument("--only", nargs="+", default=[], metavar="NAME", help="run these benchmarks (topic names)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks found and exit")
    parser.add_argument("--profile", metavar="NAME", help="profile one benchmark's subject with pyinstrument")
    parser.add_argument("--timeout", type=float, help="seconds per benchmark (default 300 quick, 600 full)")
    parser.add_argument("--output", type=Path, help="where to write the Markdown report")
    parser.add_argument("--chart", type=Path, help="where to write the PNG chart")
    parser.add_argument("--strict", action="store_true", help="also exit 1 when a goal is missed")
    # The harness's own tests: a fake benchmark package, and a work folder that is not the real bench/.work.
    parser.add_argument("--package", default="bench", help=argparse.SUPPRESS)
    parser.add_argument("--work-dir", type=Path, default=WORK, help=argparse.SUPPRESS)
    parser.add_argument("--quiet", action="store_true", help="do not echo the benchmarks' own output")
    return parser.parse_args(argv)


def destinations(args: argparse.Namespace) -> tuple[Path, Path, Path, str]:
    """Report, chart and raw-results paths, and the command that reproduces this run."""
    if args.quick:
        kind, command = "quick", "make bench-quick"
    elif args.only:
        kind, command = "partial", "python -m bench --only " + " ".join(args.only)
    else:
        kind, command = "full", "make bench"
    if args.quick and args.only:
        command = "python -m bench --quick --only " + " ".join(args.only)
    if kind == "full":
        default_report, default_chart = COMMITTED["report"], COMMITTED["chart"]
    else:
        default_report, default_chart = args.work_dir / kind / "BENCHMARKS.md", args.work_dir / kind / "benchmarks.png"
    return args.output or default_report, args.chart or default_chart, args.work_dir / kind / "results.json", command


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    modules = runner.select(runner.discover(args.package), args.only)
    if args.list:
        print("\n".join(modules) if modules else "no benchmarks in bench/")
        return 0
    if args.profile:
        from bench import profiling  # pyinstrument is only needed here

        (module,) = runner.select(modules, [args.profile])
        text, html = profiling.profile(module, quick=args.quick, out_dir=args.work_dir / "profiles")
        print(text)
        print(f"HTML profile: {html}")
        return 0
    if not modules:
        print(f"no {args.package}/bench_*.py found: nothing measured", file=sys.stderr)
        return 1

    report_path, chart_path, raw, command = destinations(args)
    # A CI job killed on its own timeout sends SIGTERM: unwind, so the running benchmark's servers are stopped.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    facts = machine.describe()
    timeout = args.timeout or TIMEOUTS["quick" if args.quick else "full"]
    results = runner.run_all(modules, quick=args.quick, timeout=timeout, echo=not args.quiet)

    title = f"Folio benchmarks{' (quick run)' if args.quick else ''}: {facts['Date']}, {facts['Cores']} cores"
    drawn = chart.draw(results, chart_path, title=title)
    found = {runner.BenchmarkResult(module).name for module in modules}
    notes = [
        f"No {args.package}/bench_{name}.py, so this goal is not measured: {goal}."
        for name, goal in EXPECTED.items()
        if name not in found and not args.only
    ]
    budget = BUDGETS["quick" if args.quick else "full"]
    if not args.only and (took := sum(r.seconds for r in results)) > budget:
        notes.append(f"The whole run took {took:.0f} s, over its {budget:.0f} s budget.")
        print(notes[-1], file=sys.stderr)
    text = report.render(
        results, facts, quick=args.quick, command=command, chart=drawn, report_path=report_path, notes=notes
    )
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(text, encoding="utf-8")
    raw.parent.mkdir(parents=True, exist_ok=True)
    raw.write_text(json.dumps({"machine": facts, "results": [asdict(r) for r in results]}, indent=2), encoding="utf-8")

    print(report.summary(results), file=sys.stderr)
    print(f"report: {report_path}\nchart: {drawn}\nraw: {raw}", file=sys.stderr)
    errored = any(r.error for r in results)
    missed = any(not m.passed for r in results for m in r.measurements)
    return 1 if errored or (args.strict and missed) else 0


if __name__ == "__main__":
    sys.exit(main())
