"""What partitioning the raw history costs Dagster: record a full-history load (1927 to
now) of two partitioned assets with one check, by month and by year, on an ephemeral
instance and on a persistent (SQLite) one like `make run`'s. The assets do nothing, so the
time is Dagster's bookkeeping: one materialization event per partition and asset.

    uv run python benchmarks/bench_partitions.py

A script, not a test: it prints a Markdown table for benchmarks/README.md with the machine.
"""

from __future__ import annotations

import logging
import tempfile
import time
import warnings

import dagster as dg
from bench_demo import machine  # same directory: run as a script

warnings.filterwarnings("ignore")
logging.getLogger("dagster").setLevel(logging.ERROR)

GRANULARITIES = {
    "month": dg.MonthlyPartitionsDefinition(start_date="1927-01-01", end_offset=1),
    "year": dg.TimeWindowPartitionsDefinition(cron_schedule="0 0 1 1 *", start="1927",
                                              fmt="%Y", end_offset=1),
}


def _assets(partitions: dg.PartitionsDefinition) -> list:
    a, b = dg.AssetKey(["raw", "a"]), dg.AssetKey(["raw", "b"])

    @dg.multi_asset(specs=[dg.AssetSpec(a, partitions_def=partitions),
                           dg.AssetSpec(b, partitions_def=partitions)],
                    check_specs=[dg.AssetCheckSpec("ok", asset=a)],
                    partitions_def=partitions, backfill_policy=dg.BackfillPolicy.single_run())
    def load():
        yield dg.MaterializeResult(asset_key=a)
        yield dg.AssetCheckResult(asset_key=a, check_name="ok", passed=True)
        yield dg.MaterializeResult(asset_key=b)

    @dg.asset(deps=[a, b])
    def downstream() -> None:
        return None

    return [load, downstream]


def main() -> None:
    rows = []
    for name, partitions in GRANULARITIES.items():
        keys = partitions.get_partition_keys()
        tags = {"dagster/asset_partition_range_start": keys[0],
                "dagster/asset_partition_range_end": keys[-1]}
        for storage in ("ephemeral", "SQLite"):
            with tempfile.TemporaryDirectory() as home:
                instance = (dg.DagsterInstance.ephemeral() if storage == "ephemeral"
                            else dg.DagsterInstance.local_temp(home))
                started = time.monotonic()
                result = dg.materialize(_assets(partitions), instance=instance, tags=tags)
                elapsed = time.monotonic() - started
                assert result.success
            rows.append((name, len(keys), storage, elapsed))
    print(f"Machine: {machine()}\n")
    print("| partition | partitions since 1927 | instance | recording a full-history load |")
    print("|---|---:|---|---:|")
    for name, count, storage, elapsed in rows:
        print(f"| {name} | {count:,} | {storage} | {elapsed:,.1f} s |")


if __name__ == "__main__":
    main()
