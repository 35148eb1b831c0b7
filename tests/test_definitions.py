"""The asset graph, job and schedules: a refactor cannot silently change them."""

import subprocess
import sys
import warnings
from datetime import UTC, datetime

import dagster as dg

from tests.conftest import PROJECT_ROOT

MARTS = {"marts/mart_market_snapshot", "marts/fct_all_time_highs", "marts/fct_drawdowns_daily",
         "marts/fct_drawdown_episodes", "marts/fct_divergence_daily",
         "marts/fct_divergence_episodes", "marts/fct_peak_coincidence",
         "marts/fct_fed_balance_sheet_weekly", "marts/fct_policy_rate_changes",
         "marts/mart_crypto_macro_daily", "marts/mart_daily_brief",
         "marts/mart_divergence_outcomes", "marts/mart_divergence_outcome_summary",
         "marts/fct_dated_events", "marts/fct_events", "marts/fct_pair_forward_outcomes",
         "marts/mart_outcome_base_rates", "marts/mart_outcome_significance",
         "marts/mart_outcome_significance_daily", "marts/mart_outcome_randomised",
         "marts/mart_lead_lag", "marts/mart_lead_lag_rolling", "marts/mart_lead_lag_summary",
         "marts/mart_lead_lag_summary_daily"}

EXPECTED_LINEAGE = {
    "published/marts": MARTS,
    "ops/alerts": {"published/marts", "marts/fct_events"},
    "published/dashboard": {"published/marts"},
    "marts/fct_events": {"marts/fct_all_time_highs", "marts/fct_divergence_daily",
                         "marts/fct_divergence_episodes", "marts/fct_policy_rate_changes",
                         "intermediate/int_record_clusters", "intermediate/int_joint_bottoms",
                         "staging/stg_instruments", "staging/stg_market_prices"},
    "raw/market_prices": set(),
    "raw/instruments": set(),
    "raw/fred_observations": set(),
    # the rows each raw step quarantined (raw.quarantined_rows), written by the same step
    "raw/market_prices_quarantined": set(),
    "raw/fred_observations_quarantined": set(),
    # the quarantined rows with the stored row they leave in place, if any
    "staging/stg_market_prices_quarantined": {"raw/market_prices_quarantined",
                                              "raw/market_prices"},
    "staging/stg_fred_observations_quarantined": {"raw/fred_observations_quarantined",
                                                  "raw/fred_observations"},
    "raw/fred_series": set(),
    "raw/trading_sessions": set(),
    "staging/stg_trading_sessions": {"raw/trading_sessions"},
    "intermediate/int_calendar_days": {"staging/stg_instruments", "staging/stg_market_prices",
                                       "staging/stg_trading_sessions"},
    "intermediate/int_market_daily": {"staging/stg_market_prices", "staging/stg_instruments",
                                      "intermediate/int_calendar_days"},
    # stg_instruments: an incremental build deletes the symbols taken out of the catalog
    "intermediate/int_running_peaks": {"intermediate/int_market_daily", "staging/stg_instruments"},
    "marts/fct_drawdowns_daily": {"intermediate/int_running_peaks"},
    # the post-hook that deletes symbols taken out of the catalog reads stg_instruments
    "marts/fct_drawdown_episodes": {"intermediate/int_running_peaks", "staging/stg_instruments"},
    "marts/fct_divergence_daily": {"intermediate/int_running_peaks"},
    "marts/fct_divergence_episodes": {"marts/fct_divergence_daily"},
    "intermediate/int_record_clusters": {"marts/fct_all_time_highs",
                                         "intermediate/int_running_peaks"},
    "intermediate/int_joint_bottoms": {"intermediate/int_running_peaks"},
    "marts/fct_peak_coincidence": {"intermediate/int_record_clusters",
                                   "intermediate/int_joint_bottoms",
                                   "marts/fct_drawdown_episodes"},
    "reference/dated_events": set(),
    "reference/fed_board_special_closures": set(),
    "intermediate/int_fed_board_closures": {"staging/stg_fred_observations",
                                            "reference/fed_board_special_closures"},
    "marts/fct_dated_events": {"reference/dated_events"},
    "marts/mart_divergence_outcomes": {"marts/fct_divergence_episodes",
                                       "intermediate/int_running_peaks"},
    "marts/mart_divergence_outcome_summary": {"marts/mart_divergence_outcomes"},
    "intermediate/int_pair_closes_daily": {"intermediate/int_running_peaks",
                                           "intermediate/int_calendar_days"},
    "marts/fct_pair_forward_outcomes": {"marts/fct_divergence_daily",
                                        "marts/fct_divergence_episodes",
                                        "intermediate/int_running_peaks",
                                        "intermediate/int_pair_closes_daily"},
    "marts/mart_outcome_base_rates": {"marts/fct_pair_forward_outcomes"},
    "marts/mart_outcome_significance": {"marts/mart_divergence_outcome_summary",
                                        "marts/mart_outcome_base_rates"},
    "marts/mart_outcome_significance_daily": {
        "marts/fct_divergence_daily", "marts/fct_divergence_episodes",
        "marts/fct_pair_forward_outcomes", "marts/mart_divergence_outcomes",
        "intermediate/int_running_peaks", "intermediate/int_calendar_days"},
    # the randomised test: a Python asset after dbt, before the publish step
    "marts/mart_outcome_randomised": {"marts/fct_pair_forward_outcomes",
                                      "marts/mart_divergence_outcomes",
                                      "marts/mart_divergence_outcome_summary"},
    "intermediate/int_pair_weekly_returns": {"intermediate/int_pair_closes_daily"},
    "intermediate/int_pair_weekly_lagged": {"intermediate/int_pair_weekly_returns"},
    "marts/mart_lead_lag": {"intermediate/int_pair_weekly_lagged"},
    "marts/mart_lead_lag_rolling": {"intermediate/int_pair_weekly_lagged"},
    "marts/mart_lead_lag_summary": {"marts/mart_lead_lag", "marts/fct_divergence_daily"},
    # the same as known on each day: the expanding correlations, for the brief
    "marts/mart_lead_lag_summary_daily": {"intermediate/int_pair_weekly_lagged",
                                          "marts/fct_divergence_daily"},
    # the brief: one model per kind of fact, each reading int_running_peaks at least for its
    # days (the day spine, or the post-hook that deletes days outside the history)
    "intermediate/int_brief_standing": {"intermediate/int_running_peaks",
                                        "intermediate/int_calendar_days",
                                        "staging/stg_instruments"},
    "intermediate/int_brief_records": {"marts/fct_all_time_highs",
                                       "intermediate/int_running_peaks",
                                       "staging/stg_instruments"},
    "intermediate/int_brief_no_data": {"intermediate/int_running_peaks",
                                       "marts/fct_divergence_daily", "staging/stg_instruments"},
    "intermediate/int_brief_divergence": {"marts/fct_divergence_daily",
                                          "marts/fct_divergence_episodes",
                                          "intermediate/int_running_peaks",
                                          "staging/stg_instruments"},
    "intermediate/int_brief_coinciding_records": {"intermediate/int_record_clusters",
                                                  "marts/fct_all_time_highs",
                                                  "marts/fct_divergence_daily",
                                                  "intermediate/int_running_peaks",
                                                  "staging/stg_instruments"},
    "intermediate/int_brief_coincidence_tally": {"intermediate/int_record_clusters",
                                                 "intermediate/int_brief_divergence",
                                                 "marts/fct_divergence_daily",
                                                 "intermediate/int_running_peaks",
                                                 "staging/stg_instruments"},
    "intermediate/int_brief_joint_bottoms": {"intermediate/int_joint_bottoms",
                                             "marts/fct_divergence_daily",
                                             "intermediate/int_running_peaks",
                                             "staging/stg_instruments"},
    "intermediate/int_brief_divergence_history": {"intermediate/int_brief_divergence",
                                                  "marts/mart_divergence_outcomes",
                                                  "intermediate/int_running_peaks"},
    "intermediate/int_brief_outcome_comparison": {"intermediate/int_brief_divergence",
                                                  "marts/mart_outcome_significance_daily",
                                                  "intermediate/int_running_peaks"},
    "intermediate/int_brief_lead_lag": {"intermediate/int_brief_divergence",
                                        "marts/mart_lead_lag_summary_daily",
                                        "marts/fct_divergence_daily",
                                        "intermediate/int_running_peaks"},
    "intermediate/int_brief_policy_rate": {"marts/fct_policy_rate_changes",
                                           "intermediate/int_rates_daily",
                                           "staging/stg_fred_observations",
                                           "intermediate/int_running_peaks"},
    "intermediate/int_brief_net_liquidity": {"intermediate/int_net_liquidity_daily",
                                             "staging/stg_fred_observations",
                                             "intermediate/int_running_peaks"},
    "intermediate/int_brief_rates": {"intermediate/int_rates_daily",
                                     "staging/stg_fred_observations",
                                     "intermediate/int_running_peaks"},
    "intermediate/int_brief_events": {"marts/fct_dated_events",
                                      "intermediate/int_running_peaks"},
    "intermediate/int_brief_quarantined_rows": {"staging/stg_market_prices_quarantined",
                                                "staging/stg_fred_observations_quarantined",
                                                "staging/stg_instruments",
                                                "staging/stg_fred_series",
                                                "intermediate/int_running_peaks"},
    # their union
    "marts/mart_daily_brief": {
        "intermediate/int_brief_standing", "intermediate/int_brief_records",
        "intermediate/int_brief_no_data", "intermediate/int_brief_divergence",
        "intermediate/int_brief_coinciding_records", "intermediate/int_brief_coincidence_tally",
        "intermediate/int_brief_joint_bottoms", "intermediate/int_brief_divergence_history",
        "intermediate/int_brief_outcome_comparison", "intermediate/int_brief_lead_lag",
        "intermediate/int_brief_policy_rate", "intermediate/int_brief_net_liquidity",
        "intermediate/int_brief_rates", "intermediate/int_brief_events",
        "intermediate/int_brief_quarantined_rows", "intermediate/int_running_peaks"},
    "staging/stg_market_prices": {"raw/market_prices"},
    "staging/stg_instruments": {"raw/instruments"},
    "staging/stg_fred_series": {"raw/fred_series"},
    "staging/stg_fred_observations": {"raw/fred_observations", "staging/stg_fred_series"},
    "marts/mart_market_snapshot": {"intermediate/int_running_peaks", "staging/stg_instruments",
                                   "intermediate/int_calendar_days",
                                   "staging/stg_market_prices_quarantined"},
    "marts/fct_all_time_highs": {"intermediate/int_running_peaks", "staging/stg_instruments"},
    "marts/fct_fed_balance_sheet_weekly": {"staging/stg_fred_observations",
                                           "intermediate/int_fed_board_closures"},
    "marts/fct_policy_rate_changes": {"staging/stg_fred_observations", "reference/dated_events"},
    # FRED series used from their publication day, counted in the Board's business days
    "intermediate/int_rates_daily": {"staging/stg_fred_observations", "staging/stg_market_prices",
                                     "intermediate/int_fed_board_closures"},
    "intermediate/int_net_liquidity_daily": {"marts/fct_fed_balance_sheet_weekly",
                                             "staging/stg_fred_observations",
                                             "staging/stg_market_prices"},
    "marts/mart_crypto_macro_daily": {"intermediate/int_running_peaks",
                                      "marts/fct_divergence_daily",
                                      "marts/fct_divergence_episodes",
                                      "intermediate/int_net_liquidity_daily",
                                      "intermediate/int_rates_daily"},
}


