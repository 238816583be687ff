"""The function Vercel's own build makes of Folio (`vercel build --prod`, zero-config form, harness/vercel_build.py):
its unpacked size and file count, reported beside the installed size of the production dependencies. Every file
is read from disk on a cold start; Vercel refuses a function over 250 MB unpacked."""

from __future__ import annotations

from collections import Counter

from bench.common import Measurement
from bench.goals import Goal
from harness.vercel_build import CLI, cached_builds

LIMIT_MB = 250.0


def measure() -> Measurement:
    if not CLI.exists():
        raise RuntimeError(f"Vercel's CLI is not installed at {CLI}: run `make vercel-cli`")
    build = cached_builds()["zero-config"]  # the tests' build of this same tree, when they ran first
    sizes: Counter[str] = Counter()
    for name, path in build.bundle.items():
        parts = name.split("/")
        top = "/".join(parts[:2]) if parts[0] == "_vendor" and len(parts) > 2 else parts[0]
        sizes[top.removesuffix(".libs")] += path.stat().st_size
    total_mb = build.bundle_bytes / 1e6
    return Measurement(
        name="Vercel function bundle (vercel build, zero-config)",
        subject=total_mb,
        baseline=LIMIT_MB,
        unit="MB",
        goal=Goal("<", LIMIT_MB, unit="MB", label="(Vercel's limit)"),
        command="python -m bench --only cold_start",
        details={
            "files": float(len(build.bundle)),
            "entrypoint": build.entrypoint,
            **{f"size {name}, MB": round(size / 1e6, 2) for name, size in sizes.most_common(8)},
        },
    )
