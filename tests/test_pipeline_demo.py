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

from orchestration.lib.randomisation import COLUMNS as RANDOMISED_COLUMNS
from orchestration.lib.randomisation import DESCRIPTION as RANDOMISED_DESCRIPTION
from orchestration.lib.randomisation import TABLE as RANDOMISED_TABLE
from orchestration.settings import dbt_executable
from orchestration.sources.fred.checks import RULES as FRED_RULES
from orchestration.sources.yahoo.checks import RULES as MARKET_RULES
from tests.conftest import PROJECT_ROOT

DBT_DIR = PROJECT_ROOT / "dbt_project"



@pytest.fixture(scope="module")
def demo_run(demo_build):
    """The session's demo build (tests/conftest.py): two runs on the same data, read here;
    a test that changes the warehouse works on its own copy."""
    return demo_build.first, demo_build.second, demo_build.warehouse, demo_build.demo_data


def _manifest() -> dict:
    return json.loads((DBT_DIR / "target" / "manifest.json").read_text())


def _run_target(result, targets: Path) -> Path:
    """The target folder dagster-dbt gave the dbt build of that Dagster run, in `targets`
    (the session's demo build keeps its own, `DemoBuild.dbt_target`)."""
    [target] = targets.glob(f"lockstep_dbt_assets-{result.run_id[:7]}-*")
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
    assert len(evaluations) == len(MARKET_RULES) + len(FRED_RULES) + all_loaded + len(model_tests)
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