def _defs():
    with warnings.catch_warnings():
        # our own code must not use deprecated Dagster APIs (third-party imports may warn)
        warnings.filterwarnings("error", category=DeprecationWarning, module=r"orchestration")
        from orchestration.definitions import defs
    return defs


def test_asset_keys_and_lineage(dbt_manifest):
    graph = _defs().resolve_asset_graph()
    lineage = {
        key.to_user_string(): {p.to_user_string() for p in graph.get(key).parent_keys}
        for key in graph.get_all_asset_keys()
    }
    assert lineage == EXPECTED_LINEAGE


def test_groups_kinds_and_descriptions(dbt_manifest):
    defs = _defs()
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.group_name == key.path[0], key
        assert node.description, key
        assert ("duckdb" in node.kinds) or key.path == ["published", "dashboard"], key


def test_marts_rebuild_when_upstream_changes(dbt_manifest):
    """dbt models, the published copy and the alerts follow every upstream change (a
    backfill, a re-materialization from the UI), not only the daily job."""
    graph = _defs().resolve_asset_graph()
    followers = {"published/marts", "ops/alerts"}
    for key in graph.get_all_asset_keys():
        condition = graph.get(key).automation_condition
        name = key.to_user_string()
        if key.path[0] in ("raw", "reference") or name == "published/dashboard":
            assert condition is None, key
        else:
            assert condition is not None and "eager" in condition.get_label().lower(), key
            assert key.path[0] not in ("published", "ops") or name in followers


