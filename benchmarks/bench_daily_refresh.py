"""A daily refresh through the Dagster job, as `make run` runs it, for the catalog's own
universe and for a large one: the first load of Y years, then one new day for every symbol.

    uv run python benchmarks/bench_daily_refresh.py [--symbols 500] [--years 30]

A script, not a test. Per universe it writes a files-layout directory and a catalog file in
a scratch directory and runs `python -m orchestration.cli run` twice with
LOCKSTEP_SOURCE=files, LOCKSTEP_DATA_DIR, LOCKSTEP_CATALOG (the catalog's instruments plus
N SYNTHETIC random walks SYN0000...), a scratch warehouse, state directory and Dagster
instance: the first load (every year), then -- after one new bar was appended to every
market file -- the daily refresh (the current year's partition). The market data is
SYNTHETIC (benchmarks/bench_marts.py's random walks, also for the catalog's symbols); the
FRED files are the real history's (../shared/data/real/fred, required).

It prints, per universe: the wall time of each run and two measures of dbt's time in the
models (node time from the run's run_results.json, which includes dbt's own Python around
every node; and the time inside the SQL statements, from the run's dbt.log), and the daily
refresh's figures next to the demo universe's, as a Markdown table for benchmarks/README.md; then,
measured in the same run, the yardstick (a trivial one-asset Dagster + dbt project,
bench_demo.py's) and the numpy floor for the running peaks of each universe's closes.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_demo import machine, trivial_project  # noqa: E402
from bench_incremental import numpy_floor  # noqa: E402
from bench_marts import ROOT, synthetic_prices  # noqa: E402

REAL_FRED = ROOT.parent / "shared" / "data" / "real" / "fred"


def stem(symbol: str) -> str:
    return (symbol[1:] if symbol.startswith("^") else symbol).replace("=", "_")


def write_universe(where: Path, extra: int, years: int):
    """(data directory, catalog file, the prices written): the catalog's instruments plus
    `extra` SYN symbols, SYNTHETIC closes for all of them; the real FRED files."""
    catalog = yaml.safe_load((ROOT / "orchestration" / "catalog.yaml").read_text())
    own = [i["symbol"] for i in catalog["market"]]
    prices = synthetic_prices(len(own) + extra, years)
    names = {f"SYN{k:04d}": s for k, s in enumerate(own)}  # the first walks get own symbols
    prices["symbol"] = prices.symbol.map(lambda s: names.get(s, s))
    catalog["market"] += [{"symbol": s, "name": f"Synthetic {s}", "asset_class": "etf",
                           "calendar": "XNYS"} for s in sorted(set(prices.symbol) - set(own))]
    data = where / "data"
    (data / "market").mkdir(parents=True)
    for symbol, frame in prices.groupby("symbol"):
        frame.drop(columns="symbol").to_csv(data / "market" / f"{stem(symbol)}.csv",
                                            index=False)
    shutil.copytree(REAL_FRED, data / "fred")
    path = where / "catalog.yaml"
    path.write_text(yaml.safe_dump(catalog, sort_keys=False))
    return data, path, prices


def append_day(data: Path) -> date:
    """One new bar at the end of every market file (the next weekday after its last), as a
    line of text: the rows before stay byte for byte what they were (rewriting the file
    through pandas changes the last digit of some floats, which would be revisions)."""
    new = None
    for path in sorted((data / "market").glob("*.csv")):
        lines = path.read_text().splitlines()
        header, last = lines[0].split(","), dict(zip(lines[0].split(","),
                                                     lines[-1].split(","), strict=True))
        day = date.fromisoformat(last["date"]) + timedelta(days=1)
        while day.weekday() >= 5:
            day += timedelta(days=1)
        row = {**last, "date": day.isoformat()}
        for column in ("open", "high", "low", "close", "adj_close"):
            row[column] = repr(float(last[column]) * 1.01)
        with path.open("a") as out:
            out.write(",".join(row[c] for c in header) + "\n")
        new = day
    return new


def dbt_sql(state: Path) -> tuple[float, float, dict[str, float]]:
    """Two measures of the models' SQL in the newest dbt run, and the first per model:
    - node time: each model's `execution_time` in run_results.json. It includes dbt's own
      Python around the SQL of every node (rendering the materialization's macros, checking
      an enforced contract, logging), about 0.05-0.15 s a model whatever its size;
    - statement time: the seconds inside the SQL statements dbt sent for the models, summed
      from the run's dbt.log (dbt's debug file log, one JSON event a line; each
      SQLQueryStatus event carries its statement's elapsed time)."""
    targets = sorted((ROOT / "dbt_project" / "target").glob("lockstep_dbt_assets-*"),
                     key=lambda p: p.stat().st_mtime)
    results = json.loads((targets[-1] / "run_results.json").read_text())["results"]
    models = {r["unique_id"].split(".")[-1]: r["execution_time"] for r in results
              if r["unique_id"].startswith("model.")}
    tests = sum(r["execution_time"] for r in results if r["unique_id"].startswith("test."))
    statements = 0.0
    with (targets[-1] / "dbt.log").open() as log:
        for line in log:
            if '"SQLQueryStatus"' not in line:
                continue
            data = json.loads(line)["data"]
            if (data.get("node_info") or {}).get("unique_id", "").startswith("model."):
                statements += data.get("elapsed") or 0.0
    print(f"  dbt: models {sum(models.values()):.1f} s (of it inside SQL statements "
          f"{statements:.1f} s), data tests {tests:.1f} s", file=sys.stderr)
    return sum(models.values()), statements, models


