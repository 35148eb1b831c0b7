"""dbt models as Dagster assets (staging -> marts), built with `dbt build` so dbt's data
tests run with the models and show up as asset checks.

dbt's unit tests are not part of this build: their inputs are fixed in YAML, so they test
the SQL, not the day's data, and run in `make test` (tests/test_pipeline_demo.py), as dbt
recommends for unit tests. That keeps about 2 s off every materialization.
"""


import os
import shutil
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    dbt_assets,
)

from orchestration.lib.warehouse import memory_limit, wait_until_writable, writer_lock
from orchestration.project import dbt_manifest, lockstep_dbt_project
from orchestration.resources import LockstepResource
from orchestration.settings import environ

DEFAULT_PAIR = "^RUT/BTC-USD"  # the pair charted on fct_divergence_daily
# marts whose materialization carries a picture of the day (see lockstep_dbt_assets); no
# other dbt model depends on them, so holding their events back keeps Dagster's required
# topological order
FEATURED = {dg.AssetKey(["marts", name]) for name in
            ("mart_market_snapshot", "mart_daily_brief")}
# incremental from the first date whose inputs changed (CHANGED_FROM): these, and the daily
# brief's fact models (dbt_project/models/intermediate/brief), of which the brief is the union
FROM_CHANGED_INPUTS = ("fct_all_time_highs", "fct_divergence_daily", "fct_drawdown_episodes",
                       "mart_daily_brief",
                       *sorted(n["name"] for n in dbt_manifest()["nodes"].values()
                               if n["resource_type"] == "model"
                               and n["fqn"][1:3] == ["intermediate", "brief"]))


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
        return spec._replace(description=" ".join((test.get("description") or "").split())
                             or None)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn") or []
        kind = dbt_resource_props.get("resource_type")
        if kind == "model" and len(fqn) > 2:
            return fqn[1]
        if kind == "seed":  # reference data: the group is its schema ("reference")
            return (dbt_resource_props.get("config") or {}).get("schema") or "reference"
        return super().get_group_name(dbt_resource_props)


