"""The whole pipeline on demo data: dagster.materialize of every asset into a temporary
warehouse, then the stored rows and the snapshot against the generated files."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from orchestration.checks import CHECKS
from orchestration.settings import dbt_executable
from tests.conftest import PROJECT_ROOT, materialize_all

DBT_DIR = PROJECT_ROOT / "dbt_project"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory, dbt_manifest):
    tmp = tmp_path_factory.mktemp("pipeline")
    first, warehouse = materialize_all(tmp, source="demo")
    second, _ = materialize_all(tmp, source="demo")
    return first, second, warehouse, tmp / "state" / "demo_data"


def _manifest() -> dict:
    return json.loads((DBT_DIR / "target" / "manifest.json").read_text())


def _run_target(result) -> Path:
    """The target folder dagster-dbt gave the dbt build of that Dagster run."""
    [target] = (DBT_DIR / "target").glob(f"lockstep_dbt_assets-{result.run_id[:7]}-*")
    return target


def _dbt_test(select: str, warehouse: Path, target: Path, *extra: str) -> tuple[int, list]:
    """`dbt test --select ...` on `warehouse`; its exit code and run_results."""
    out = subprocess.run(
        [str(dbt_executable()), "test", "--select", select, *extra, "--profiles-dir", ".",
         "--target-path", str(target)],
        cwd=DBT_DIR, capture_output=True, text=True, timeout=300,
        env={**os.environ, "LOCKSTEP_WAREHOUSE": str(warehouse)})
    results = json.loads((target / "run_results.json").read_text())["results"]
    return out.returncode, results


def _metadata(result, key):
    [mat] = [m for m in result.asset_materializations_for_node("raw_market" if key ==
             "market_prices" else "raw_fred") if m.asset_key.path[-1] == key]
    return {k: v.value for k, v in mat.metadata.items()}


def test_run_succeeds_with_every_dbt_check_passing(demo_run):
    first, second, _, _ = demo_run
    assert first.success and second.success
    evaluations = first.get_asset_check_evaluations()
    # every raw check and every dbt data test on a model, each evaluated once
    model_tests = [n for n in _manifest()["nodes"].values() if n["resource_type"] == "test"
                   and (n.get("attached_node") or "").startswith(("model.", "seed."))]
    assert len(model_tests) > 50
    all_loaded = 2  # the ingestion steps' own checks (market_prices_all_loaded, fred_...)
    assert len(evaluations) == len(CHECKS) + all_loaded + len(model_tests)
    errors = [e.check_name for e in evaluations
              if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR]
    assert errors == []
    # the demo data ends on a fixed date: the freshness warnings say why
    fresh = [e for e in evaluations if e.check_name == "market_prices_fresh"]
    assert fresh and "synthetic" in fresh[0].metadata["note"].value


def test_raw_rows_equal_the_generated_files(demo_run, catalog):
    _, _, warehouse, demo_dir = demo_run
    with duckdb.connect(str(warehouse), read_only=True) as con:
        market = dict(con.execute("SELECT symbol, count(*) FROM raw.market_prices GROUP BY 1")
                      .fetchall())
        fred = dict(con.execute("SELECT series_id, count(*) FROM raw.fred_observations "
                                "GROUP BY 1").fetchall())
        sources = con.execute("SELECT DISTINCT source FROM raw.market_prices UNION "
                              "SELECT DISTINCT source FROM raw.fred_observations").fetchall()
    for inst in catalog.market:
        assert market[inst.symbol] == len(pd.read_csv(demo_dir / "market" /
                                                      f"{inst.file_stem}.csv"))
    for s in catalog.fred:
        assert fred[s.id] == len(pd.read_csv(demo_dir / "fred" / f"{s.id}.csv"))
    assert sources == [("demo",)]


def test_metadata_counts_and_synthetic_label(demo_run):
    first, second, _, _ = demo_run
    meta1, meta2 = _metadata(first, "market_prices"), _metadata(second, "market_prices")
    assert meta1["synthetic"] is True and "SYNTHETIC" in meta1["source"]
    assert meta1["rows_inserted"] == meta1["rows_received"] > 15000
    # the second identical run inserts and updates nothing
    assert (meta2["rows_inserted"], meta2["rows_updated"]) == (0, 0)
    assert meta2["rows_unchanged"] == meta1["rows_received"]
    assert meta1["date_ranges"]["BTC-USD"] == {"first": "2018-01-02", "last": "2025-12-31",
                                               "inserted": 2921, "updated": 0}
    fred = _metadata(first, "fred_observations")
    assert fred["rows_inserted"] > 10000 and "WALCL" in fred["per_series"]


def test_snapshot_matches_an_independent_computation(demo_run, catalog):
    _, _, warehouse, demo_dir = demo_run
    with duckdb.connect(str(warehouse), read_only=True) as con:
        snap = con.execute("SELECT * FROM marts.mart_market_snapshot").df().set_index("symbol")
    assert set(snap.index) == set(catalog.symbols)
    assert snap.is_synthetic.all() and (snap.source == "demo").all()
    for inst in catalog.market:
        bars = pd.read_csv(demo_dir / "market" / f"{inst.file_stem}.csv")
        row = snap.loc[inst.symbol]
        record = bars.close.max()
        assert row.latest_close == bars.close.iloc[-1]
        assert str(row.latest_date)[:10] == bars.date.iloc[-1]
        assert row.record_close == record
        # the record date is the most recent day at the record
        assert str(row.record_close_date)[:10] == bars.date[bars.close == record].iloc[-1]
        assert row.fraction_below_record_close == pytest.approx(
            bars.close.iloc[-1] / record - 1, abs=1e-12)
    # the story's end: BTC well below its record while ^RUT is near its own
    assert snap.loc["BTC-USD", "fraction_below_record_close"] < -0.2
    assert snap.loc["^RUT", "fraction_below_record_close"] > -0.05


def test_staging_converts_units_once(demo_run):
    _, _, warehouse, demo_dir = demo_run
    walcl = pd.read_csv(demo_dir / "fred" / "WALCL.csv")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        got = con.execute("SELECT value, units FROM staging.stg_fred_observations "
                          "WHERE series_id = 'WALCL' ORDER BY date").fetchall()
        effr = con.execute("SELECT max(value), any_value(units) FROM "
                           "staging.stg_fred_observations WHERE series_id = 'EFFR'").fetchone()
    assert [v for v, _ in got] == pytest.approx((walcl.value / 1000).tolist())
    assert {u for _, u in got} == {"billions_usd"}
    assert effr[1] == "percent" and 0 < effr[0] < 10


def test_ui_metadata_on_the_marts(demo_run):
    """What lockstep reads from the built marts follows dbt's streamed events as one
    observation per mart, after every materialization of the build."""
    first = demo_run[0]
    events = [e for e in first.events_for_node("lockstep_dbt_assets")
              if e.event_type_value in ("ASSET_MATERIALIZATION", "ASSET_OBSERVATION")]
    kinds = [e.event_type_value for e in events]
    last_materialization = max(i for i, k in enumerate(kinds) if k == "ASSET_MATERIALIZATION")
    assert "ASSET_OBSERVATION" not in kinds[:last_materialization]
    marts = {o.asset_key.path[-1]: o.metadata
             for o in first.asset_observations_for_node("lockstep_dbt_assets")}
    snapshot = marts["mart_market_snapshot"]
    assert snapshot["dagster/row_count"].value == 9
    assert "SYNTHETIC" in snapshot["snapshot"].value and "| BTC-USD |" in snapshot["snapshot"].value
    divergence = marts["fct_divergence_daily"]
    assert divergence["chart"].value.startswith("![^RUT/BTC-USD](data:image/png;base64,")
    png = divergence["chart_file"].value
    with open(png, "rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"
    assert divergence["date_range"].value == "2018-01-02 to 2025-12-31"
    brief = marts["mart_daily_brief"]
    assert brief["brief_date"].value == "2025-12-31"
    assert brief["brief"].value.startswith("# lockstep brief: 2025-12-31")
    assert "SYNTHETIC" in brief["brief"].value


def test_dbt_unit_tests_pass(demo_run, tmp_path):
    """The dbt unit tests (fixed inputs in YAML: ties at the peak, recovery to exactly the
    old peak, a single row, calendar gaps, ...) run here, not in the daily build; they need
    the upstream relations, which the demo run built."""
    _, _, warehouse, _ = demo_run
    declared = set(_manifest()["unit_tests"])
    assert len(declared) >= 10
    code, results = _dbt_test("test_type:unit", warehouse, tmp_path / "target")
    assert code == 0, results
    assert {r["unique_id"] for r in results} == declared
    assert {r["status"] for r in results} == {"pass"}


def test_daily_build_leaves_unit_tests_out(demo_run):
    """The materialization's dbt build runs the seeds, models and data tests, no unit
    tests."""
    first, _, _, _ = demo_run
    kinds = {r["unique_id"].split(".")[0] for r in
             json.loads((_run_target(first) / "run_results.json").read_text())["results"]}
    assert kinds == {"seed", "model", "test"}


def test_not_null_columns_names_the_null_column(demo_run, tmp_path):
    """The generic test that checks a model's not-null columns in one query fails on a null
    in any one of them and reports which (tests/generic/not_null_columns.sql)."""
    _, _, warehouse, _ = demo_run
    copy = tmp_path / "w" / "lockstep.duckdb"  # same file name: same dbt database name
    copy.parent.mkdir()
    shutil.copy(warehouse, copy)
    with duckdb.connect(str(copy)) as con:
        con.execute("UPDATE marts.mart_market_snapshot SET record_close_date = NULL "
                    "WHERE symbol IN ('BTC-USD', '^RUT')")

    code, results = _dbt_test("mart_market_snapshot,test_name:not_null_columns", copy,
                              tmp_path / "target", "--store-failures")
    assert code != 0
    [result] = results
    assert result["status"] == "fail" and result["failures"] == 1
    with duckdb.connect(str(copy), read_only=True) as con:
        [audit] = [r[0] for r in con.execute(
            "SELECT table_schema || '.' || table_name FROM information_schema.tables "
            "WHERE table_name LIKE 'not_null_columns_mart_market%'").fetchall()]
        assert con.execute(f"SELECT column_name, null_rows FROM {audit}").fetchall() == [
            ("record_close_date", 2)]


def test_a_second_run_reuses_dbts_parse(demo_run):
    """The first run into a new warehouse parses the dbt project in full (the profile's path
    changed); it leaves its parse state behind, so the second run parses partially."""
    first, second, _, _ = demo_run
    first_log = (_run_target(first) / "dbt.log").read_text()
    second_log = (_run_target(second) / "dbt.log").read_text()
    assert "Unable to do partial parsing because profile has changed" in first_log
    assert "Partial parsing enabled" in second_log
    assert "Unable to do partial parsing" not in second_log
