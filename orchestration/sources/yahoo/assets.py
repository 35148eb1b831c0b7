"""Market prices: the Dagster assets of raw.market_prices (partitioned by year) and of
raw.instruments (the catalog's `market` entries).

`LOCKSTEP_SOURCE` says who brings the prices (orchestration/sources/selection.py): `live` is
Yahoo through yfinance (client.py); `files` and `demo` stand in with CSV files
(orchestration/sources/files, .../demo). There is never a fallback from one to another.
"""

import dagster as dg

from orchestration.catalog import load_catalog
from orchestration.lib.ingest import ingest, loaded_check, quarantine_spec, write_reference
from orchestration.partitions import HISTORY, requested_window
from orchestration.resources import LockstepResource
from orchestration.sources.selection import market_source
from orchestration.sources.yahoo.tables import MARKET

MARKET_PRICES = dg.AssetKey(["raw", "market_prices"])
MARKET_QUARANTINE = dg.AssetKey(["raw", "market_prices_quarantined"])
INSTRUMENTS = dg.AssetKey(["raw", "instruments"])


@dg.asset(
    key=INSTRUMENTS, group_name="raw", kinds={"python", "duckdb"},
    description="The market instruments of orchestration/catalog.yaml (raw.instruments), "
                "rewritten whole from the catalog on every run.",
)
def instruments(context: dg.AssetExecutionContext, lockstep: LockstepResource):
    import pandas as pd

    frame = pd.DataFrame(
        [
            {"symbol": i.symbol, "name": i.name, "asset_class": i.asset_class,
             "calendar": i.calendar, "history_note": i.history_note, "display_order": n}
            for n, i in enumerate(load_catalog().market, start=1)
        ]
    )
    return write_reference(context, lockstep, "raw.instruments", frame)


@dg.multi_asset(
    specs=[dg.AssetSpec(
        MARKET_PRICES, group_name="raw", kinds={"python", "duckdb"}, partitions_def=HISTORY,
        description=(
            "Daily OHLCV per catalog symbol (key symbol+date) in raw.market_prices, from the "
            "source LOCKSTEP_SOURCE names; upserted idempotently in one transaction. One "
            "partition per year: the current year's run is the incremental daily refresh, any "
            "other selection loads exactly its years."
        ),
    ), quarantine_spec(MARKET_QUARANTINE, MARKET.name, "symbol")],
    check_specs=[dg.AssetCheckSpec(
        "market_prices_all_loaded", asset=MARKET_PRICES,
        description="Every catalog symbol the source had data for was stored (a symbol "
                    "whose file cannot be read at all, or that cannot be fetched, is held "
                    "back alone, named here; a single bad row is quarantined instead).")],
    partitions_def=HISTORY,
    backfill_policy=dg.BackfillPolicy.single_run(),
    name="raw_market",
)
def raw_market(context: dg.AssetExecutionContext, lockstep: LockstepResource):
    from orchestration.sources.yahoo.client import routing_session
    from orchestration.sources.yahoo.validation import market_rejects

    catalog = load_catalog()
    settings = lockstep.settings()
    start, end = requested_window(context)
    session = routing_session(lockstep.yahoo_endpoint) if lockstep.yahoo_endpoint else None
    source = market_source(settings, session=session, timeout=lockstep.request_timeout_s,
                           retry=lockstep.backoff(), log=context.log.warning)
    metadata, failures, quarantined = ingest(
        context, lockstep, MARKET, source,
        fetch=lambda last: source.fetch_market(catalog.market, last_dates=last, start=start,
                                               end=end),
        problems_of=market_rejects, label="symbol", window=(start, end),
    )
    yield dg.MaterializeResult(asset_key=MARKET_PRICES, metadata=metadata)
    yield dg.MaterializeResult(asset_key=MARKET_QUARANTINE, metadata=quarantined)
    yield loaded_check(MARKET_PRICES, "market_prices_all_loaded", "symbol", failures,
                       MARKET.name, len(metadata["date_ranges"].value))