def test_a_backfilled_year_rebuilds_the_models_downstream(dbt_manifest):
    """Evaluate the automation as the sensor would: the raw history is loaded from 2018 only
    (as the demo's; 1927-2017 stay missing), the models are built; then one year is
    backfilled, and staging is requested, though most years of its parent are missing."""
    from orchestration.partitions import newest_key

    defs = _defs()
    raw = dg.AssetKey(["raw", "market_prices"])
    staging = dg.AssetSelection.assets(dg.AssetKey(["staging", "stg_market_prices"]))
    instance = dg.DagsterInstance.ephemeral()
    for year in range(2018, int(newest_key()) + 1):
        instance.report_runless_asset_event(dg.AssetMaterialization(raw, partition=str(year)))
    instance.report_runless_asset_event(
        dg.AssetMaterialization(dg.AssetKey(["staging", "stg_market_prices"])))
    first = dg.evaluate_automation_conditions(defs=defs, instance=instance,
                                              asset_selection=staging)
    assert first.total_requested == 0  # built after the last load: nothing to do
    instance.report_runless_asset_event(dg.AssetMaterialization(raw, partition="2020"))
    second = dg.evaluate_automation_conditions(defs=defs, instance=instance,
                                               asset_selection=staging, cursor=first.cursor)
    assert second.total_requested == 1