# the run's steps and their durations, from the scratch Dagster instance
STEPS = """
import sys, dagster as dg
for s in sorted(dg.DagsterInstance.get().get_run_step_stats(sys.argv[1]),
                key=lambda s: -(s.end_time - s.start_time)):
    print(f"{s.step_key} {s.end_time - s.start_time:.1f}")
"""


def run(env: dict[str, str]) -> float:
    python = str(ROOT / ".venv" / "bin" / "python")
    started = time.monotonic()
    out = subprocess.run([python, "-m", "orchestration.cli", "run"], cwd=ROOT, env=env,
                         capture_output=True, text=True)
    elapsed = time.monotonic() - started
    # the largest resident set of any process it ran (Dagster's, the step's, dbt's): the
    # maximum over this script's runs so far, as the kernel keeps it
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
    print(f"  peak memory of the largest process so far: {peak:.1f} GiB", file=sys.stderr)
    if out.returncode not in (0, 1):  # 1: a non-blocking check failed, the marts were built
        sys.stderr.write(out.stdout[-4000:] + out.stderr[-4000:])
        raise SystemExit("the run failed")
    run_id = None
    for line in out.stdout.splitlines():  # the summary's first line and how dbt built
        if line.startswith(("lockstep: run ", "dbt: ")):
            print(f"  {line}", file=sys.stderr)
            run_id = line.split()[2] if line.startswith("lockstep: run ") else run_id
    steps = subprocess.run([python, "-c", STEPS, run_id], cwd=ROOT, env=env,
                           capture_output=True, text=True).stdout.split("\n")
    print("  steps: " + ", ".join(f"{k} {v} s" for k, v in (x.split() for x in steps if x)),
          file=sys.stderr)
    return elapsed


