"""The PNG next to BENCHMARKS.md: every measurement's ratio as a bar, its goal as a mark on the same row."""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display on servers and CI; must precede pyplot, which ruff allows (E402)

import matplotlib.pyplot as plt
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

from bench.common import Measurement
from bench.runner import BenchmarkResult

PASS, FAIL, ERROR, GOAL = "#2e7d32", "#c62828", "#9e9e9e", "#212121"


def on_scale(measurement: Measurement) -> tuple[float | None, float]:
    """The bar and the goal mark on the chart's one scale: the ratio against the goal's ratio, or the share of
    the limit a goal on the value itself allows (1.0 = the limit)."""
    goal = measurement.goal
    if goal.on_ratio:
        return measurement.ratio, goal.threshold
    return measurement.subject / goal.threshold, 1.0


def draw(results: list[BenchmarkResult], path: Path, *, title: str) -> Path:
    """Write the chart to `path` (log scale: 0.3× and 30× sit equally far from 1×) and return it."""
    rows: list[tuple[str, float | None, float | None, str, str]] = []  # label, value, goal, colour, value text
    for result in results:
        if result.error:
            rows.append((f"{result.name}: error", None, None, ERROR, "error"))
        for m in result.measurements:
            value, threshold = on_scale(m)
            usable = value if value is not None and math.isfinite(value) and value > 0 else None
            if m.goal.on_ratio:
                label, text = m.name, f"{usable:.3g}×" if usable else "n/a"
            else:
                label, text = f"{m.name} (share of limit)", f"{usable:.0%} of limit" if usable else "n/a"
            rows.append((label, usable, threshold, PASS if m.passed else FAIL, text))
    figure, axes = plt.subplots(figsize=(12, 1.5 + 0.55 * max(len(rows), 1)), layout="constrained")
    positions = list(range(len(rows)))[::-1]  # first benchmark on top
    values = [row[1] for row in rows]
    known = [v for v in values if v] + [row[2] for row in rows if row[2]] + [1.0]
    low, high = min(known) / 2, max(known) * 4
    widths = [value - low if value else 0 for value in values]
    axes.barh(positions, widths, left=low, color=[row[3] for row in rows], height=0.6)
    for position, (_, value, threshold, _, text) in zip(positions, rows, strict=True):
        if threshold is not None:
            axes.plot([threshold, threshold], [position - 0.4, position + 0.4], color=GOAL, linewidth=2.5)
        # Right of both the bar and the goal mark, so neither hides the number.
        anchor = max(value or low, threshold or low)
        axes.annotate(text, (anchor, position), xytext=(5, 0), textcoords="offset points", va="center")
    # Wrapped: a benchmark's long, precise measurement names would otherwise squeeze the bars off the figure.
    axes.set_yticks(positions, [textwrap.fill(row[0], 55) for row in rows], fontsize=8)
    axes.set_xscale("log")
    axes.set_xlim(low, high)
    axes.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:g}×"))
    legend = [Patch(color=PASS, label="goal met"), Patch(color=FAIL, label="goal missed")]
    legend.append(Line2D([], [], color=GOAL, linewidth=2.5, label="goal"))
    axes.legend(handles=legend, loc="lower right", fontsize=8)
    axes.axvline(1.0, color=ERROR, linewidth=0.8, linestyle=":")
    axes.set_xlabel("ratio, log scale (absolute goals: share of the limit used); black mark = goal", fontsize=9)
    figure.suptitle(title, fontsize=10)
    path.parent.mkdir(parents=True, exist_ok=True)
    # No timestamp in the PNG's metadata: an unchanged chart then makes no diff.
    figure.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(figure)
    return path
