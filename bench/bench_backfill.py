"""Backfilling word_count on 1,000,000 essays: 0005's batched SQL against a competent RunPython.

The competitor is what a careful Django developer writes: a non-atomic migration that streams the pending rows
with `.iterator()` and writes them back with `bulk_update` in batches, each batch its own transaction. Both run in
a fresh process on the same data (RunPython on a CREATE DATABASE ... TEMPLATE copy, then SQL on the original) on
a private cluster (harness/postgres.py), while a sampler updates one random essay at a time and records the
longest wait: what a visitor saving an essay during the deploy would feel.

Goals (DESIGN.md): SQL ≥ 10× faster; the migration process's peak RSS < 100 MB; no concurrent update > 1 s.

Its limit: the floor, the same batched UPDATE writing a constant over the same rows (the writes alone, which no
word count can beat). Beside it, Folio's expression as one statement over every row, and the regexp_count the
backfill used before (both in the details): what batching costs, and what the expression saved.

At a million essays the RunPython side would take most of an hour on two cores, so the full run gives it the
first PYTHON_SAMPLE rows and compares rows per second (both sides are linear in rows: fixed-size batches); the
SQL side always does every row, since its memory and lock behaviour over the whole table are the point.
`--sql-batch N` tries another batch size for the SQL side (default: the migration's own BATCH_SIZE).

    python -m bench.bench_backfill --quick
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import time

import psycopg

from apps.content import backfill, words
from bench.common import Measurement, median_and_spread
from bench.goals import Goal
from bench.sampling import Sampler
from harness.postgres import Cluster, private_cluster
from harness.project import clean_env, manage_steps, run_in_project

COMMAND = "python -m bench.bench_backfill"
TEMPLATE = "folio_backfill_template"
PYTHON_BATCH = 2_000
PYTHON_SAMPLE = 20_000
COPIED_FROM_SEED = "word_count, id, slug, title, body"  # the columns the generator writes itself


def django_env(url: str) -> dict[str, str]:
    return clean_env(DJANGO_SETTINGS_MODULE="config.settings.development", DATABASE_URL=url, LOG_LEVEL="WARNING")


def build_template(cluster: Cluster, essays: int) -> None:
    """Folio's schema and demo essays, then `essays` more with varied bodies and word_count NULL (before 0005)."""
    env = django_env(cluster.create_database(TEMPLATE))
    manage_steps(("migrate", "--noinput"), ("seed_demo",), env=env, timeout=900)
    with cluster.connect(TEMPLATE, autocommit=True) as db:
        # Every other column (author, status, dates, whatever later migrations add) is copied from a seeded essay.
        others = [
            name
            for (name,) in db.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'content_essay' "
                "ORDER BY ordinal_position"
            ).fetchall()
            if name not in COPIED_FROM_SEED.split(", ")
        ]
        columns = ", ".join(others)
        copied = ", ".join(f"seed.{name}" for name in others)
        db.execute(
            f"""
            INSERT INTO content_essay (slug, title, body, {columns})
            SELECT 'bench-' || g, 'Essay ' || g,
                   repeat(E'Lorem ipsum dolor\\tsit amet,\\nconsectetur adipiscing elit. ', 1 + g %% 12),
                   {copied}
            FROM generate_series(1, %s) AS g, (SELECT * FROM content_essay ORDER BY id LIMIT 1) AS seed
            """,  # noqa: S608 - column names come from the catalogue, values are parameters
            [essays],
        )
        db.execute("UPDATE content_essay SET word_count = NULL WHERE word_count IS NOT NULL")  # the seeded ones
        db.execute("VACUUM ANALYZE content_essay")


class StallSampler(Sampler):
    """Updates one random essay at a time, as visitors would, and keeps the longest wait."""

    def __init__(self, cluster: Cluster, database: str, interval: float = 0.02) -> None:
        super().__init__(cluster, database, interval)
        self.longest = 0.0
        self.samples = 0
        self.ids = (0, 0)

    def setup(self, db: psycopg.Connection) -> None:
        self.ids = db.execute("SELECT min(id), max(id) FROM content_essay").fetchone()

    def sample(self, db: psycopg.Connection) -> None:
        started = time.perf_counter()
        db.execute(
            "UPDATE content_essay SET updated_at = now() WHERE id = %s",
            [random.randint(*self.ids)],  # noqa: S311 - load, not cryptography
        )
        self.longest = max(self.longest, time.perf_counter() - started)
        self.samples += 1


