"""dbt models as Dagster assets (staging -> marts), built with `dbt build` so dbt's data
tests run with the models and show up as asset checks.

The step plans the build (orchestration/lib/dbt_build.py: the arguments, whole or
incremental, from which date), streams `dbt.cli(...)`'s events to Dagster as dbt emits them,
and then adds what lockstep reads from the built marts (orchestration/lib/mart_metadata.py).
A full refresh is asked for per run in the launchpad (`full_refresh: true` in this step's
config) or with LOCKSTEP_FULL_REFRESH=1.
"""


import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    dbt_assets,
)
from pydantic import Field

from orchestration.lib.dbt_build import BuildState
from orchestration.lib.warehouse import wait_until_writable, writer_lock
from orchestration.project import dbt_manifest, lockstep_dbt_project
from orchestration.resources import LockstepResource
from orchestration.settings import Settings, environ

DEFAULT_PAIR = "^RUT/BTC-USD"  # the pair charted on fct_divergence_daily
# marts whose materialization carries a picture of the day (see lockstep_dbt_assets); no
# other dbt model depends on them, so holding their events back keeps Dagster's required
# topological order
FEATURED = {dg.AssetKey(["marts", name]) for name in
            ("mart_market_snapshot", "mart_daily_brief")}


def eager_after_raw() -> dg.AutomationCondition:
    """Dagster's eager condition, except that years missing from the raw history do not
    hold a rebuild back. Eager waits while any upstream asset is missing, and for a
    partitioned asset that means any partition: the years before a source's history begins
    (the demo's 1927-2017) are never loaded, so stock eager would never rebuild after a
    backfill. Missing dbt parents still hold it back."""
    condition = dg.AutomationCondition
    return condition.eager().replace(
        condition.any_deps_missing(),
        condition.any_deps_missing().ignore(dg.AssetSelection.groups("raw")))


class LockstepTranslator(DagsterDbtTranslator):
    """Groups follow the dbt folder (staging, intermediate, marts; seeds: reference); sources
    keep their default keys, which are the raw assets' keys (raw/market_prices, ...)."""

    def get_automation_condition(
        self, dbt_resource_props: Mapping[str, Any]
    ) -> dg.AutomationCondition | None:
        """Rebuild a model when anything upstream changes (a backfill of raw data, a manual
        re-materialization), not only in the daily job. Evaluated by the default automation
        sensor of `dagster dev` / the daemon. Seeds (reference data in the repository) have
        nothing upstream: the daily job's dbt build loads them."""
        if dbt_resource_props.get("resource_type") == "seed":
            return None
        return eager_after_raw()

    def get_asset_check_spec(self, asset_spec, manifest, unique_id, project):
        """dagster-dbt takes a check's description from the test's `meta`; lockstep writes
        it where dbt documents it, the test's `description` (each model's YAML)."""
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is None or spec.description:
            return spec
        test = manifest["nodes"].get(unique_id) or {}
        return dg.AssetCheckSpec(
            name=spec.name, asset=spec.asset_key, additional_deps=spec.additional_deps,
            blocking=spec.blocking, metadata=spec.metadata,
            automation_condition=spec.automation_condition, partitions_def=spec.partitions_def,
            description=" ".join((test.get("description") or "").split()) or None)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn") or []
        kind = dbt_resource_props.get("resource_type")
        if kind == "model" and len(fqn) > 2:
            return fqn[1]
        if kind == "seed":  # reference data: the group is its schema ("reference")
            return (dbt_resource_props.get("config") or {}).get("schema") or "reference"
        return super().get_group_name(dbt_resource_props)


def _import_chart_libraries() -> None:
    """matplotlib is slow to import; do it while the dbt subprocess works (this process only
    reads dbt's output meanwhile), so the chart after the build does not wait for it."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot  # noqa: F401
    except Exception:  # noqa: BLE001 - the chart step imports again and reports the error
        pass


class DbtBuildConfig(dg.Config):
    """The dbt step's run config (the launchpad shows it)."""

    full_refresh: bool = Field(
        default=False,
        description="Rebuild dbt's incremental models whole in this run (as "
                    "LOCKSTEP_FULL_REFRESH=1 does for every run).")


@dbt_assets(
    manifest=dbt_manifest(),
    project=lockstep_dbt_project,
    dagster_dbt_translator=LockstepTranslator(
        settings=DagsterDbtTranslatorSettings(enable_asset_checks=True)
    ),
)
def lockstep_dbt_assets(context: dg.AssetExecutionContext, dbt: DbtCliResource,
                        lockstep: LockstepResource, config: DbtBuildConfig):
    """dbt build, its events passed on to Dagster as dbt emits them (each model's
    materialization and each test's check result appear in the UI while dbt still runs);
    then each mart's row count and date range (`_after_build`)."""
    from orchestration.lib.dbt_build import plan_build

    settings = lockstep.settings()
    warm = threading.Thread(target=_import_chart_libraries, daemon=True)
    warm.start()
    with writer_lock(settings.warehouse, log=context.log.info):
        # dbt fails at once when another process (a SQL client) holds the file
        wait_until_writable(settings.warehouse, log=context.log.warning)
        if settings.engine == "spark":  # Spark's sources read raw's Parquet export
            from orchestration.lib.spark_raw import export_raw

            context.log.info(export_raw(settings.warehouse, settings.spark_dir / "raw").summary())
        state = _build_state(settings, config)
        plan = plan_build(state, settings.warehouse, settings.memory_limit, settings.engine,
                          settings.spark_dir)
        for line in plan.log:
            context.log.info(line)
        with environ(**plan.environment):  # dbt reads its settings from its environment
            invocation = dbt.cli(list(plan.args), context=context, raise_on_error=False)
        built, held = [], []
        try:
            for key, event in _events(invocation, context, plan.modes):
                if isinstance(event, dg.Output):
                    built.append(key)
                if key in FEATURED:
                    held.append((key, event))
                else:
                    yield event
        finally:
            _finish(invocation, context)
        if settings.engine == "spark":
            _mirror_spark_marts(settings, built, context)
        _record_build(invocation, settings, state, built)
        warm.join()
        extra = _mart_metadata(settings, built, context)
    yield from _after_build(held, built, extra)
    if not invocation.is_successful():
        raise invocation.get_error() or dg.Failure("dbt build failed")


