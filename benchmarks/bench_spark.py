"""The Spark engine beside DuckDB, in the same run: the first load and a daily refresh of
the demo universe and of a larger SYNTHETIC one, through the Dagster job as `make run` runs
it (LOCKSTEP_ENGINE=duckdb, then spark, on the same files).

    uv run python benchmarks/bench_spark.py [--symbols 50] [--years 30]
                                            [--skip-large | --skip-small]

A script, not a test (docs/spark.md; results in benchmarks/README.md). Per universe and
engine it prints the wall time of each run, dbt's time in the models (node time and the
time inside SQL statements, benchmarks/bench_daily_refresh.py's `dbt_sql`) and in the data
tests, and the Dagster steps; for Spark also what starting its JVM costs alone (a
SparkSession in local[2] mode, started and stopped by .venv-dbt's Python).
The market data is SYNTHETIC (bench_marts.py's random walks); the FRED files are the real
history's (../shared/data/real/fred, required).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_daily_refresh import REAL_FRED, append_day, dbt_sql, run, write_universe  # noqa: E402
from bench_demo import machine  # noqa: E402
from bench_marts import ROOT  # noqa: E402

JVM_START = """
import time
t = time.monotonic()
from pyspark.sql import SparkSession
s = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
     .getOrCreate())
s.sql("select 1").collect()
print(f"{time.monotonic() - t:.1f}")
s.stop()
"""


def jvm_start() -> float:
    out = subprocess.run([str(ROOT / ".venv-dbt" / "bin" / "python"), "-c", JVM_START],
                         capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def engine_runs(data: Path, catalog: Path, where: Path, engine: str) -> dict:
    state = where / engine / "state"
    env = {**os.environ, "LOCKSTEP_ENGINE": engine, "LOCKSTEP_SOURCE": "files",
           "LOCKSTEP_DATA_DIR": str(data), "LOCKSTEP_CATALOG": str(catalog),
           "LOCKSTEP_STATE_DIR": str(state),
           "LOCKSTEP_WAREHOUSE": str(where / engine / "warehouse" / "lockstep.duckdb"),
           "LOCKSTEP_PUBLISH_DIR": str(where / engine / "published"),
           "LOCKSTEP_CREATE_DIRS": "1", "DAGSTER_HOME": str(state / "dagster_home")}
    for name in ("LOCKSTEP_FULL_REFRESH", "LOCKSTEP_ALERT_WEBHOOK", "VERBOSE"):
        env.pop(name, None)
    (state / "dagster_home").mkdir(parents=True)
    shutil.copy(ROOT / "orchestration" / "dagster_instance.yaml",
                state / "dagster_home" / "dagster.yaml")
    print(f"progress: {engine}: first load", file=sys.stderr)
    first = run(env)
    first_models, first_sql, _ = dbt_sql(state)
    return {"first": first, "first_models": first_models, "first_sql": first_sql,
            "env": env, "state": state}


def daily(result: dict, engine: str) -> None:
    print(f"progress: {engine}: daily refresh", file=sys.stderr)
    result["daily"] = run(result["env"])
    result["daily_models"], result["daily_sql"], _ = dbt_sql(result["state"])


def universe(extra: int, years: int) -> dict[str, dict]:
    with tempfile.TemporaryDirectory(prefix="lockstep-bench-spark-") as tmp:
        where = Path(tmp)
        data, catalog, prices = write_universe(where, extra, years)
        symbols = len(list((data / "market").glob("*.csv")))
        print(f"progress: {symbols} symbols x {years} years ({len(prices):,} bars)",
              file=sys.stderr)
        results = {e: engine_runs(data, catalog, where, e) for e in ("duckdb", "spark")}
        append_day(data)
        for engine, result in results.items():
            daily(result, engine)
        for result in results.values():
            result.pop("env"), result.pop("state")
        return {"symbols": symbols, "bars": len(prices), **results}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--symbols", type=int, default=50, help="SYN symbols added")
    parser.add_argument("--years", type=int, default=30)
    parser.add_argument("--skip-large", action="store_true", help="the 9 instruments only")
    parser.add_argument("--skip-small", action="store_true", help="the larger universe only")
    args = parser.parse_args()
    if not REAL_FRED.is_dir():
        raise SystemExit(f"needs the real FRED history at {REAL_FRED}")
    started = time.monotonic()
    jvm = jvm_start()
    sizes = ([] if args.skip_small else [(0, 9)]) + \
        ([] if args.skip_large else [(args.symbols, args.years)])
    rows = [universe(extra, years) for extra, years in sizes]
    print(f"\n{machine()}; Spark's JVM alone starts in {jvm:.1f} s\n")
    print("| universe | engine | first load (s) | dbt models / in SQL (s) | daily refresh (s) "
          "| dbt models / in SQL (s) |")
    print("|---|---|---:|---:|---:|---:|")
    for r in rows:
        for engine in ("duckdb", "spark"):
            e = r[engine]
            print(f"| {r['symbols']} symbols, {r['bars']:,} bars | {engine} | {e['first']:.0f} "
                  f"| {e['first_models']:.0f} / {e['first_sql']:.0f} | {e['daily']:.0f} "
                  f"| {e['daily_models']:.0f} / {e['daily_sql']:.0f} |")
    print(f"\n(whole benchmark: {time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
