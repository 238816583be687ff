"""What every benchmark returns, so the harness can tabulate and chart them side by side.

A benchmark is a module `bench/bench_<topic>.py` with `run(quick: bool) -> list[Measurement]`. It measures
Folio and its baseline in the same run (alternating, several rounds) and reports ratios against goals that
are ratios, never absolute times (or a limit, such as MB installed, that needs no baseline). `quick=True` uses
small sizes so CI can check the harness in seconds. Whether a goal is met is derived from the numbers
(`Measurement.passed`), so a benchmark cannot state one verdict and print numbers that say another.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field

from bench.goals import Goal


@dataclass
class Measurement:
    name: str  # what was measured, e.g. "essay page requests/s vs hello-world"
    subject: float  # Folio's median
    baseline: float  # the baseline's median, same unit (for a goal on the value itself, the limit)
    unit: str  # "req/s", "ms", "MB", "backends"
    goal: Goal
    ratio: float | None = None  # Folio against the baseline, for a goal on the ratio (may be baseline / subject)
    spread: str = ""  # e.g. "subject p25–p75 910–980 req/s; baseline 1820–1900"
    command: str = ""  # how to reproduce just this measurement
    details: dict[str, float | str] = field(default_factory=dict)
    # The best any implementation could do, same unit: the floor (writes alone, Django's import alone) or the
    # ceiling (hello-world req/s). Unset: the baseline, for a goal on the ratio (hello-world is its own ceiling),
    # or the goal's threshold, for a goal on the value itself.
    limit: float | None = None
    limit_name: str = ""

    @property
    def limit_shown(self) -> tuple[float, str]:
        """The limit this row is measured against, and what it is."""
        if self.limit is not None:
            return self.limit, self.limit_name or "limit"
        if self.goal.on_ratio:
            return self.baseline, self.limit_name or "baseline"
        return self.goal.threshold, self.limit_name or "goal"

    @property
    def from_limit(self) -> str:
        """How far Folio is from its limit, in words: "1.52× the writes-alone floor", "68% of hello-world"."""
        limit, name = self.limit_shown
        if not limit or not math.isfinite(self.subject):
            return "—"
        share = self.subject / limit
        return f"{share:.0%} of {name}" if share < 1 else f"{share:.3g}× {name}"

    @property
    def compared(self) -> float | None:
        """The number the goal judges: the ratio, or the measured value itself."""
        return self.ratio if self.goal.on_ratio else self.subject

    @property
    def passed(self) -> bool:
        compared = self.compared
        return compared is not None and math.isfinite(compared) and self.goal.met_by(compared)


def _number(value: float) -> str:
    # Three significant digits, but never "3.09e+03" for a count people read as 3,090.
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"


def median_and_spread(values: list[float]) -> tuple[float, str]:
    """Median and the interquartile range as text (the range itself with fewer than four values)."""
    ordered = sorted(values)
    if len(ordered) >= 4:
        q1, _, q3 = statistics.quantiles(ordered, n=4)
        return statistics.median(ordered), f"{_number(q1)}–{_number(q3)}"
    return statistics.median(ordered), f"{_number(ordered[0])}–{_number(ordered[-1])}"