def universe(extra: int, years: int, keep: Path | None = None) -> dict:
    with tempfile.TemporaryDirectory(prefix="lockstep-bench-refresh-") as tmp:
        where = Path(tmp) if keep is None else keep / f"universe-{extra}"
        if keep is not None:
            shutil.rmtree(where, ignore_errors=True)
        data, catalog, prices = write_universe(where, extra, years)
        floor = numpy_floor(prices)
        state = where / "state"
        env = {**os.environ, "LOCKSTEP_SOURCE": "files", "LOCKSTEP_DATA_DIR": str(data),
               "LOCKSTEP_CATALOG": str(catalog), "LOCKSTEP_STATE_DIR": str(state),
               "LOCKSTEP_WAREHOUSE": str(where / "warehouse" / "lockstep.duckdb"),
               "LOCKSTEP_PUBLISH_DIR": str(where / "published"),
               "DAGSTER_HOME": str(state / "dagster_home")}
        for name in ("LOCKSTEP_FULL_REFRESH", "LOCKSTEP_ALERT_WEBHOOK", "VERBOSE"):
            env.pop(name, None)
        (state / "dagster_home").mkdir(parents=True)
        shutil.copy(ROOT / "orchestration" / "dagster_instance.yaml",
                    state / "dagster_home" / "dagster.yaml")
        symbols = len(list((data / "market").glob("*.csv")))
        print(f"progress: {symbols} symbols x {years} years: first load", file=sys.stderr)
        first = run(env)
        first_sql, first_statements, _ = dbt_sql(state)
        day = append_day(data)
        print(f"progress: {symbols} symbols: the daily refresh ({day})", file=sys.stderr)
        daily = run(env)
        daily_sql, daily_statements, models = dbt_sql(state)
        top = sorted(models.items(), key=lambda kv: -kv[1])[:6]
        print("  slowest models of the daily refresh: "
              + ", ".join(f"{k} {v:.2f} s" for k, v in top), file=sys.stderr)
        return {"symbols": symbols, "first": first, "first_sql": first_sql, "daily": daily,
                "daily_sql": daily_sql, "rows": len(prices), "floor": floor,
                "first_statements": first_statements, "daily_statements": daily_statements}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--symbols", type=int, default=500, help="SYN symbols added")
    parser.add_argument("--years", type=int, default=30)
    parser.add_argument("--keep", type=Path, help="work in this directory and keep it (the "
                        "files, warehouse, published copy and Dagster home of each universe)")
    parser.add_argument("--only-large", action="store_true",
                        help="skip the catalog universe (no comparison is printed)")
    args = parser.parse_args()
    if not REAL_FRED.is_dir():
        raise SystemExit(f"needs the real FRED history at {REAL_FRED}")
    large = universe(args.symbols, args.years, args.keep)
    if args.only_large:
        return
    own = universe(0, args.years, args.keep)
    print(f"Machine: {machine()}\n")
    print("| universe | symbols | first load, wall (dbt node time; in SQL statements) "
          "| daily refresh, wall (dbt node time; in SQL statements) "
          "| daily wall / catalog universe's | daily / first load: node time "
          "| daily / first load: SQL statements |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label, r in (("the catalog's", own), (f"catalog + {args.symbols} SYNTHETIC", large)):
        print(f"| {label} | {r['symbols']:,} "
              f"| {r['first']:.1f} s ({r['first_sql']:.1f} s; {r['first_statements']:.1f} s) "
              f"| {r['daily']:.1f} s ({r['daily_sql']:.1f} s; {r['daily_statements']:.1f} s) "
              f"| {r['daily'] / own['daily']:.1f}x | {r['daily_sql'] / r['first_sql']:.0%} "
              f"| {r['daily_statements'] / r['first_statements']:.0%} |")
    with tempfile.TemporaryDirectory(prefix="lockstep-bench-yardstick-") as tmp:
        yardstick = trivial_project(ROOT, Path(tmp), 1)[0]
    print(f"\nIn the same run: the yardstick (a trivial one-asset Dagster + dbt project, one "
          f"materialization) {yardstick:.1f} s; the numpy floor for the running peaks "
          f"(`maximum.accumulate` per symbol) {own['floor']:.2f} s over {own['rows']:,} rows, "
          f"{large['floor']:.2f} s over {large['rows']:,}.")


if __name__ == "__main__":
    main()
