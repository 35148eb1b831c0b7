"""The dbt step's plan: its arguments, how each incremental model is built and from which
date, what dbt's environment says (pure, without dbt); and a full refresh asked for in the
run's config (the launchpad) or by LOCKSTEP_FULL_REFRESH=1 reaching dbt."""

import json
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.lib.dbt_build import (
    BuildState,
    full_refresh_request,
    plan_build,
    read_build_state,
)
from orchestration.lib.incremental import CHANGED_FROM, INCREMENTALLY, record_fingerprint
from tests.conftest import PROJECT_ROOT

BUILD = ["build", "--exclude-resource-type", "unit_test", "exposure"]
MODELS = frozenset({"int_running_peaks", "fct_all_time_highs", "fct_divergence_daily",
                    "fct_drawdown_episodes", "mart_daily_brief", "int_brief_standing",
                    "int_brief_events"})
# the models that recompute from the first date whose inputs changed: the brief's fact
# models (models/intermediate/brief) as well as their union
FROM_A_DATE = {"fct_all_time_highs", "fct_divergence_daily", "fct_drawdown_episodes",
               "mart_daily_brief", "int_brief_standing", "int_brief_events"}
WAREHOUSE = Path("/data/w.duckdb")


def _state(whole: bool, mode: str, start: date | None = None, changed: str | None = None):
    return BuildState(MODELS, "fp", whole, mode, start, changed)


def test_a_first_build_builds_everything_without_being_told_a_date():
    plan = plan_build(_state(False, "built whole (the first build of this warehouse)"),
                      WAREHOUSE, "60%")
    assert list(plan.args) == BUILD
    assert plan.environment == {"LOCKSTEP_ENGINE": "duckdb", "LOCKSTEP_SPARK_DIR": None,
                                "LOCKSTEP_WAREHOUSE": "/data/w.duckdb",
                                "LOCKSTEP_DUCKDB_MEMORY_LIMIT": "60%",
                                "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", CHANGED_FROM: None}
    assert plan.modes == dict.fromkeys(MODELS, "built whole (the first build of this warehouse)")


def test_the_spark_engine_tells_dbt_its_target_and_directory():
    """profiles.yml picks the target from LOCKSTEP_ENGINE and puts Spark's tables and
    metastore under LOCKSTEP_SPARK_DIR."""
    plan = plan_build(_state(False, INCREMENTALLY), WAREHOUSE, "60%", engine="spark",
                      spark_dir=Path("/s/warehouses/w-0123456789/spark"))
    assert plan.environment["LOCKSTEP_ENGINE"] == "spark"
    assert plan.environment["LOCKSTEP_SPARK_DIR"] == "/s/warehouses/w-0123456789/spark"
    # the models that diff their stored rows are tables rebuilt whole on Spark
    assert plan.modes["int_running_peaks"].startswith("built whole")
    assert plan.modes["fct_all_time_highs"] == INCREMENTALLY
    told = plan_build(_state(False, INCREMENTALLY, date(2021, 3, 3), "from 2021-03-03 on"),
                      WAREHOUSE, "60%", engine="spark", spark_dir=Path("/s"))
    assert told.environment[CHANGED_FROM] == "2021-03-03"
    assert "the years from 2021 on are overwritten" in " ".join(told.log)
    # inputs changed without a first date (a series new since the last build): every row is
    # computed, and on Spark every year overwritten
    untold = plan_build(_state(False, INCREMENTALLY, None, "a new series: every date"),
                        WAREHOUSE, "60%", engine="spark", spark_dir=Path("/s"))
    assert untold.environment[CHANGED_FROM] is None
    assert "on Spark, every year is overwritten" in " ".join(untold.log)


def test_a_full_refresh_passes_the_flag_and_no_date():
    why = "rebuilt whole (full_refresh: true in the run's config)"
    plan = plan_build(_state(True, why, date(2025, 12, 1), "ignored"), WAREHOUSE, "2GB")
    assert list(plan.args) == [*BUILD, "--full-refresh"]
    assert plan.environment[CHANGED_FROM] is None
    assert plan.environment["LOCKSTEP_DUCKDB_MEMORY_LIMIT"] == "2GB"
    assert set(plan.modes.values()) == {why}