def backfill_in_this_process(variant: str, *, limit: int | None, sql_batch: int | None) -> dict[str, float]:
    """Run one variant here (a fresh process, as `migrate` would be) and report its time and peak RSS."""
    import django

    django.setup()
    from django.db import connection

    from apps.content import backfill
    from apps.content.models import Essay
    from apps.content.words import count_words

    started = time.perf_counter()
    if variant == "sql":
        rows = backfill.fill_word_counts(connection, batch_size=sql_batch)
    elif variant in OTHER_SQL:
        rows = OTHER_SQL[variant](connection, sql_batch or backfill.BATCH_SIZE)
    else:
        rows = 0
        batch: list[Essay] = []
        pending = Essay.objects.filter(word_count__isnull=True).exclude(body="").only("id", "body").order_by("id")
        if limit:
            pending = pending[:limit]
        for essay in pending.iterator(chunk_size=PYTHON_BATCH):
            essay.word_count = count_words(essay.body)
            batch.append(essay)
            if len(batch) == PYTHON_BATCH:
                Essay.objects.bulk_update(batch, ["word_count"])
                rows += len(batch)
                batch.clear()
        if batch:
            Essay.objects.bulk_update(batch, ["word_count"])
            rows += len(batch)
    seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return {"seconds": seconds, "rows": rows, "peak_rss_mb": peak_kib / 1024}


def _floor(connection, batch_size: int) -> int:
    return backfill.fill_pending_with(connection, "1", [], batch_size=batch_size)


def _regex(connection, batch_size: int) -> int:
    return backfill.fill_pending_with(connection, "regexp_count(body, %s)", [words.WORD_PATTERN], batch_size=batch_size)


def _single_statement(connection, batch_size: int) -> int:
    expression, params = words.postgres_word_count("body")
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE content_essay SET word_count = {expression} WHERE {backfill.PENDING}", params)  # noqa: S608 - constants
        return cursor.rowcount


# The SQL side's comparisons, each run like it on its own copy of the same rows.
OTHER_SQL = {"floor": _floor, "single": _single_statement, "regex": _regex}


def one_run(
    cluster: Cluster, variant: str, *, in_place: bool = False, limit: int | None = None, sql_batch: int | None = None
) -> dict[str, float]:
    """One backfill on a copy of the template, or on the template itself when nothing runs after it."""
    database = TEMPLATE if in_place else f"folio_backfill_{variant}"
    if not in_place:
        cluster.create_database(database, template=TEMPLATE)
    try:
        with StallSampler(cluster, database) as sampler:
            result = run_in_project(
                [sys.executable, "-m", "bench.bench_backfill", "--variant", variant]
                + (["--limit", str(limit)] if limit else [])
                + (["--sql-batch", str(sql_batch)] if sql_batch else []),
                env=django_env(cluster.url(database)),
                timeout=1800,
            )
        if result.returncode:
            raise RuntimeError(f"{variant} backfill failed:\n{result.stderr[-2000:]}")
        outcome = json.loads(result.stdout.strip().splitlines()[-1])
        with cluster.connect(database) as db:
            left, total = db.execute(
                "SELECT count(*) FILTER (WHERE word_count IS NULL AND body <> ''), sum(word_count) FROM content_essay"
            ).fetchone()
        if left and not limit and variant != "floor":
            raise RuntimeError(f"{variant} backfill left {left} essays without a word count")
        return {
            **outcome,
            "rows_per_s": outcome["rows"] / outcome["seconds"],
            "longest_stall_s": sampler.longest,
            "stall_samples": sampler.samples,
            "words": total,
        }
    finally:
        if not in_place:
            cluster.drop_database(database)


