"""The one Definitions object of the lockstep code location.

Each source folder under orchestration/sources brings its own assets and checks (found
there, not listed here); then dbt, the randomised test after it, the published copy, the
dashboard and the alerts; the daily refresh's job and schedules, and the sensor that fails
runs whose process died. `partitioned_keys` answers from it which assets hold the raw history
by year (orchestration/partitions.py defines the years and imports nothing from here).
"""

from __future__ import annotations

import dagster as dg

from orchestration.assets.alerts import alerts
from orchestration.assets.dbt import lockstep_dbt_assets
from orchestration.assets.publish import dashboard_spec, published_marts
from orchestration.assets.randomised import mart_outcome_randomised
from orchestration.partitions import HISTORY
from orchestration.resources import LockstepResource, dbt_resource
from orchestration.schedules import daily_refresh, weekday_schedule, weekend_schedule
from orchestration.sensors import dead_runs
from orchestration.sources import source_definitions

defs = dg.Definitions.merge(
    source_definitions(),
    dg.Definitions(
        assets=[lockstep_dbt_assets, mart_outcome_randomised, published_marts, alerts,
                dashboard_spec()],
        jobs=[daily_refresh],
        schedules=[weekday_schedule, weekend_schedule],
        sensors=[dead_runs],
        resources={"lockstep": LockstepResource(), "dbt": dbt_resource()},
    ),
)


def partitioned_keys() -> list[dg.AssetKey]:
    """The assets partitioned by HISTORY (every source's raw history)."""
    graph = defs.resolve_asset_graph()
    return sorted((k for k in graph.get_all_asset_keys()
                   if graph.get(k).partitions_def == HISTORY), key=str)