def test_metadata_counts_and_synthetic_label(demo_run, catalog):
    first, second, _, _ = demo_run
    meta1, meta2 = _metadata(first, "market_prices"), _metadata(second, "market_prices")
    assert meta1["synthetic"] is True and "SYNTHETIC" in meta1["source"]
    assert meta1["rows_inserted"] == meta1["rows_received"] > 15000
    # the second run finds every file as it was read: it reads, inserts and updates nothing
    assert (meta2["rows_received"], meta2["rows_inserted"], meta2["rows_updated"]) == (0, 0, 0)
    assert f"({len(catalog.market)} files): unchanged" in meta2["notes"]
    fred2 = _metadata(second, "fred_observations")
    assert fred2["rows_received"] == 0 and f"({len(catalog.fred)} files)" in fred2["notes"]
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
    """dbt's events stream; the snapshot and the brief come with their marts'
    materializations (held until dbt finished); every other mart's row count and date range
    (and the divergence chart) follow as an observation, after every materialization."""
    first = demo_run[0]
    events = [e for e in first.events_for_node("lockstep_dbt_assets")
              if e.event_type_value in ("ASSET_MATERIALIZATION", "ASSET_OBSERVATION")]
    kinds = [e.event_type_value for e in events]
    last_materialization = max(i for i, k in enumerate(kinds) if k == "ASSET_MATERIALIZATION")
    assert "ASSET_OBSERVATION" not in kinds[:last_materialization]
    marts = {m.asset_key.path[-1]: m.metadata
             for m in first.asset_materializations_for_node("lockstep_dbt_assets")}
    observed = {o.asset_key.path[-1]: o.metadata
                for o in first.asset_observations_for_node("lockstep_dbt_assets")}
    assert set(observed) & {"mart_market_snapshot", "mart_daily_brief"} == set()
    assert observed["fct_all_time_highs"]["dagster/row_count"].value > 0
    assert "dagster/row_count" not in marts["fct_all_time_highs"]
    snapshot = marts["mart_market_snapshot"]
    assert snapshot["dagster/row_count"].value == 9
    assert "SYNTHETIC" in snapshot["snapshot"].value and "| BTC-USD |" in snapshot["snapshot"].value
    divergence = observed["fct_divergence_daily"]
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
    the upstream relations, which the demo run built. dbt opens the file to write (a test
    run of another process may be reading the shared build): on a copy."""
    _, _, warehouse, _ = demo_run
    copy = tmp_path / "w" / "lockstep.duckdb"  # same file name: same dbt database name
    copy.parent.mkdir()
    shutil.copy(warehouse, copy)
    declared = set(_manifest()["unit_tests"])
    assert len(declared) >= 10
    code, results = _dbt_test("test_type:unit", copy, tmp_path / "target")
    assert code == 0, results
    assert {r["unique_id"] for r in results} == declared
    assert {r["status"] for r in results} == {"pass"}


def test_daily_build_leaves_unit_tests_out(demo_run, demo_build):
    """The materialization's dbt build runs the seeds, models and data tests, no unit
    tests."""
    first, _, _, _ = demo_run
    target = _run_target(first, demo_build.dbt_target)
    kinds = {r["unique_id"].split(".")[0] for r in
             json.loads((target / "run_results.json").read_text())["results"]}
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
            "WHERE table_name = 'mart_market_snapshot__required_columns_not_null'"
        ).fetchall()]
        assert con.execute(f"SELECT column_name, null_rows FROM {audit}").fetchall() == [
            ("record_close_date", 2)]


BRIEF_ROW_TESTS = ("mart_daily_brief__key_is_unique", "mart_daily_brief__never_uses_a_later_day")


def test_an_incremental_build_tests_the_brief_from_the_changed_date(demo_run, tmp_path,
                                                                    monkeypatch):
    """The key and row tests of the incrementally built models read, on an incremental
    build, only the rows from LOCKSTEP_INPUTS_CHANGED_FROM on (macros/get_where_subquery.sql);
    without the date they read every row. Both tests run in one `dbt test` per date, each
    failing on its own planted row."""
    _, _, warehouse, _ = demo_run
    copy = tmp_path / "w" / "lockstep.duckdb"
    copy.parent.mkdir()
    shutil.copy(warehouse, copy)
    with duckdb.connect(str(copy)) as con:  # on 2025-12-01: one brief row twice, and one
        # standing row as of the day after (each fails one of the two tests)
        con.execute("INSERT INTO marts.mart_daily_brief SELECT * FROM marts.mart_daily_brief "
                    "WHERE brief_date = DATE '2025-12-01' AND fact_kind = 'rates'")
        con.execute("""UPDATE marts.mart_daily_brief SET as_of_date = brief_date + 1
                       WHERE brief_date = DATE '2025-12-01' AND fact_kind = 'standing'
                         AND symbol = 'BTC-USD' AND basis = 'close'""")

    def failures(changed_from: str | None) -> dict[str, int]:
        if changed_from is None:
            monkeypatch.delenv("LOCKSTEP_INPUTS_CHANGED_FROM", raising=False)
        else:
            monkeypatch.setenv("LOCKSTEP_INPUTS_CHANGED_FROM", changed_from)
        _, results = _dbt_test(" ".join(BRIEF_ROW_TESTS), copy, tmp_path / "target")
        found = {name: r["failures"] for r in results for name in BRIEF_ROW_TESTS
                 if r["unique_id"].split(".")[2] == name}
        assert len(results) == len(found) == len(BRIEF_ROW_TESTS), results
        return found

    # a whole build: every row
    assert failures(None) == dict.fromkeys(BRIEF_ROW_TESTS, 1)
    # the bad rows are on the changed date
    assert failures("2025-12-01") == dict.fromkeys(BRIEF_ROW_TESTS, 1)
    # they are before it: not read again
    assert failures("2025-12-02") == dict.fromkeys(BRIEF_ROW_TESTS, 0)


def test_a_second_run_reuses_dbts_parse(demo_run, demo_build):
    """The first run into a new warehouse parses the dbt project in full (the profile's path
    changed); it leaves its parse state behind, so the second run parses partially."""
    first, second, _, _ = demo_run
    first_log = (_run_target(first, demo_build.dbt_target) / "dbt.log").read_text()
    second_log = (_run_target(second, demo_build.dbt_target) / "dbt.log").read_text()
    assert "Unable to do partial parsing because profile has changed" in first_log
    assert "Partial parsing enabled" in second_log
    assert "Unable to do partial parsing" not in second_log


def _comments(database: Path, schemas: tuple[str, ...]) -> dict:
    """{(schema, table, column or None): comment} from DuckDB's catalog."""
    names = ", ".join(f"'{s}'" for s in schemas)
    with duckdb.connect(str(database), read_only=True) as con:
        relations = con.execute(
            f"SELECT schema_name, table_name, comment FROM duckdb_tables() WHERE schema_name "
            f"IN ({names}) UNION ALL SELECT schema_name, view_name, comment FROM duckdb_views() "
            f"WHERE schema_name IN ({names}) AND NOT internal").fetchall()
        columns = con.execute(
            f"SELECT schema_name, table_name, column_name, comment FROM duckdb_columns() "
            f"WHERE schema_name IN ({names})").fetchall()
    return {**{(s, t, None): c for s, t, c in relations},
            **{(s, t, col): c for s, t, col, c in columns}}


