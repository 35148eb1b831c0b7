"""Exchange calendars: the Dagster asset of raw.trading_sessions (exchange_calendars)."""

import dagster as dg

from orchestration.catalog import load_catalog
from orchestration.lib.ingest import replace_raw_table
from orchestration.resources import LockstepResource

TRADING_SESSIONS = dg.AssetKey(["raw", "trading_sessions"])


@dg.asset(
    key=TRADING_SESSIONS,
    group_name="raw",
    kinds={"python", "duckdb"},
    description=(
        "Trading sessions of every exchange calendar in the catalog (XNYS: NYSE), from the "
        "exchange_calendars library, 1885 to the end of next year (raw.trading_sessions). "
        "'24/7' instruments trade every calendar day and need no table."
    ),
)
def trading_sessions(context: dg.AssetExecutionContext, lockstep: LockstepResource):
    from orchestration.sources.calendars.client import exchange_sessions

    catalog = load_catalog()
    sessions = exchange_sessions([i.calendar for i in catalog.market],
                                 cache_dir=lockstep.settings().state_dir / "calendars")
    replace_raw_table(context, lockstep, "raw.trading_sessions", sessions)
    per_calendar = sessions.groupby("calendar")["session_date"].agg(["min", "max", "count"])
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(sessions),
            "calendars": dg.MetadataValue.md(
                "| calendar | first session | last session | sessions |\n|---|---|---|---:|\n"
                + "\n".join(f"| {c} | {r['min']} | {r['max']} | {r['count']} |"
                             for c, r in per_calendar.iterrows())
            ),
        }
    )