def test_published_copy_follows_an_automated_rebuild(dbt_manifest):
    """Evaluate the automation as the daemon's sensor would: after the marts are rebuilt
    outside the daily job, the publish step (then the alerts) is requested."""
    graph = _defs().resolve_asset_graph()
    published = dg.AssetKey(["published", "marts"])
    marts = sorted(graph.get(published).parent_keys, key=lambda k: k.to_user_string())
    instance = dg.DagsterInstance.ephemeral()
    for key in [*marts, published, dg.AssetKey(["ops", "alerts"])]:
        instance.report_runless_asset_event(dg.AssetMaterialization(key))
    first = dg.evaluate_automation_conditions(defs=_defs(), instance=instance,
                                              asset_selection=dg.AssetSelection.assets(published))
    assert first.total_requested == 0  # nothing changed upstream since it was published
    instance.report_runless_asset_event(dg.AssetMaterialization(marts[0]))  # a rebuild
    second = dg.evaluate_automation_conditions(defs=_defs(), instance=instance,
                                               asset_selection=dg.AssetSelection.assets(published),
                                               cursor=first.cursor)
    assert second.total_requested == 1
    assert second.get_requested_partitions(published) == {None}


def test_dashboard_is_the_dbt_exposure_downstream_of_the_published_copy(dbt_manifest):
    import json

    from orchestration.project import lockstep_dbt_project

    graph = _defs().resolve_asset_graph()
    node = graph.get(dg.AssetKey(["published", "dashboard"]))
    assert not node.is_materializable and node.kinds == {"streamlit"}
    manifest = json.loads(lockstep_dbt_project.manifest_path.read_text())
    exposure = manifest["exposures"]["exposure.lockstep.lockstep_dashboard"]
    assert exposure["type"] == "dashboard"
    assert node.metadata["url"].value == exposure["url"] == "http://127.0.0.1:8501"
    # the exposure lists what dashboard/app.py reads, no more, no less
    import re

    app = (PROJECT_ROOT / "dashboard" / "app.py").read_text()
    read = set(re.findall(r"\b((?:mart|fct)_[a-z_]+)\b", app))
    assert {n.split(".")[-1] for n in exposure["depends_on"]["nodes"]} == read


