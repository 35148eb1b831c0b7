"""The last assets: publish the marts for BI and SQL readers (see orchestration/lib/publish.py),
and the dashboard that reads what was published.

Publishing runs after the dbt build, in the daily job and, through its eager automation
condition, after every other rebuild of the marts (a backfill, a re-materialization from the
UI): the copy BI reads never stays behind the marts. When dbt or one of its tests fails, it
does not run and readers keep the previous published version."""

from datetime import UTC, datetime

import dagster as dg

from orchestration.assets.dbt import lockstep_dbt_assets
from orchestration.assets.randomised import RANDOMISED
from orchestration.lib.publish import current_path, publish_marts
from orchestration.lib.randomisation import DATE_COLUMN as RANDOMISED_DATE_COLUMN
from orchestration.lib.warehouse import writer_lock
from orchestration.resources import LockstepResource

PUBLISHED = dg.AssetKey(["published", "marts"])
# every mart dbt builds, and the one a Python asset writes after it (the randomised test)
MART_KEYS = sorted([*(k for k in lockstep_dbt_assets.keys if k.path[0] == "marts"), RANDOMISED],
                   key=lambda k: k.to_user_string())


@dg.asset(
    key=PUBLISHED,
    deps=MART_KEYS,
    group_name="published",
    kinds={"duckdb", "parquet"},
    automation_condition=dg.AutomationCondition.eager(),
    description=(
        "The marts schema published for readers: a read-only DuckDB file (storage version "
        "v1.0.0), Parquet per mart and year (`parquet/<mart>/<year>.parquet`) and "
        "`brief.md` (the latest day's brief), written to a new version directory and "
        "swapped in atomically at `<warehouse dir>/published/current`."
    ),
)
def published_marts(context: dg.AssetExecutionContext, lockstep: LockstepResource):
    from orchestration.project import mart_date_columns

    settings = lockstep.settings()
    tag = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + context.run.run_id[:8]
    date_columns = {**mart_date_columns(), RANDOMISED.path[-1]: RANDOMISED_DATE_COLUMN}
    with writer_lock(settings.warehouse, log=context.log.info):
        manifest = publish_marts(settings.warehouse, settings.publish_dir, tag,
                                 date_columns=date_columns, log=context.log.warning)
    tables = "\n".join(f"| {name} | {n:,} | {manifest['changes'][name]} |"
                       for name, n in manifest["tables"].items())
    start = manifest["started_from"]
    context.log.info(f"published {manifest['path']}, "
                     + (f"starting from {start}: " if start else "written whole: ")
                     + ", ".join(f"{name} {how}" for name, how in manifest["changes"].items()
                                 if how != "unchanged")
                     + f" ({sum(h == 'unchanged' for h in manifest['changes'].values())} "
                       f"marts unchanged)")
    return dg.MaterializeResult(metadata={
        "current": dg.MetadataValue.path(str(current_path(settings.publish_dir))),
        "version_dir": dg.MetadataValue.path(manifest["path"]),
        "storage_version": manifest["storage_version"],
        "synthetic": manifest["synthetic"],
        "tables": dg.MetadataValue.md("| mart | rows | what changed |\n|---|---:|---|\n"
                                      + tables),
        "started_from": start or "nothing (written whole)",
        "brief_date": manifest["brief_date"] or "none",
        "dagster/row_count": sum(manifest["tables"].values()),
    })


DASHBOARD = dg.AssetKey(["published", "dashboard"])


def dashboard_spec() -> dg.AssetSpec:
    """The dashboard, as dbt's exposure `lockstep_dashboard` declares it (description, URL,
    owner, the marts it reads), drawn downstream of the published copy it actually reads.
    It is not materialized: Streamlit renders it from the published copy on each visit."""
    from orchestration.project import dbt_manifest

    exposure = dbt_manifest()["exposures"]["exposure.lockstep.lockstep_dashboard"]
    reads = sorted(n.split(".")[-1] for n in exposure["depends_on"]["nodes"])
    return dg.AssetSpec(
        key=DASHBOARD,
        deps=[PUBLISHED],
        group_name="published",
        kinds={"streamlit"},
        owners=[],
        description=" ".join(exposure["description"].split()),
        metadata={
            "url": dg.MetadataValue.url(exposure["url"]),
            "dbt_exposure": exposure["unique_id"],
            "reads": dg.MetadataValue.md("\n".join(f"- marts.{name}" for name in reads)),
            "run_it": "make dashboard",
        },
    )
