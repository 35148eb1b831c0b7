"""How the dbt asset runs `dbt build`: the plan (pure: the arguments, how each incremental
model is built and from which date, the environment dbt reads), and what follows a build
(dbt stopped if it outlived the step, its parse state kept, old target directories pruned).

The plan's inputs are read from the warehouse first (`read_build_state`); `plan_build` then
decides without touching anything, so it is tested without dbt (tests/test_dbt_build.py).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

# dbt's unit tests have fixed inputs: they test the SQL, not the day's data, and run in
# `make test` (tests/test_pipeline_demo.py), as dbt recommends; exposures have nothing to build
BUILD = ("build", "--exclude-resource-type", "unit_test", "exposure")
# the incremental models that recompute from the first date whose inputs changed
# (CHANGED_FROM; the others diff their input against what they stored): these, and the daily
# brief's fact models (dbt_project/models/intermediate/brief, named int_brief_*), of which
# mart_daily_brief is the union
FROM_CHANGED_INPUTS = ("fct_all_time_highs", "fct_divergence_daily", "fct_drawdown_episodes",
                       "mart_daily_brief")
BRIEF_FACT_MODELS = "int_brief_"
# incremental on DuckDB, tables built whole on every Spark build (their changed rows do not
# fill whole year partitions; dbt_project/macros/incremental_from_changed_inputs.sql)
WHOLE_ON_SPARK = ("int_running_peaks", "fct_drawdown_episodes")


def recomputes_from_changed_inputs(name: str) -> bool:
    """Whether the incremental model `name` recomputes from the first date whose inputs
    changed (CHANGED_FROM), rather than diffing its input against what it stored."""
    return name in FROM_CHANGED_INPUTS or name.startswith(BRIEF_FACT_MODELS)


# how a run asks for a full refresh, in the words the step's log and metadata use
REQUESTED_IN_CONFIG = "full_refresh: true in the run's config"
REQUESTED_BY_SETTING = "LOCKSTEP_FULL_REFRESH=1"


@dataclass(frozen=True)
class BuildState:
    """What the plan needs to know about the warehouse before the build."""

    incremental: frozenset[str]  # the incremental models, by name
    fingerprint: str  # of the logic this build runs (recorded after it succeeds)
    whole: bool  # pass --full-refresh
    mode: str  # how the incremental models are built, in words (lib/incremental.build_mode)
    changed_from: date | None = None  # the first date whose inputs changed (incremental only)
    changed: str | None = None  # ... in words


@dataclass(frozen=True)
class BuildPlan:
    args: tuple[str, ...]
    environment: dict[str, str | None]  # for dbt's process (None: unset)
    modes: dict[str, str] = field(default_factory=dict)  # per incremental model, in words
    log: tuple[str, ...] = ()


def full_refresh_request(in_config: bool, by_setting: bool) -> str | None:
    """Why this run asked for a full refresh (the run's config first), or None."""
    if in_config:
        return REQUESTED_IN_CONFIG
    return REQUESTED_BY_SETTING if by_setting else None


def read_build_state(warehouse: Path, fingerprint: str, requested: str | None,
                     incremental: set[str]) -> BuildState:
    """Whether the build is whole, incremental or a first build (the recorded fingerprint of
    the logic), and for an incremental one the first date whose inputs changed."""
    from orchestration.lib.incremental import INCREMENTALLY, build_mode, changed_from

    whole, mode = build_mode(warehouse, fingerprint, requested, incremental)
    start, changed = changed_from(warehouse) if not whole and mode == INCREMENTALLY \
        else (None, None)
    return BuildState(frozenset(incremental), fingerprint, whole, mode, start, changed)


def plan_build(state: BuildState, warehouse: Path, memory_limit: str, engine: str = "duckdb",
               spark_dir: Path | None = None) -> BuildPlan:
    """The dbt build of `warehouse`: its arguments, what dbt's environment says
    (dbt_project/profiles.yml reads the engine, which picks the target, the warehouse and
    the memory limit, and on Spark the engine's directory; the models that recompute from a
    date read CHANGED_FROM), and each incremental model's build in words (its
    materialization's `build` metadata)."""
    from orchestration.lib.incremental import CHANGED_FROM

    modes = dict.fromkeys(sorted(state.incremental), state.mode)
    log = [f"dbt: incremental models ({', '.join(sorted(state.incremental))}) {state.mode}"]
    incremental_from_a_date = not state.whole and state.changed is not None
    if incremental_from_a_date:
        for name in modes:
            if recomputes_from_changed_inputs(name):
                modes[name] = f"{state.mode}; inputs changed: {state.changed}"
        log.append(f"dbt: inputs changed: {state.changed}")
    if engine == "spark":
        for name in WHOLE_ON_SPARK:
            if name in modes:
                modes[name] = "built whole (a table rebuilt on every Spark build)"
        if incremental_from_a_date:
            log.append(f"dbt: on Spark, the years from {state.changed_from:%Y} on are "
                       f"overwritten" if state.changed_from is not None
                       else "dbt: on Spark, every year is overwritten")
    start = state.changed_from if incremental_from_a_date else None
    return BuildPlan(
        args=(*BUILD, *(["--full-refresh"] if state.whole else [])),
        environment={"LOCKSTEP_ENGINE": engine,
                     "LOCKSTEP_SPARK_DIR": str(spark_dir) if engine == "spark" else None,
                     "LOCKSTEP_WAREHOUSE": str(warehouse),
                     "LOCKSTEP_DUCKDB_MEMORY_LIMIT": memory_limit,
                     "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
                     CHANGED_FROM: f"{start:%Y-%m-%d}" if start else None},
        modes=modes, log=tuple(log))


# ------------------------------------------------------------------------- after the build
def stop_if_running(process, log) -> None:
    """When the step stops reading dbt's events before dbt ends (Dagster refused an event,
    the run was cancelled), dbt must not live on: it would block on its full output pipe and
    hold the DuckDB file, and every later run would wait for the lock."""
    import subprocess

    if process.poll() is not None:
        return
    log(f"stopping dbt (pid {process.pid}): this step ended before dbt did")
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def keep_parse_state(run_target: os.PathLike, project_target: Path) -> None:
    """dagster-dbt starts each run from the project's target/partial_parse.msgpack, which
    holds only for the warehouse path it was parsed with (dbt hashes the profile). Put this
    run's parse state back there, so a run after a hand-run dbt or a new LOCKSTEP_WAREHOUSE
    pays dbt's full parse once, not every time. Atomic: a run starting now reads the old
    file or the new one."""
    produced = Path(run_target) / "partial_parse.msgpack"
    if not produced.exists():
        return
    kept = project_target / "partial_parse.msgpack"
    partial = kept.with_name(f".partial_parse.{os.getpid()}.msgpack")
    try:
        shutil.copyfile(produced, partial)
        os.replace(partial, kept)
    except OSError:
        partial.unlink(missing_ok=True)  # only a speed-up: never fail the build for it


def prune_run_targets(current: os.PathLike, project_target: Path, prefix: str, keep: int = 5,
                      keep_younger_than_s: float = 24 * 3600) -> None:
    """Each dbt invocation gets its own target directory (compiled SQL, run results, logs:
    megabytes), which nothing else removes. Keep the newest few and those of the last day,
    for looking into a recent run; remove the rest."""
    import time

    runs = sorted((p for p in project_target.glob(f"{prefix}-*") if p.is_dir()),
                  key=lambda p: p.stat().st_mtime, reverse=True)
    cutoff = time.time() - keep_younger_than_s
    for old in runs[keep:]:
        if old.resolve() != Path(current).resolve() and old.stat().st_mtime < cutoff:
            shutil.rmtree(old, ignore_errors=True)
