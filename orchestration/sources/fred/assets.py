"""FRED: the Dagster assets of raw.fred_observations (partitioned by year) and of
raw.fred_series (the catalog's `fred` entries).

`LOCKSTEP_SOURCE` says who brings the observations (orchestration/sources/selection.py): `live`
is FRED through fredapi (client.py, paced, honouring Retry-After); `files` and `demo` stand
in with CSV files. There is never a fallback from one to another.
"""

import dagster as dg

from orchestration.catalog import load_catalog
from orchestration.lib.ingest import ingest, loaded_check, quarantine_spec, write_reference
from orchestration.partitions import HISTORY, requested_window
from orchestration.resources import LockstepResource
from orchestration.settings import SettingsError
from orchestration.sources.fred.tables import FRED
from orchestration.sources.selection import fred_source

FRED_OBSERVATIONS = dg.AssetKey(["raw", "fred_observations"])
FRED_QUARANTINE = dg.AssetKey(["raw", "fred_observations_quarantined"])
FRED_SERIES = dg.AssetKey(["raw", "fred_series"])


@dg.asset(
    key=FRED_SERIES, group_name="raw", kinds={"python", "duckdb"},
    description="The FRED series of orchestration/catalog.yaml (raw.fred_series), rewritten "
                "whole from the catalog on every run.",
)
def fred_series(context: dg.AssetExecutionContext, lockstep: LockstepResource):
    import pandas as pd

    frame = pd.DataFrame(
        [
            {"series_id": s.id, "name": s.name, "units": s.units, "frequency": s.frequency}
            for s in load_catalog().fred
        ]
    )
    return write_reference(context, lockstep, "raw.fred_series", frame)


@dg.multi_asset(
    specs=[dg.AssetSpec(
        FRED_OBSERVATIONS, group_name="raw", kinds={"python", "duckdb"}, partitions_def=HISTORY,
        description=(
            "FRED observations per catalog series (key series_id+date) in "
            "raw.fred_observations, in the units FRED publishes; upserted idempotently. One "
            "partition per year, as raw/market_prices."
        ),
    ), quarantine_spec(FRED_QUARANTINE, FRED.name, "series")],
    check_specs=[dg.AssetCheckSpec(
        "fred_observations_all_loaded", asset=FRED_OBSERVATIONS,
        description="Every catalog series the source had data for was stored (a series "
                    "whose file cannot be read at all, or that cannot be fetched, is held "
                    "back alone, named here; a single bad row is quarantined instead).")],
    partitions_def=HISTORY,
    backfill_policy=dg.BackfillPolicy.single_run(),
    name="raw_fred",
)
def raw_fred(context: dg.AssetExecutionContext, lockstep: LockstepResource):
    from orchestration.sources.fred.validation import fred_rejects

    catalog = load_catalog()
    settings = lockstep.settings()
    start, end = requested_window(context)
    try:
        source = fred_source(settings, root_url=lockstep.fred_endpoint,
                             timeout=lockstep.request_timeout_s, retry=lockstep.backoff(),
                             log=context.log.warning,
                             requests_per_s=lockstep.fred_requests_per_s)
    except SettingsError as exc:  # live FRED without FRED_API_KEY: say so, at once
        raise dg.Failure(description=f"raw.fred_observations: {exc}") from None
    metadata, failures, quarantined = ingest(
        context, lockstep, FRED, source,
        fetch=lambda last: source.fetch_fred(catalog.fred, last_dates=last, start=start,
                                             end=end),
        problems_of=fred_rejects, label="series", window=(start, end),
    )
    yield dg.MaterializeResult(asset_key=FRED_OBSERVATIONS, metadata=metadata)
    yield dg.MaterializeResult(asset_key=FRED_QUARANTINE, metadata=quarantined)
    yield loaded_check(FRED_OBSERVATIONS, "fred_observations_all_loaded", "series", failures,
                       FRED.name, len(metadata["date_ranges"].value))