def test_an_incremental_build_starts_the_dated_models_where_the_inputs_changed():
    changed = "from 2025-12-09 on (2 symbols or series with new or revised rows)"
    plan = plan_build(_state(False, INCREMENTALLY, date(2025, 12, 9), changed), WAREHOUSE, "60%")
    assert list(plan.args) == BUILD
    assert plan.environment[CHANGED_FROM] == "2025-12-09"
    assert {m for m, how in plan.modes.items() if how.endswith(f"inputs changed: {changed}")} \
        == FROM_A_DATE
    assert plan.modes["int_running_peaks"] == INCREMENTALLY
    assert plan.log[-1] == f"dbt: inputs changed: {changed}"


def test_an_incremental_build_without_a_usable_date_computes_every_date():
    changed = "every date (no record of the inputs the last build read)"
    plan = plan_build(_state(False, INCREMENTALLY, None, changed), WAREHOUSE, "60%")
    assert plan.environment[CHANGED_FROM] is None
    assert plan.modes["mart_daily_brief"] == f"{INCREMENTALLY}; inputs changed: {changed}"


def test_a_full_refresh_is_asked_for_by_the_run_config_or_the_setting():
    assert full_refresh_request(False, False) is None
    assert full_refresh_request(True, False) == "full_refresh: true in the run's config"
    assert full_refresh_request(False, True) == "LOCKSTEP_FULL_REFRESH=1"
    assert full_refresh_request(True, True) == "full_refresh: true in the run's config"


def test_the_build_state_of_a_warehouse(tmp_path):
    """Read from the warehouse: a request rebuilds whole and says why; an unchanged logic
    fingerprint builds incrementally from where the inputs changed."""
    warehouse = tmp_path / "w.duckdb"
    assert read_build_state(warehouse, "fp", None, set(MODELS)).mode == \
        "built whole (the first build of this warehouse)"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("CREATE SCHEMA intermediate")
        con.execute("CREATE TABLE intermediate.int_running_peaks (x INTEGER)")
    record_fingerprint(warehouse, "fp")
    asked = read_build_state(warehouse, "fp", "full_refresh: true in the run's config",
                             set(MODELS))
    assert (asked.whole, asked.mode, asked.changed_from) == \
        (True, "rebuilt whole (full_refresh: true in the run's config)", None)
    changed = read_build_state(warehouse, "other", None, set(MODELS))
    assert changed.whole and "changed since the last build" in changed.mode
    same = read_build_state(warehouse, "fp", None, set(MODELS))
    assert (same.whole, same.mode, same.fingerprint) == (False, INCREMENTALLY, "fp")
    assert same.changed.startswith("every date")  # no record of the inputs read yet


def test_the_launchpad_can_set_full_refresh():
    from orchestration.definitions import defs

    job = defs.resolve_job_def("daily_refresh")
    config = {"ops": {"lockstep_dbt_assets": {"config": {"full_refresh": True}}}}
    assert dg.validate_run_config(job, config)["ops"]["lockstep_dbt_assets"]["config"] == \
        {"full_refresh": True}
    with pytest.raises(dg.DagsterInvalidConfigError):
        dg.validate_run_config(job, {"ops": {"lockstep_dbt_assets": {"config": {
            "full_refresh": "please"}}}})


@pytest.mark.parametrize("in_config, setting, full", [
    (True, None, True), (False, "1", True), (False, None, False)],
    ids=["run config", "LOCKSTEP_FULL_REFRESH=1", "neither"])
def test_a_full_refresh_reaches_dbt(dbt_manifest, monkeypatch, in_config, setting, full):
    """What dbt was started with (its run_results.json records the command), for a build of
    one seed through the dbt step."""
    from orchestration.assets.dbt import lockstep_dbt_assets
    from orchestration.resources import LockstepResource, dbt_resource

    if setting:
        monkeypatch.setenv("LOCKSTEP_FULL_REFRESH", setting)
    seed = dg.AssetKey(["reference", "dated_events"])
    result = dg.materialize(
        [lockstep_dbt_assets], selection=dg.AssetSelection.assets(seed),
        instance=dg.DagsterInstance.ephemeral(),
        resources={"dbt": dbt_resource(), "lockstep": LockstepResource()},
        run_config={"ops": {"lockstep_dbt_assets": {"config": {"full_refresh": in_config}}}})
    assert result.success
    [target] = (PROJECT_ROOT / "dbt_project" / "target").glob(
        f"lockstep_dbt_assets-{result.run_id[:7]}-*")
    command = json.loads((target / "run_results.json").read_text())["args"][
        "invocation_command"]
    assert command.startswith("dbt build --exclude-resource-type unit_test exposure")
    assert ("--full-refresh" in command.split()) is full