def test_marts_show_column_types_descriptions_and_named_checks(dbt_manifest):
    """The Dagster UI's column list of every dbt model has a type and a description for each
    column (from the contract's YAML), and its checks carry the tests' readable names and
    descriptions."""
    import json

    from orchestration.project import lockstep_dbt_project

    manifest = json.loads(lockstep_dbt_project.manifest_path.read_text())
    graph = _defs().resolve_asset_graph()
    models = [n for n in manifest["nodes"].values() if n["resource_type"] == "model"]
    for model in models:
        node = graph.get(dg.AssetKey([model["schema"], model["name"]]))
        columns = node.metadata["dagster/column_schema"].columns
        assert [c.name for c in columns] == list(model["columns"]), model["name"]
        for column in columns:
            assert column.type and column.type != "?", (model["name"], column.name)
            assert column.description, (model["name"], column.name)
        for check in node.check_keys:
            assert check.name.startswith(model["name"] + "__"), check.name
            assert graph.get_check_spec(check).description, check.name


def test_job_and_schedules(dbt_manifest):
    defs = _defs()
    job = defs.resolve_job_def("daily_refresh")
    assert job.executor_def.name == "in_process"
    schedules = {s.name: s for s in defs.schedules}
    assert schedules["daily_refresh_weekdays"].cron_schedule == "30 18 * * 1-5"
    assert schedules["daily_refresh_weekends"].cron_schedule == "30 18 * * 0,6"
    for s in schedules.values():
        assert s.execution_timezone == "America/New_York"
        assert s.job_name == "daily_refresh"
    assert isinstance(defs.resources["lockstep"], dg.ConfigurableResource)
    # each schedule asks for the year its tick falls in (New Year's Eve 2026 at 18:30 New
    # York is 2026-12-31T23:30Z, still 2026; the weekend schedule on 2027-01-02 asks 2027)
    from zoneinfo import ZoneInfo

    ny = ZoneInfo("America/New_York")
    for name, tick, year, trigger in (
            ("daily_refresh_weekdays", datetime(2026, 12, 31, 18, 30), "2026", "weekday_schedule"),
            ("daily_refresh_weekends", datetime(2027, 1, 2, 18, 30), "2027", "weekend_schedule")):
        context = dg.build_schedule_context(scheduled_execution_time=tick.replace(tzinfo=ny),
                                             repository_def=defs.get_repository_def())
        [request] = schedules[name].evaluate_tick(context).run_requests
        assert request.partition_key == year
        assert request.tags["lockstep/trigger"] == trigger


def test_raw_history_is_partitioned_by_year_with_single_run_backfills(dbt_manifest):
    from orchestration.partitions import FIRST_YEAR

    graph = _defs().resolve_asset_graph()
    # with the rows their steps quarantined (written by the same step, so partitioned the
    # same way)
    partitioned = ("market_prices", "fred_observations", "market_prices_quarantined",
                   "fred_observations_quarantined")
    for name in partitioned:
        node = graph.get(dg.AssetKey(["raw", name]))
        keys = node.partitions_def.get_partition_keys()
        # one partition per year, from the oldest history (^GSPC, 1927) to this year
        assert keys[0] == str(FIRST_YEAR) == "1927"
        assert keys[-1] == str(datetime.now(UTC).year)
        assert keys == [str(y) for y in range(1927, int(keys[-1]) + 1)]
        assert node.backfill_policy == dg.BackfillPolicy.single_run()
    # the catalog's reference tables, the calendars and the dbt models are not partitioned
    for key in graph.get_all_asset_keys():
        if key.path[-1] not in partitioned:
            assert graph.get(key).partitions_def is None, key


