"""A benchmark's goal as an object: what is compared (the ratio, or the measured value itself), how, and against
what threshold. The verdict is derived from it and the numbers, never reported beside them, and the report and the
chart print it from the same fields.

    Goal("≥", 0.5)                              # ratio ≥ 0.5×          (Folio against its baseline)
    Goal("≥", 10, label="faster")               # "≥ 10× faster"
    Goal("<", 100, unit="MB")                   # the value itself under 100 MB
    Goal("≤", 12, unit="backends", label="(3 workers × pool 4)")
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass

RATIO = "×"
COMPARISONS: dict[str, tuple[Callable[[float, float], bool], bool]] = {
    # symbol: (comparison, whether a larger value is better)
    "≥": (operator.ge, True),
    ">": (operator.gt, True),
    "≤": (operator.le, False),
    "<": (operator.lt, False),
}


@dataclass(frozen=True)
class Goal:
    comparison: str  # one of COMPARISONS
    threshold: float
    unit: str = RATIO  # RATIO: the goal is on subject/baseline; any other unit: on the measured value itself
    label: str = ""  # words after the number, e.g. "faster" or "(3 workers × pool 4)"

    def __post_init__(self) -> None:
        if self.comparison not in COMPARISONS:
            raise ValueError(f"goal comparison {self.comparison!r} is none of {' '.join(COMPARISONS)}")
        if isinstance(self.threshold, bool) or not isinstance(self.threshold, int | float):
            raise TypeError(f"goal threshold must be a number, got {self.threshold!r}")
        if not math.isfinite(self.threshold) or self.threshold <= 0:
            raise ValueError(f"goal threshold must be a positive finite number, got {self.threshold!r}")

    @property
    def on_ratio(self) -> bool:
        return self.unit == RATIO

    @property
    def higher_is_better(self) -> bool:
        return COMPARISONS[self.comparison][1]

    def met_by(self, value: float) -> bool:
        return COMPARISONS[self.comparison][0](value, self.threshold)

    def __str__(self) -> str:
        number = f"{self.threshold:g}"
        text = f"{self.comparison} {number}{RATIO}" if self.on_ratio else f"{self.comparison} {number} {self.unit}"
        return f"{text} {self.label}" if self.label else text
