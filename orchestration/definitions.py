"""The one Definitions object of the lockstep code location."""

from __future__ import annotations

import dagster as dg

from orchestration.assets.alerts import alerts
from orchestration.assets.dbt import lockstep_dbt_assets
from orchestration.assets.ingestion import (
    fred_series,
    instruments,
    raw_fred,
    raw_market,
    trading_sessions,
)
from orchestration.assets.publish import dashboard_spec, published_marts
from orchestration.checks import raw_checks
from orchestration.resources import LockstepResource, dbt_resource
from orchestration.schedules import daily_refresh, weekday_schedule, weekend_schedule

defs = dg.Definitions(
    assets=[raw_market, raw_fred, instruments, fred_series, trading_sessions,
            lockstep_dbt_assets, published_marts, alerts, dashboard_spec()],
    asset_checks=raw_checks,
    jobs=[daily_refresh],
    schedules=[weekday_schedule, weekend_schedule],
    resources={"lockstep": LockstepResource(), "dbt": dbt_resource()},
)