def _build_state(settings: Settings, config: DbtBuildConfig) -> BuildState:
    """Whole, incremental or first build, and from which date (orchestration/lib/incremental)."""
    from orchestration.lib.dbt_build import full_refresh_request, read_build_state
    from orchestration.lib.incremental import incremental_models, logic_fingerprint

    fingerprint = logic_fingerprint(lockstep_dbt_project.project_dir,
                                    dbt_manifest()["metadata"]["dbt_version"], settings.engine)
    return read_build_state(settings.warehouse, fingerprint,
                            full_refresh_request(config.full_refresh, settings.full_refresh),
                            incremental_models(dbt_manifest()))


def _events(invocation, context: dg.AssetExecutionContext,
            modes: dict[str, str]) -> Iterator[tuple[dg.AssetKey | None, Any]]:
    """dbt's events as Dagster's, each with its asset key; an incremental model's
    materialization says how this build built it (metadata `build`)."""
    for event in invocation.stream():
        if isinstance(event, dg.Output):
            key = context.asset_key_for_output(event.output_name)
            if key.path[-1] in modes:
                event = event.with_metadata({**event.metadata, "build": modes[key.path[-1]]})
        else:
            key = getattr(event, "asset_key", None)
        yield key, event


def _finish(invocation, context: dg.AssetExecutionContext) -> None:
    """After dbt, whatever happened: dbt stopped if it outlived the step, its parse state
    kept for the next run, old target directories removed. Both where dagster-dbt made this
    invocation's folder and will look for the parse state next: the project's target/, or
    DBT_TARGET_PATH when that is set (the tests' session builds use one of their own)."""
    from orchestration.lib.dbt_build import keep_parse_state, prune_run_targets, stop_if_running

    target = Path(invocation.target_path).parent
    stop_if_running(invocation.process, context.log.warning)
    keep_parse_state(invocation.target_path, target)
    prune_run_targets(invocation.target_path, target, prefix=lockstep_dbt_assets.op.name)


def _mirror_spark_marts(settings: Settings, built: list[dg.AssetKey],
                        context: dg.AssetExecutionContext) -> None:
    """On Spark: the marts that built, copied from Spark's Parquet into the warehouse, where
    everything after dbt reads them (orchestration/lib/spark_marts.py)."""
    from orchestration.lib.spark_marts import mirror_marts

    marts = [k.path[-1] for k in built if k.path[0] == "marts"]
    copied = mirror_marts(settings.warehouse, settings.spark_dir, dbt_manifest(), marts,
                          context.run.run_id)
    context.log.info(f"{len(copied)} marts copied from Spark into {settings.warehouse}")


def _record_build(invocation, settings: Settings, state: BuildState,
                  built: list[dg.AssetKey]) -> None:
    """After a successful build of every incremental model: the logic and the inputs it
    read, which the next build compares with (orchestration/lib/incremental.py)."""
    from orchestration.lib.incremental import record_fingerprint, record_inputs

    if invocation.is_successful() and state.incremental <= {k.path[-1] for k in built}:
        record_fingerprint(settings.warehouse, state.fingerprint)
        record_inputs(settings.warehouse)


def _mart_metadata(settings: Settings, built: list[dg.AssetKey],
                   context: dg.AssetExecutionContext) -> dict[dg.AssetKey, dict]:
    """What lockstep reads from the built marts, by asset key; never fails the build."""
    from orchestration.lib.mart_metadata import enrich
    from orchestration.project import mart_date_columns

    try:
        return enrich(settings.warehouse, built, settings.warehouse_state_dir / "charts",
                      default_pair=DEFAULT_PAIR, date_columns=mart_date_columns())
    except Exception as exc:  # noqa: BLE001 - metadata must never fail a build
        context.log.warning(f"could not collect mart metadata: {exc}")
        return {}


def _after_build(held: list, built: list[dg.AssetKey], extra: dict[dg.AssetKey, dict]):
    """dbt holds the DuckDB file for the whole build, so what lockstep reads from the built
    marts waits until dbt has finished. The two marts whose materialization carries a picture
    of the day (the snapshot, the brief: FEATURED) had their events held back: they follow
    now, enriched, so the asset page shows them as the latest materialization's metadata.
    Every other mart's row count and date range (and fct_divergence_daily's chart) follow as
    an observation of it."""
    for key, event in held:
        if isinstance(event, dg.Output) and key in extra:
            event = event.with_metadata({**event.metadata, **extra[key]})
        yield event
    for key in built:
        if key in extra and key not in FEATURED:
            yield dg.AssetObservation(asset_key=key, metadata=extra[key])
