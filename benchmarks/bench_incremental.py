"""What a daily refresh costs dbt once the history is stored: N synthetic symbols x Y years,
a full build, then one new day for every symbol written the way ingestion writes it (an
upsert into raw.market_prices), then the incremental build -- next to the numpy floor for
the running peaks over the same rows.

    uv run python benchmarks/bench_incremental.py [--symbols 10 100 500] [--years 30]

A script, not a test. The data is SYNTHETIC (random walks, source = 'demo'), written
straight into the raw tables of a scratch warehouse (benchmarks/bench_marts.py makes it).
Per size it prints: the full build's wall time and SQL time (dbt's run_results.json), the
incremental build's (run as the dbt asset runs it: the brief from the first date whose
inputs changed), the SQL time of int_running_peaks and of mart_daily_brief in each, and
numpy's maximum.accumulate over the closes. Prints a Markdown table for benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date, datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_marts import (  # noqa: E402
    ROOT,
    dbt,
    run_results,
    scratch_warehouse,
    synthetic_prices,
)

sys.path.insert(0, str(ROOT))
from orchestration.lib.incremental import CHANGED_FROM, changed_from, record_inputs  # noqa: E402
from orchestration.lib.warehouse import connect, upsert  # noqa: E402
from orchestration.settings import environ  # noqa: E402
from orchestration.sources.yahoo.tables import MARKET  # noqa: E402

NEW_DAY = date(2026, 1, 2)  # the first NYSE session after the synthetic history ends


def model_sql(warehouse: Path, name: str) -> float:
    return sum(r["execution_time"] for r in run_results(warehouse)
               if r["unique_id"].endswith(f".{name}"))


def slowest(warehouse: Path, label: str, n: int = 8) -> None:
    """The n slowest models of the last dbt run, on stderr (where a daily build's time goes)."""
    top = sorted(run_results(warehouse), key=lambda r: -r["execution_time"])[:n]
    print(f"  {label}: " + ", ".join(f"{r['unique_id'].split('.')[-1]} {r['execution_time']:.2f} s"
                                     for r in top), file=sys.stderr)


def numpy_floor(prices: pd.DataFrame) -> float:
    """Running peaks of every symbol's closes with numpy: the floor for int_running_peaks."""
    started = time.monotonic()
    for _, closes in prices.groupby("symbol", sort=False)["close"]:
        np.maximum.accumulate(closes.to_numpy())
    return time.monotonic() - started


def append_one_day(warehouse: Path, prices: pd.DataFrame) -> int:
    last = prices.sort_values("date").groupby("symbol").tail(1)
    day = last.assign(date=NEW_DAY, open=last.close * 1.01, high=last.close * 1.02,
                      low=last.close, close=last.close * 1.01, adj_close=last.close * 1.01)
    with connect(warehouse) as con:
        upsert(con, MARKET, day, "demo", datetime.now())
    return len(day)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--symbols", type=int, nargs="+", default=[10, 100, 500])
    parser.add_argument("--years", type=int, default=30)
    args = parser.parse_args()
    print("progress: one line per size as it finishes", file=sys.stderr)
    lines = []
    for n in args.symbols:
        prices = synthetic_prices(n, args.years)
        with scratch_warehouse(prices, "lockstep-bench-incremental-") as (warehouse, pairs):
            full, full_sql, rss = dbt(["run", "--quiet", "--full-refresh"], warehouse, pairs)
            full_peaks = model_sql(warehouse, "int_running_peaks")
            full_brief = model_sql(warehouse, "mart_daily_brief")
            slowest(warehouse, f"{n} symbols, full build")
            record_inputs(warehouse)  # as the dbt asset does after a successful build
            added = append_one_day(warehouse, prices)
            start, dates = changed_from(warehouse)  # where the brief starts, as in the asset
            print(f"  {n} symbols, one new day: brief dates {dates}", file=sys.stderr)
            with environ(**{CHANGED_FROM: f"{start:%Y-%m-%d}" if start else None}):
                daily, daily_sql, _ = dbt(["run", "--quiet"], warehouse, pairs)
            daily_peaks = model_sql(warehouse, "int_running_peaks")
            daily_brief = model_sql(warehouse, "mart_daily_brief")
            slowest(warehouse, f"{n} symbols, one new day")
            with duckdb.connect(str(warehouse), read_only=True) as con:
                stored = con.execute("SELECT count(*) FROM intermediate.int_running_peaks "
                                     "WHERE date = ?", [NEW_DAY]).fetchone()[0]
            assert stored == added == n, (stored, added, n)
        floor = numpy_floor(prices)
        line = (f"| {n} | {len(prices):,} | {full:.1f} s ({full_sql:.1f} s) "
                f"| {daily:.1f} s ({daily_sql:.1f} s) | {daily_sql / full_sql:.0%} "
                f"| {full_peaks:.2f} s | {daily_peaks:.2f} s | {full_brief:.2f} s "
                f"| {daily_brief:.2f} s | {floor:.2f} s | {rss:,.0f} MiB |")
        print(line, file=sys.stderr)
        lines.append(line)
    print("| symbols | rows | full build, `dbt run` wall (SQL) | one new day, wall (SQL) "
          "| daily SQL / full SQL | int_running_peaks SQL, full | int_running_peaks SQL, "
          "one new day | mart_daily_brief SQL, full | mart_daily_brief SQL, one new day "
          "| numpy floor (running peaks) | dbt peak RSS |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