def test_code_location_loads_from_workspace(dbt_manifest):
    """What `dagster dev -w workspace.yaml` loads: the module imports and lists the job."""
    out = subprocess.run(
        [sys.executable, "-m", "dagster", "job", "list", "-w", "workspace.yaml"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "daily_refresh" in out.stdout


def test_dbt_resource_builds_with_the_installed_version_and_no_probe(
        dbt_manifest, tmp_path, monkeypatch):
    """lockstep's dbt resource overrides two dagster-dbt hooks (`_cli_version`,
    `_initialize_dbt_core_adapter`; benchmarks/README.md says what they save). Checked by
    what they do, not by their names: a real `dbt build` through the resource, with
    dagster-dbt's `dbt --version` probe made to fail, parses dbt's events into Dagster's,
    with the version that .venv-dbt's dbt prints, and logs no adapter error."""
    import re

    import dagster_dbt.core.dbt_cli_invocation as invocation_module
    import dagster_dbt.core.resource as resource_module

    from orchestration.assets.dbt import lockstep_dbt_assets
    from orchestration.resources import LockstepResource, dbt_resource
    from orchestration.settings import dbt_executable

    def no_probe(*args, **kwargs):
        raise AssertionError(f"dbt was probed: {args}")

    monkeypatch.setattr(resource_module, "check_output", no_probe)
    used = []
    original = invocation_module.DbtCliInvocation.run.__func__

    def recording_run(cls, *args, **kwargs):
        used.append(kwargs["cli_version"])
        return original(cls, *args, **kwargs)

    monkeypatch.setattr(invocation_module.DbtCliInvocation, "run",
                        classmethod(recording_run))
    seed = dg.AssetKey(["reference", "dated_events"])
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(
        [lockstep_dbt_assets], selection=dg.AssetSelection.assets(seed), instance=instance,
        resources={"dbt": dbt_resource(), "lockstep": LockstepResource()})
    assert result.success
    assert [m.asset_key for m in result.get_asset_materialization_events()] == [seed]
    checks = result.get_asset_check_evaluations()
    assert checks and all(c.passed and c.asset_key == seed for c in checks)
    printed = subprocess.run([str(dbt_executable()), "--version"], capture_output=True,
                             text=True, check=True).stdout
    installed = re.search(r"installed: (\d+\.\d+\.\d+)", printed).group(1)
    assert [str(v) for v in used] == [installed]
    logs = " ".join(e.message for e in instance.all_logs(result.run_id))
    assert "creating a handle to the dbt adapter" not in logs


def test_code_location_imports_stay_light(dbt_manifest):
    """The code location loads in a fresh interpreter without dbt-core (it lives in
    .venv-dbt) and without the libraries only a run needs; each of them would add seconds
    to every load of `dagster dev` and of every run worker."""
    code = ("import sys, orchestration.definitions as d\n"
            "assert len(d.defs.resolve_asset_graph().get_all_asset_keys()) > 20\n"
            "heavy = ('dbt', 'pandas', 'duckdb', 'numpy', 'exchange_calendars', 'matplotlib',"
            " 'yfinance', 'fredapi')\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & set(heavy)))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_dbt_is_not_importable_in_the_dagster_environment():
    """If dbt-core came back into .venv (a dependency pulling it in), dagster-dbt would
    import it at load again; this names the cause instead of a slow load."""
    import importlib.util

    assert importlib.util.find_spec("dbt") is None, (
        "dbt-core is installed in the Dagster environment; it belongs in .venv-dbt only "
        "(pyproject's `dbt` dependency group)")


def test_dbt_executable_is_the_dbt_environment_or_a_clear_error(tmp_path):
    import pytest

    from orchestration.settings import PROJECT_ROOT, SettingsError, dbt_executable

    assert dbt_executable({}) == PROJECT_ROOT / ".venv-dbt" / "bin" / "dbt"
    fake = tmp_path / "dbt"
    fake.touch()
    assert dbt_executable({"LOCKSTEP_DBT": str(fake)}) == fake
    with pytest.raises(SettingsError, match="LOCKSTEP_DBT"):
        dbt_executable({"LOCKSTEP_DBT": str(tmp_path / "missing")})


def test_dbt_is_stopped_when_the_step_stops_reading_its_events(
        dbt_manifest, tmp_path, monkeypatch):
    """If the step ends while dbt still runs (Dagster refuses an event, a cancel), dbt is
    stopped: left alone it blocks on its full output pipe, holding the DuckDB file, and
    every later run waits for the lock."""
    import dagster_dbt.core.dbt_cli_invocation as invocation_module
    import duckdb

    from orchestration.assets.dbt import lockstep_dbt_assets
    from orchestration.resources import LockstepResource, dbt_resource

    started = []
    original_stream = invocation_module.DbtCliInvocation.stream

    def refusing_stream(self, *args, **kwargs):
        started.append(self.process)
        for _ in original_stream(self, *args, **kwargs):
            raise RuntimeError("refused by the test, while dbt still runs")
        yield  # pragma: no cover

    monkeypatch.setattr(invocation_module.DbtCliInvocation, "stream", refusing_stream)
    warehouse = tmp_path / "w.duckdb"
    monkeypatch.setenv("LOCKSTEP_WAREHOUSE", str(warehouse))
    result = dg.materialize(
        [lockstep_dbt_assets], instance=dg.DagsterInstance.ephemeral(), raise_on_error=False,
        resources={"dbt": dbt_resource(), "lockstep": LockstepResource()})
    assert not result.success
    [process] = started
    assert process.poll() is not None  # dbt is gone ...
    duckdb.connect(str(warehouse)).close()  # ... and the file is free for the next writer


def test_marts_whose_events_wait_for_the_build_have_no_dbt_children(dbt_manifest):
    """The dbt step holds back the events of FEATURED marts until dbt has finished, to
    attach what it reads from them; Dagster wants a multi-asset's outputs in topological
    order, which holds only while no other dbt model depends on them."""
    from orchestration.assets.dbt import FEATURED, lockstep_dbt_assets

    graph = _defs().resolve_asset_graph()
    for key in FEATURED:
        assert key in lockstep_dbt_assets.keys
        assert not graph.get(key).child_keys & set(lockstep_dbt_assets.keys), key


def test_a_source_is_found_by_its_folder(tmp_path, monkeypatch):
    """definitions.py lists no source: each folder under orchestration/sources brings its
    assets, checks, raw tables and resources, and a new folder is picked up as it is."""
    import sys

    from orchestration import sources

    defs = sources.source_definitions()
    by_folder = {key.to_user_string(): a.op.compute_fn.decorated_fn.__module__
                 for a in defs.assets for key in a.keys}
    assert by_folder == {
        "raw/market_prices": "orchestration.sources.yahoo.assets",
        "raw/market_prices_quarantined": "orchestration.sources.yahoo.assets",
        "raw/instruments": "orchestration.sources.yahoo.assets",
        "raw/fred_observations": "orchestration.sources.fred.assets",
        "raw/fred_observations_quarantined": "orchestration.sources.fred.assets",
        "raw/fred_series": "orchestration.sources.fred.assets",
        "raw/trading_sessions": "orchestration.sources.calendars.assets"}
    assert {c.node_def.name for c in defs.asset_checks} == {"market_prices_checks",
                                                             "fred_observations_checks"}
    # a new source: a folder with tables.py and assets.py (and a resource of its own)
    folder = tmp_path / "ecb"
    folder.mkdir()
    (folder / "__init__.py").write_text('"""ECB exchange rates."""\n')
    (folder / "tables.py").write_text(
        'DDL = ["CREATE TABLE IF NOT EXISTS raw.ecb_rates (series_id VARCHAR, date DATE, '
        'value DOUBLE, PRIMARY KEY (series_id, date))"]\n')
    (folder / "assets.py").write_text(
        "import dagster as dg\n\n"
        "class EcbResource(dg.ConfigurableResource):\n    endpoint: str = 'x'\n\n"
        "resources = {'ecb': EcbResource()}\n\n"
        "@dg.asset(key=['raw', 'ecb_rates'], group_name='raw')\n"
        "def ecb_rates(ecb: EcbResource) -> None:\n    return None\n")
    monkeypatch.setattr(sources, "__path__", [*sources.__path__, str(tmp_path)])
    try:
        found = sources.source_definitions()
        assert "ecb" in sources.source_names()
        assert dg.AssetKey(["raw", "ecb_rates"]) in {k for a in found.assets for k in a.keys}
        assert "ecb" in found.resources
        assert any("raw.ecb_rates" in ddl for ddl in sources.raw_ddl())
    finally:
        for name in [m for m in sys.modules if m.startswith("orchestration.sources.ecb")]:
            del sys.modules[name]


def test_staging_lives_beside_its_source(dbt_manifest):
    """dbt mirrors the layout: each dbt source and its staging models sit in
    models/staging/<source folder>/."""
    import json

    from orchestration.sources import source_names

    manifest = json.loads(dbt_manifest.read_text())
    staging = [n for n in manifest["nodes"].values()
               if n["resource_type"] == "model" and n["fqn"][1] == "staging"]
    assert len(staging) == 7
    for node in staging:
        assert node["original_file_path"].split("/")[2] in source_names(), node["name"]
    for source in manifest["sources"].values():
        assert source["source_name"] in source_names()
        assert source["original_file_path"].startswith(
            f"models/staging/{source['source_name']}/_{source['source_name']}__sources.yml")