def test_descriptions_are_comments_in_the_live_and_the_published_warehouse(demo_run):
    """dbt's persist_docs writes every model and column description into DuckDB's catalog;
    the publish step copies the marts' comments into the published file. Both read back
    equal to the manifest's descriptions, for every table and column."""
    _, _, warehouse, _ = demo_run
    manifest = _manifest()
    expected = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] not in ("model", "seed"):
            continue
        schema, table = node["schema"], node["alias"]
        expected[(schema, table, None)] = node["description"]
        for column in node["columns"].values():
            expected[(schema, table, column["name"])] = column["description"]
    # the one mart a Python asset writes (the randomised test) comments itself likewise
    expected[("marts", RANDOMISED_TABLE, None)] = RANDOMISED_DESCRIPTION
    for name, _, text in RANDOMISED_COLUMNS:
        expected[("marts", RANDOMISED_TABLE, name)] = text
    live = _comments(warehouse, ("staging", "intermediate", "marts", "reference"))
    assert set(live) == set(expected)  # every column is documented, no comment is missing
    assert live == expected
    published = _comments(warehouse.parent / "published" / "current" / "lockstep.duckdb",
                          ("marts",))
    assert published == {k: v for k, v in expected.items() if k[0] == "marts"}
    assert published[("marts", "fct_divergence_daily", "pair_id")].startswith(
        "The pair as leader/laggard")


def test_marts_have_enforced_contracts_with_the_built_types(demo_run):
    """Every mart BI reads declares each column's type and enforces it; the declared types
    are the types DuckDB built (`string`, the type both engines name alike, is DuckDB's
    VARCHAR)."""
    _, _, warehouse, _ = demo_run
    with duckdb.connect(str(warehouse), read_only=True) as con:
        built = {(t, c): ty.lower() for t, c, ty in con.execute(
            "SELECT table_name, column_name, data_type FROM duckdb_columns() "
            "WHERE schema_name = 'marts'").fetchall()}
    declared = {}
    for node in _manifest()["nodes"].values():
        if node["resource_type"] == "model" and node["schema"] == "marts":
            assert node["config"]["contract"]["enforced"] is True, node["name"]
            for column in node["columns"].values():
                kind = column["data_type"].lower()
                declared[(node["name"], column["name"])] = \
                    "varchar" if kind == "string" else kind
    for name, kind, _ in RANDOMISED_COLUMNS:  # the Python asset's table, typed as declared
        declared[(RANDOMISED_TABLE, name)] = kind.lower()
    assert declared == built


def test_generic_tests_have_descriptive_names_and_descriptions():
    """The names Dagster shows as check names say what is checked, and each test has a
    description (no auto-generated `accepted_rang…_close__0___1`)."""
    for node in _manifest()["nodes"].values():
        if node["resource_type"] != "test" or "test_metadata" not in node:
            continue
        assert node["description"].strip(), node["name"]
        model = node["attached_node"].split(".")[-1]
        assert node["name"].startswith(model + "__"), node["name"]


def test_make_docs_serves_dbt_docs_with_types_and_comments_on_localhost(demo_run):
    """`make docs` (python -m orchestration.cli docs): dbt's docs, generated against a copy
    of the warehouse, served on 127.0.0.1; the catalog carries each mart column's type and
    its description."""
    import socket
    import sys
    import time
    import urllib.request

    _, _, warehouse, _ = demo_run
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "orchestration.cli", "docs", "--port", str(port)],
        cwd=DBT_DIR.parent, env={**os.environ, "LOCKSTEP_WAREHOUSE": str(warehouse)},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline, catalog = time.monotonic() + 240, None
        while catalog is None and time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/catalog.json",
                                            timeout=5) as response:
                    catalog = json.loads(response.read())
            except OSError:
                time.sleep(1)
        assert catalog is not None, server.stdout.read() if server.poll() is not None else ""
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/index.html", timeout=5) as page:
            assert b"dbt" in page.read()
    finally:
        server.terminate()
        server.wait(timeout=30)
    time.sleep(1)
    with pytest.raises(OSError):  # stopping `make docs` stopped the server too
        urllib.request.urlopen(f"http://127.0.0.1:{port}/index.html", timeout=5)
    snapshot = catalog["nodes"]["model.lockstep.mart_market_snapshot"]
    columns = {c["name"]: c for c in snapshot["columns"].values()}
    assert columns["latest_close"]["type"] == "DOUBLE"
    assert columns["latest_close"]["comment"] == "Close on latest_date."