def run(quick: bool, sql_batch: int | None = None) -> list[Measurement]:
    # One round: at a million rows a second one would not fit the harness's time budget on two cores.
    essays, rounds, limit = (5_000, 1, None) if quick else (1_000_000, 1, PYTHON_SAMPLE)
    runs: dict[str, list[dict[str, float]]] = {"sql": [], "python": [], **{name: [] for name in OTHER_SQL}}
    with private_cluster() as cluster:
        build_template(cluster, essays)
        runs["python"].append(one_run(cluster, "python", limit=limit))
        for name in OTHER_SQL:
            runs[name].append(one_run(cluster, name, sql_batch=sql_batch))
        runs["sql"].append(one_run(cluster, "sql", in_place=True, sql_batch=sql_batch))

    counted = {name: {r["words"] for r in runs[name]} for name in ("sql", "single", "regex")}
    if len({frozenset(totals) for totals in counted.values()}) != 1:
        raise RuntimeError(f"the SQL backfills counted different numbers of words: {counted}")
    if limit is None and counted["sql"] != {r["words"] for r in runs["python"]}:
        raise RuntimeError("the SQL and Python backfills counted different numbers of words")

    def series(variant: str, key: str) -> list[float]:
        return [r[key] for r in runs[variant]]

    sql_rate, sql_spread = median_and_spread(series("sql", "rows_per_s"))
    python_rate, python_spread = median_and_spread(series("python", "rows_per_s"))
    speedup = sql_rate / python_rate
    rows = int(runs["sql"][0]["rows"])
    sql_seconds = median_and_spread(series("sql", "seconds"))[0]
    python_seconds = rows / python_rate  # measured, or scaled from PYTHON_SAMPLE rows to all of them
    floor_seconds = median_and_spread(series("floor", "seconds"))[0]
    sql_rss = max(series("sql", "peak_rss_mb"))
    stall = max(series("sql", "longest_stall_s"))
    details: dict[str, float | str] = {
        "essays": essays,
        "rows filled": rows,
        "rounds": rounds,
        "python batch": PYTHON_BATCH,
        "sql batch": sql_batch or backfill.BATCH_SIZE,
        "python rows measured": int(runs["python"][0]["rows"]),
        "sql rows/s": round(sql_rate),
        "python rows/s": round(python_rate),
        "python peak RSS MB": round(max(series("python", "peak_rss_mb")), 1),
        "python longest stall s": round(max(series("python", "longest_stall_s")), 3),
        "stall samples during sql": int(sum(series("sql", "stall_samples"))),
        "floor: batched UPDATE writing a constant, s": round(floor_seconds, 2),
        "Folio's expression as one UPDATE over every row, s": round(
            median_and_spread(series("single", "seconds"))[0], 2
        ),
        "the old regexp_count, batched, s": round(median_and_spread(series("regex", "seconds"))[0], 2),
        "Folio's batched SQL, s": round(sql_seconds, 2),
        "limit for the goal (RunPython / floor)": f"{python_seconds / floor_seconds:.3g}× faster",
    }
    size = f"{essays:,} essays"
    return [
        Measurement(
            name=f"word_count backfill of {size}: 0005's batched SQL vs RunPython (iterator + bulk_update)",
            # Folio's side is the SQL; the ratio is how many times faster it is than the RunPython baseline.
            subject=sql_seconds,
            baseline=python_seconds,
            unit="s",
            goal=Goal("≥", 10, label="faster"),
            ratio=speedup,
            limit=floor_seconds,
            limit_name="the floor (a constant written over the same rows)",
            spread=f"rows/s: RunPython {python_spread}; SQL {sql_spread}",
            command=COMMAND,
            details=details,
        ),
        Measurement(
            name=f"peak RSS of the migration process, batched SQL backfill of {size}",
            subject=sql_rss,
            baseline=100,
            unit="MB",
            goal=Goal("<", 100, unit="MB"),
            command=COMMAND,
            details=details,
        ),
        Measurement(
            name=f"longest wait of a concurrent single-row UPDATE during the SQL backfill of {size}",
            subject=stall,
            baseline=1.0,
            unit="s",
            goal=Goal("<", 1, unit="s"),
            command=COMMAND,
            details=details,
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(prog=COMMAND)
    parser.add_argument("--quick", action="store_true", help="5,000 essays instead of 1,000,000")
    parser.add_argument("--sql-batch", type=int, help="rows per SQL batch (default: the migration's BATCH_SIZE)")
    # One run's own process.
    parser.add_argument("--variant", choices=["sql", "python", *OTHER_SQL], help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.variant:
        print(json.dumps(backfill_in_this_process(args.variant, limit=args.limit, sql_batch=args.sql_batch)))
        return
    for measurement in run(quick=args.quick, sql_batch=args.sql_batch):
        verdict = "PASS" if measurement.passed else "MISS"
        print(f"{verdict} {measurement.name}: {measurement.subject:.3g} vs {measurement.baseline:.3g} "
              f"{measurement.unit} (goal {measurement.goal}; {measurement.spread})")  # fmt: skip
    print(json.dumps(measurement.details, indent=2))


if __name__ == "__main__":
    main()
