"""Build every mart over N synthetic symbols x 30 years of daily prices and time it, next to
the same drawdown tables computed with the pandas/quantstats oracle.

    uv run python benchmarks/bench_marts.py [--symbols 10 100 500] [--years 30]

A script, not a test. The data is SYNTHETIC (random walks, labelled source = 'demo'), written
straight into the raw tables of a scratch warehouse; the dbt project then runs unmodified
(with divergence_pairs pointed at synthetic symbols). Prints a Markdown table for
benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from orchestration.lib.warehouse import connect, ensure_raw_schema  # noqa: E402
from orchestration.settings import dbt_executable  # noqa: E402
from orchestration.sources.calendars.client import exchange_sessions  # noqa: E402

DBT = dbt_executable()


def synthetic_prices(n_symbols: int, years: int, seed: int = 7) -> pd.DataFrame:
    """Geometric random walks on business days, one per symbol (SYNTHETIC)."""
    rng = np.random.default_rng(seed)
    days = pd.bdate_range(end="2025-12-31", periods=years * 261)
    n = len(days)
    frames = []
    for k in range(n_symbols):
        vol = rng.uniform(0.008, 0.03)
        close = 100 * np.exp(np.cumsum(rng.normal(0.0002, vol, n)))
        high = close * np.exp(np.abs(rng.normal(0, vol / 2, n)))
        low = close * np.exp(-np.abs(rng.normal(0, vol / 2, n)))
        frames.append(pd.DataFrame({
            "symbol": f"SYN{k:04d}", "date": days.date, "open": close, "high": high,
            "low": low, "close": close, "adj_close": close,
            "volume": np.full(n, 1000, dtype="int64"),
        }))
    return pd.concat(frames, ignore_index=True)


def build_warehouse(path: Path, prices: pd.DataFrame) -> None:
    symbols = sorted(prices.symbol.unique())
    with connect(path) as con:
        ensure_raw_schema(con)
        con.register("p", prices)
        con.execute("INSERT INTO raw.market_prices SELECT symbol, date, open, high, low, close, "
                    "adj_close, volume, 'demo', now()::timestamp FROM p")
        instruments = pd.DataFrame({"symbol": symbols, "name": symbols,
                                    "asset_class": "equity_index", "calendar": "XNYS"})
        con.register("i", instruments)
        con.execute("INSERT INTO raw.instruments (symbol, name, asset_class, calendar) "
                    "SELECT * FROM i")
        sessions = exchange_sessions(["XNYS"], today=date(2025, 12, 31))
        con.register("s", sessions)
        con.execute("INSERT INTO raw.trading_sessions SELECT * FROM s")


def dbt(args: list[str], warehouse: Path, pairs: list[dict]) -> tuple[float, float, float]:
    """Run dbt; return (wall seconds, seconds inside the models' SQL, peak RSS in MiB)."""
    env = {**os.environ, "LOCKSTEP_WAREHOUSE": str(warehouse),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.monotonic()
    out = subprocess.run(
        [str(DBT), *args, "--profiles-dir", ".", "--target-path",
         str(warehouse.parent / "target"), "--vars",
         json.dumps({"divergence_pairs": pairs, "macro_pair": pairs[0]})],
        cwd=ROOT / "dbt_project", env=env, capture_output=True, text=True)
    elapsed = time.monotonic() - started
    if out.returncode != 0:
        sys.stderr.write(out.stdout[-5000:])
        raise SystemExit(f"dbt {' '.join(args)} failed")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    sql = sum(r["execution_time"] for r in run_results(warehouse)) if args[0] == "run" else 0.0
    return elapsed, sql, max(peak, before) / 1024


def run_results(warehouse: Path) -> list[dict]:
    """dbt's per-node results of the last run against `warehouse` (its run_results.json)."""
    return json.loads((warehouse.parent / "target" / "run_results.json").read_text())["results"]


@contextmanager
def scratch_warehouse(prices: pd.DataFrame, prefix: str) -> Iterator[tuple[Path, list[dict]]]:
    """A temporary warehouse holding `prices` in its raw tables, dbt parsed and the seed
    loaded, with divergence pairs among its symbols: (warehouse path, pairs)."""
    names = sorted(prices.symbol.unique())
    pairs = [{"leader": names[i], "laggard": names[-1]} for i in range(min(4, len(names) - 1))]
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        warehouse = Path(tmp) / "lockstep.duckdb"
        build_warehouse(warehouse, prices)
        dbt(["parse", "--quiet"], warehouse, pairs)
        dbt(["seed", "--quiet"], warehouse, pairs)  # the dated-events reference table
        yield warehouse, pairs


def oracle_drawdown_tables(prices: pd.DataFrame) -> float:
    """The same drawdown tables -- fct_drawdowns_daily's columns on both bases and the
    episodes of fct_drawdown_episodes -- with pandas and quantstats, symbol by symbol (the
    way the tests' oracles compute them). Returns wall seconds."""
    import quantstats as qs

    started = time.monotonic()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _, rows in prices.groupby("symbol", sort=False):
            index = pd.DatetimeIndex(rows.date)
            close = pd.Series(rows.close.to_numpy(), index=index)
            session = pd.Series(np.arange(1, len(rows) + 1), index=index)
            table = {}
            for basis, values in (("close", close),
                                  ("high", pd.Series(np.maximum(rows.high.to_numpy(),
                                                                rows.close.to_numpy()),
                                                     index=index))):
                peak = values.cummax()
                record = values == peak
                peak_date = pd.Series(index.where(record), index=index).ffill()
                peak_session = session.where(record).ffill()
                table[basis] = pd.DataFrame({
                    "peak": peak, "record": record, "peak_date": peak_date,
                    "drawdown": close / peak - 1,
                    "days_since": (index - pd.DatetimeIndex(peak_date)).days,
                    "sessions_since": session - peak_session,
                })
            _ = qs.stats.drawdown_details(qs.stats.to_drawdown_series(close))
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--symbols", type=int, nargs="+", default=[10, 100, 500])
    parser.add_argument("--years", type=int, default=30)
    args = parser.parse_args()
    print("progress: one line per size as it finishes", file=sys.stderr)
    lines = []
    for n in args.symbols:
        prices = synthetic_prices(n, args.years)
        with scratch_warehouse(prices, "lockstep-bench-marts-") as (warehouse, pairs):
            all_marts, all_sql, rss = dbt(["run", "--quiet"], warehouse, pairs)
            # a whole build again (the incremental models would otherwise add nothing)
            drawdowns, dd_sql, _ = dbt(["run", "--quiet", "--full-refresh", "--select",
                                        "+fct_drawdowns_daily +fct_drawdown_episodes"],
                                       warehouse, pairs)
            with duckdb.connect(str(warehouse), read_only=True) as con:
                built = con.execute("SELECT count(*) FROM marts.fct_drawdowns_daily").fetchone()[0]
            assert built == len(prices), (built, len(prices))
        oracle = oracle_drawdown_tables(prices)
        line = (f"| {n} | {len(prices):,} | {all_marts:.1f} s ({all_sql:.1f} s) "
                f"| {len(prices) / all_marts:,.0f} | {drawdowns:.1f} s ({dd_sql:.1f} s) "
                f"| {oracle:.1f} s | {oracle / drawdowns:.1f}x ({oracle / dd_sql:.1f}x) "
                f"| {rss:,.0f} MiB |")
        print(line, file=sys.stderr)
        lines.append(line)
    print("| symbols | rows | every model, `dbt run` wall (SQL) | rows/s | drawdown tables "
          "only, wall (SQL) | pandas/quantstats oracle | oracle / dbt, wall (SQL) "
          "| dbt peak RSS |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
