"""The partitions of the raw history: one per calendar year.

`raw/market_prices` and `raw/fred_observations` are partitioned by year, so the Dagster UI
shows which years are loaded (partition health), a backfill is a choice of years (the UI's
backfill dialog, `dagster asset materialize --partition-range`, or `make backfill`), and
every year's status is its own. A backfill of many years runs as one step
(`BackfillPolicy.single_run()`): one fetch per symbol for the whole range, one upsert.

Why years, not months or days: the history reaches back to 1927 (^GSPC), so monthly
partitions would be 1,199 and daily ones over 36,000, and Dagster records one event per
partition and asset: recording a full-history load by month is about twelve times the work
of recording it by year (`python benchmarks/bench_partitions.py` measures it). A year of
every catalog symbol is a few thousand rows, and the unit a person re-loads after a
revision. The current year exists from its first day (end_offset=1), so the daily refresh
always has its partition.
"""

from __future__ import annotations

import warnings
from datetime import date, timedelta

import dagster as dg

# BackfillPolicy is marked beta in Dagster 1.13; lockstep depends on single_run() and its
# tests show what it does (tests/test_operations.py), so the warning adds nothing at load
warnings.filterwarnings("ignore", message="Parameter `backfill_policy`", category=dg.BetaWarning)

FIRST_YEAR = 1927  # the oldest history a source serves: ^GSPC from Yahoo starts 1927-12-30

HISTORY = dg.TimeWindowPartitionsDefinition(
    cron_schedule="0 0 1 1 *", start=str(FIRST_YEAR), fmt="%Y", end_offset=1,
    timezone="UTC",
)

# Dagster's tags on a run over a range of partitions, and lockstep's on a backfill
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"
BACKFILL_TAGS = ("dagster/backfill", "lockstep/backfill")


def newest_key() -> str:
    """The current year's partition: the one the daily refresh and the schedules load."""
    key = HISTORY.get_last_partition_key()
    assert key is not None  # end_offset=1: the current year always exists
    return key


def years(first: date | int, last: date | int | None = None) -> tuple[str, str]:
    """The partition keys (first, last) that cover two dates or years, clamped to the
    partitions that exist; last defaults to the current year."""
    newest = newest_key()
    a = first.year if isinstance(first, date) else int(first)
    b = int(newest) if last is None else (last.year if isinstance(last, date) else int(last))
    a, b = max(a, FIRST_YEAR), min(b, int(newest))
    if b < a:
        raise ValueError(f"no partition covers {first} to {last}: the years run from "
                         f"{FIRST_YEAR} to {newest}")
    return str(a), str(b)


def range_tags(first: str, last: str) -> dict[str, str]:
    return {RANGE_START: first, RANGE_END: last}


def requested_window(context: dg.AssetExecutionContext) -> tuple[date | None, date | None]:
    """The dates an ingestion step loads. The daily refresh (the newest partition alone, not
    part of a backfill) is incremental: (None, None), the source's own incremental read,
    which re-reads the last days for revisions even when they fall in the previous year.
    Anything else (a range, an older year, any backfill) is exactly its years."""
    keys = context.partition_key_range
    tags = context.run.tags
    daily = (keys.start == keys.end == newest_key()
             and not any(t in tags for t in BACKFILL_TAGS))
    if daily:
        return None, None
    window = context.partition_time_window
    return window.start.date(), window.end.date() - timedelta(days=1)

