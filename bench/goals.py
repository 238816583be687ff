"""Reading a Measurement's goal, so the report can check a benchmark's own verdict and the chart can draw the goal.

The contract (bench/common.py): a ratio goal carries `ratio` and a goal text such as "≥ 0.5×"; an absolute goal
leaves `ratio` unset and puts the limit itself in `baseline` ("< 100 MB" with baseline 100). Both become a point
on one scale: the ratio against its threshold, or the fraction of the limit used against 1.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

from bench.common import Measurement

OPERATORS: dict[str, tuple[Callable[[float, float], bool], bool]] = {
    # symbol: (comparison, whether a larger value is better)
    "≥": (operator.ge, True),
    ">=": (operator.ge, True),
    ">": (operator.gt, True),
    "≤": (operator.le, False),
    "<=": (operator.le, False),
    "<": (operator.lt, False),
}
GOAL = re.compile(r"^\s*(≥|>=|>|≤|<=|<)\s*(\d+(?:\.\d+)?)")


@dataclass(frozen=True)
class Goal:
    symbol: str
    threshold: float  # on the chart's scale: the ratio for ratio goals, 1.0 (the limit) for absolute ones
    higher_is_better: bool

    def met_by(self, value: float) -> bool:
        return OPERATORS[self.symbol][0](value, self.threshold)


def chart_value(measurement: Measurement) -> float | None:
    """The number drawn against the goal: the ratio, or the share of the limit an absolute goal allows."""
    if measurement.ratio is not None:
        return measurement.ratio
    if measurement.baseline:
        return measurement.subject / measurement.baseline
    return None


def parse_goal(measurement: Measurement) -> Goal | None:
    """The goal as a comparison on the chart's scale, or None when its text does not start with one."""
    match = GOAL.match(measurement.goal)
    if not match:
        return None
    symbol, number = match.groups()
    threshold = float(number) if measurement.ratio is not None else 1.0
    return Goal(symbol, threshold, OPERATORS[symbol][1])


def verdict_disagrees(measurement: Measurement) -> bool:
    """True when the numbers say the opposite of the benchmark's own `passed`: a bug in that benchmark."""
    goal, value = parse_goal(measurement), chart_value(measurement)
    if goal is None or value is None or not math.isfinite(value):
        return False
    return goal.met_by(value) != measurement.passed
