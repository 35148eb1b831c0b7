"""The last asset: publish the marts for BI and SQL readers (see orchestration/lib/publish.py).

It runs after the dbt build; when dbt or one of its tests fails, it does not run and readers
keep the previous published version."""

from datetime import UTC, datetime

import dagster as dg

from orchestration.assets.dbt import lockstep_dbt_assets
from orchestration.lib.publish import current_path, publish_marts
from orchestration.lib.warehouse import writer_lock
from orchestration.resources import LockstepResource

PUBLISHED = dg.AssetKey(["published", "marts"])
MART_KEYS = sorted((k for k in lockstep_dbt_assets.keys if k.path[0] == "marts"),
                   key=lambda k: k.to_user_string())


@dg.asset(
    key=PUBLISHED,
    deps=MART_KEYS,
    group_name="published",
    kinds={"duckdb", "parquet"},
    description=(
        "The marts schema published for readers: a read-only DuckDB file (storage version "
        "v1.0.0), one Parquet file per mart and brief.md (the latest day's brief), written "
        "to a new version directory and swapped in atomically at "
        "<warehouse dir>/published/current."
    ),
)
def published_marts(context: dg.AssetExecutionContext, lockstep: LockstepResource):
    settings = lockstep.settings()
    tag = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + context.run.run_id[:8]
    with writer_lock(settings.warehouse, log=context.log.info):
        manifest = publish_marts(settings.warehouse, settings.publish_dir, tag,
                                 log=context.log.warning)
    tables = "\n".join(f"| {name} | {n:,} |" for name, n in manifest["tables"].items())
    return dg.MaterializeResult(metadata={
        "current": dg.MetadataValue.path(str(current_path(settings.publish_dir))),
        "version_dir": dg.MetadataValue.path(manifest["path"]),
        "storage_version": manifest["storage_version"],
        "synthetic": manifest["synthetic"],
        "tables": dg.MetadataValue.md("| mart | rows |\n|---|---:|\n" + tables),
        "brief_date": manifest["brief_date"] or "none",
        "dagster/row_count": sum(manifest["tables"].values()),
    })