def _build_of(result, name: str) -> str:
    [m] = [m for m in result.get_asset_materialization_events()
           if m.asset_key.path[-1] == name]
    return m.materialization.metadata["build"].value


def test_the_first_build_is_whole_and_the_second_incremental(demo_run, demo_build):
    """The first run of a warehouse builds dbt's incremental models whole and records the
    logic it ran; the second (the same code, the same data) builds incrementally. The
    materialization says which, and so does `make run`'s summary."""
    from orchestration.summary import summarize

    first, second, warehouse, _ = demo_run
    assert _build_of(first, "int_running_peaks").startswith("built whole (the first build")
    assert _build_of(second, "int_running_peaks").startswith("built incrementally")
    # the same data again: no input changed (docs/incremental.md)
    for name in ("mart_daily_brief", "int_brief_standing", "fct_drawdown_episodes"):
        assert _build_of(second, name) == (
            "built incrementally (only the rows whose inputs changed); inputs changed: none "
            "(no new or revised inputs)")
    for run in (first, second):
        target = _run_target(run, demo_build.dbt_target)
        args = json.loads((target / "run_results.json").read_text())["args"]
        assert args.get("full_refresh") in (False, None)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM ops.dbt_build_state").fetchone()[0] == 1
        assert con.execute("SELECT count(*) FROM ops.dbt_input_state").fetchone()[0] == 1
    text = summarize(second.all_events, 1.0, second.run_id, True, None)
    assert "dbt: int_running_peaks built incrementally (only the rows whose inputs changed)" \
        in text.splitlines()


def test_outcome_tails_against_scipy_on_the_demo(demo_run):
    """The exact one-sided binomial tail of the outcome marts (SQL, from log-factorials)
    against scipy.stats.binomtest, on every row of both marts that has one."""
    from scipy import stats

    _, _, warehouse, _ = demo_run
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "SELECT n_laggard_beat, n_known, base_rate_share, p_value FROM "
            "marts.mart_outcome_significance WHERE p_value IS NOT NULL UNION ALL "
            "SELECT n_laggard_beat, n_known, base_rate_share, p_value FROM "
            "marts.mart_outcome_significance_daily WHERE p_value IS NOT NULL").fetchall()
    assert len(rows) > 100
    for k, n, p0, p in rows:
        assert p == pytest.approx(
            stats.binomtest(k, n, p0, alternative="greater").pvalue, abs=1e-12), (k, n, p0)


def test_the_randomised_test_runs_between_dbt_and_the_publish(demo_run):
    """marts.mart_outcome_randomised is materialized by its Python asset in the same run,
    one row per row of the outcome summary, and published with the dbt marts."""
    first, _, warehouse, _ = demo_run
    [materialization] = first.asset_materializations_for_node("marts__mart_outcome_randomised")
    assert materialization.asset_key.path == ["marts", "mart_outcome_randomised"]
    # the UI's table of results says the data is synthetic
    assert materialization.metadata["results"].value.startswith("**SYNTHETIC demo data")
    published = warehouse.parent / "published" / "current" / "lockstep.duckdb"
    with duckdb.connect(str(published), read_only=True) as con:
        randomised = con.execute("SELECT pair_id, horizon_days, n_known, n_laggard_beat, "
                                 "p_value FROM marts.mart_outcome_randomised "
                                 "ORDER BY 1, 2").fetchall()
        summary = con.execute("SELECT pair_id, horizon_days, n_known, n_laggard_beat FROM "
                              "marts.mart_divergence_outcome_summary ORDER BY 1, 2").fetchall()
    assert [r[:4] for r in randomised] == summary and len(summary) >= 12
    assert all(0 < r[4] <= 1 for r in randomised if r[2])