def _import_chart_libraries() -> None:
    """matplotlib takes 1-2 s to import; do it while the dbt subprocess works (this process
    only reads dbt's output meanwhile), so the chart after the build does not wait for it."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot  # noqa: F401
    except Exception:  # noqa: BLE001 - the chart step imports again and reports the error
        pass


def _keep_parse_state(run_target: os.PathLike) -> None:
    """dagster-dbt starts each run from the project's target/partial_parse.msgpack, which
    holds only for the warehouse path it was parsed with (dbt hashes the profile). Put this
    run's parse state back there, so a run after a hand-run dbt or a new LOCKSTEP_WAREHOUSE
    pays dbt's full parse (about 3 s) once, not every time. Atomic: a run starting now reads
    the old file or the new one."""
    produced = Path(run_target) / "partial_parse.msgpack"
    if not produced.exists():
        return
    kept = lockstep_dbt_project.project_dir / "target" / "partial_parse.msgpack"
    partial = kept.with_name(f".partial_parse.{os.getpid()}.msgpack")
    try:
        shutil.copyfile(produced, partial)
        os.replace(partial, kept)
    except OSError:
        partial.unlink(missing_ok=True)  # only a speed-up: never fail the build for it


def _stop_if_running(process, context) -> None:
    """When this step stops reading dbt's events before dbt ends (Dagster refused an event,
    the run was cancelled), dbt must not live on: it would block on its full output pipe and
    hold the DuckDB file, and every later run would wait for the lock."""
    import subprocess

    if process.poll() is not None:
        return
    context.log.warning(f"stopping dbt (pid {process.pid}): this step ended before dbt did")
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _prune_run_targets(current: os.PathLike, keep: int = 5,
                       keep_younger_than_s: float = 24 * 3600) -> None:
    """Each dbt invocation gets its own target directory (about 8 MB: compiled SQL, run
    results, logs), which nothing removed. Keep the newest few and those of the last day, for
    looking into a recent run; remove the rest."""
    import time

    target = lockstep_dbt_project.project_dir / "target"
    runs = sorted((p for p in target.glob("lockstep_dbt_assets-*") if p.is_dir()),
                  key=lambda p: p.stat().st_mtime, reverse=True)
    cutoff = time.time() - keep_younger_than_s
    for old in runs[keep:]:
        if old.resolve() != Path(current).resolve() and old.stat().st_mtime < cutoff:
            shutil.rmtree(old, ignore_errors=True)


@dbt_assets(
    manifest=dbt_manifest(),
    project=lockstep_dbt_project,
    dagster_dbt_translator=LockstepTranslator(
        settings=DagsterDbtTranslatorSettings(enable_asset_checks=True)
    ),
)
def lockstep_dbt_assets(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, lockstep: LockstepResource
):
    """dbt build, its events passed on to Dagster as dbt emits them (each model's
    materialization and each test's check result appear in the UI while dbt still runs).

    dbt holds the DuckDB file for the whole build, so what lockstep reads from the built
    marts waits until dbt has finished. For the two marts whose materialization carries a
    picture of the day (the snapshot table, the brief: FEATURED), their events are held back
    and follow enriched, so the asset page shows them as the latest materialization's
    metadata; for every other mart, its row count and date range (and on
    fct_divergence_daily the chart) follow as an observation of it."""
    from orchestration.lib.incremental import (
        CHANGED_FROM,
        INCREMENTALLY,
        build_mode,
        changed_from,
        incremental_models,
        logic_fingerprint,
        record_fingerprint,
        record_inputs,
    )
    from orchestration.lib.mart_metadata import enrich

    settings = lockstep.settings()
    fingerprint = logic_fingerprint(lockstep_dbt_project.project_dir,
                                    dbt_manifest()["metadata"]["dbt_version"])
    warm = threading.Thread(target=_import_chart_libraries, daemon=True)
    warm.start()
    built: list[dg.AssetKey] = []
    held: list = []
    # dbt reads the warehouse path and the memory limit from the environment
    # (dbt_project/profiles.yml)
    with environ(
        LOCKSTEP_WAREHOUSE=str(settings.warehouse), DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        LOCKSTEP_DUCKDB_MEMORY_LIMIT=memory_limit()
    ):
        with writer_lock(settings.warehouse, log=context.log.info):
            # dbt fails at once when another process (a SQL client) holds the file
            wait_until_writable(settings.warehouse, log=context.log.warning)
            build = ["build", "--exclude-resource-type", "unit_test", "exposure"]
            incremental = incremental_models(dbt_manifest())
            whole, mode = build_mode(settings.warehouse, fingerprint, settings.full_refresh,
                                     incremental)
            context.log.info(f"dbt: incremental models ({', '.join(sorted(incremental))}) "
                             f"{mode}")
            modes, start = dict.fromkeys(incremental, mode), None
            if whole:
                build.append("--full-refresh")
            elif mode == INCREMENTALLY:
                start, dates = changed_from(settings.warehouse)
                for name in FROM_CHANGED_INPUTS:
                    modes[name] = f"{mode}; inputs changed: {dates}"
                context.log.info(f"dbt: inputs changed: {dates}")
            with environ(**{CHANGED_FROM: f"{start:%Y-%m-%d}" if start else None}):
                invocation = dbt.cli(build, context=context, raise_on_error=False)
            try:
                for event in invocation.stream():
                    key = (context.asset_key_for_output(event.output_name)
                           if isinstance(event, dg.Output) else getattr(event, "asset_key", None))
                    if isinstance(event, dg.Output):
                        built.append(key)
                        if key.path[-1] in incremental:
                            event = event.with_metadata({**event.metadata,
                                                         "build": modes[key.path[-1]]})
                    if key in FEATURED:
                        held.append((key, event))
                    else:
                        yield event
            finally:
                _stop_if_running(invocation.process, context)
                _keep_parse_state(invocation.target_path)
                _prune_run_targets(invocation.target_path)
            if invocation.is_successful() and incremental <= {k.path[-1] for k in built}:
                record_fingerprint(settings.warehouse, fingerprint)
                record_inputs(settings.warehouse)
            warm.join()
            try:
                extra = enrich(settings.warehouse, built,
                               settings.warehouse_state_dir / "charts",
                               default_pair=DEFAULT_PAIR)
            except Exception as exc:  # noqa: BLE001 - metadata must never fail a build
                context.log.warning(f"could not collect mart metadata: {exc}")
                extra = {}
    for key, event in held:
        if isinstance(event, dg.Output) and key in extra:
            event = event.with_metadata({**event.metadata, **extra[key]})
        yield event
    for key in built:
        if key in extra and key not in FEATURED:
            yield dg.AssetObservation(asset_key=key, metadata=extra[key])
    if not invocation.is_successful():
        raise invocation.get_error() or dg.Failure("dbt build failed")
