"""One benchmark in its own process: `python -m bench.worker MODULE [--quick] --out FILE`.

The harness runs each benchmark this way so that a crash, a hang, a leaked server or a Django set-up with other
settings stays inside that benchmark. The worker writes either the measurements or the error as JSON to FILE.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import math
import sys
import traceback
from pathlib import Path

from bench.common import Measurement
from bench.goals import Goal


def validate(returned: object) -> list[Measurement]:
    """The benchmark's return value if it keeps the contract; otherwise a TypeError/ValueError saying how not."""
    if not isinstance(returned, list | tuple):
        raise TypeError(f"run() must return a list of Measurement, not {type(returned).__name__}")
    if not returned:
        raise ValueError("run() returned no measurements")
    for item in returned:
        if not isinstance(item, Measurement):
            raise TypeError(f"run() returned a {type(item).__name__} where a Measurement belongs")
        numbers = {"subject": item.subject, "baseline": item.baseline, "ratio": item.ratio}
        for field_name, value in numbers.items():
            if value is None and field_name == "ratio":
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise ValueError(f"{item.name!r}: {field_name} must be a finite number, got {value!r}")
        if not isinstance(item.goal, Goal):
            raise TypeError(f"{item.name!r}: goal must be a bench.goals.Goal, not {type(item.goal).__name__}")
        if item.goal.on_ratio and item.ratio is None:
            raise ValueError(f"{item.name!r}: a goal on the ratio ({item.goal}) needs the measurement's ratio")
        if not item.goal.on_ratio and item.goal.unit != item.unit:
            raise ValueError(f"{item.name!r}: the goal ({item.goal}) and the measurement ({item.unit}) differ in unit")
    return list(returned)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.worker")
    parser.add_argument("module", help="dotted module name, e.g. bench.bench_cold_start")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        module = importlib.import_module(args.module)
        measurements = validate(module.run(quick=args.quick))
        payload: dict[str, object] = {"measurements": [dataclasses.asdict(m) for m in measurements]}
        status = 0
    # BaseException: a benchmark that calls sys.exit() or is interrupted has failed to report, not succeeded.
    except BaseException as exc:
        traceback.print_exc()
        payload = {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}
        status = 1
    args.out.write_text(json.dumps(payload, default=str), encoding="utf-8")
    return status


if __name__ == "__main__":
    sys.exit(main())
