"""The Spark engine (LOCKSTEP_ENGINE=spark; docs/spark.md) against the DuckDB engine: the
same pipeline on the same data publishes the same copy (floats within 1e-9, the same rows,
NULLs where NULLs), a Wednesday is a Wednesday on both, dbt's unit tests pass on Spark, and
an incremental Spark build after revisions deep in the past equals DuckDB's whole build
and Spark's own.

Spark pays a JVM start per dbt invocation and a fixed cost per dbt node, so each Spark
build is made once and checked for everything it can show: the demo is built on Spark once
(with its data tests), against the suite's DuckDB demo build (conftest's `demo_build`), and
every check of the demo runs in one test on that build (under two pytest workers a session
fixture would be built once per worker, and the last check changes the build;
docs/testing.md, "Tests merged or removed"). The incremental checks run on the real history
where this session runs its test (every year of real data, revisions back to 1932), else on
the demo (sharing the unit tests' dbt invocation). Skipped, with one line saying why, where
Java 17+ or the Spark group (.venv-dbt) is missing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import (
    CLEAN_ENV,
    PROJECT_ROOT,
    REAL_DATA,
    cut_real_history,
    materialize_all,
    query,
)
from tests.published_compare import compare_published

DBT_DIR = PROJECT_ROOT / "dbt_project"
# a Spark build of the demo takes minutes on 2 shared cores, the real history longer
pytestmark = [pytest.mark.spark, pytest.mark.slow, pytest.mark.timeout(3600)]


def _java_major() -> int | None:
    java = shutil.which("java")
    if java is None:
        return None
    out = subprocess.run([java, "-version"], capture_output=True, text=True).stderr
    found = re.search(r'version "(?:1\.)?(\d+)', out)
    return int(found.group(1)) if found else None


def _why_not() -> str | None:
    major = _java_major()
    if major is None or major < 17:
        found = "no java on PATH" if major is None else f"java {major}"
        return (f"the Spark engine needs Java 17+ ({found}; "
                f"apt-get install -y openjdk-17-jre-headless)")
    if not list((PROJECT_ROOT / ".venv-dbt").glob("lib/python*/site-packages/pyspark")):
        return "pyspark is not in .venv-dbt (make test or LOCKSTEP_ENGINE=spark make setup adds it)"
    return None


@pytest.fixture(scope="session")
def spark_ready():
    why = _why_not()
    if why:
        pytest.skip(why)


def _published(root: Path) -> Path:
    return root / "warehouse" / "published" / "current" / "lockstep.duckdb"


def _run(root: Path, engine: str, **fields):
    from orchestration.settings import environ

    with pytest.MonkeyPatch.context() as env:
        for name in CLEAN_ENV:
            env.delenv(name, raising=False)
        with environ(LOCKSTEP_ENGINE=engine):
            result, warehouse = materialize_all(root, **fields)
    assert result.success, f"the {engine} run failed"
    return result, warehouse


@dataclass(frozen=True)
class SparkDemo:
    """The demo through the whole pipeline on Spark: `root` holds
    warehouse/ (the DuckDB file with raw and Spark's marts copied in, published/) and state/
    (the demo files, Spark's directory)."""

    root: Path
    warehouse: Path
    result: Any


def _new_folder(path: Path) -> Path:
    path.mkdir(parents=True)
    return path


def _spark_demo(root: Path) -> SparkDemo:
    result, warehouse = _run(root, "spark", source="demo")
    return SparkDemo(root, warehouse, result)


def test_the_demo_on_spark(spark_ready, dbt_manifest, demo_build, tmp_path, request):
    """The demo built once on Spark, then each check in turn (each names itself when it
    fails): the published copy equals DuckDB's; a Wednesday is a Wednesday; dbt's unit tests
    pass on Spark and (unless the real history's test does it in this session) an
    incremental build after a deep revision equals DuckDB's whole build and Spark's (last:
    it changes the Spark build)."""
    spark_demo = _spark_demo(tmp_path / "demo-spark")
    # every dbt data test was run on Spark, and passed
    from orchestration.assets.dbt import lockstep_dbt_assets

    checked = _dbt_checks(spark_demo.result)
    assert len(checked) == len(lockstep_dbt_assets.check_keys) and all(checked.values()), [
        key for key, passed in checked.items() if not passed]
    check_the_spark_published_copy_equals_duckdbs_on_the_demo(spark_demo, demo_build)
    check_a_wednesday_is_a_wednesday_on_spark(spark_demo)
    check_the_unit_tests_pass_and_an_incremental_build_equals_duckdbs_on_spark(
        spark_demo, _new_folder(tmp_path / "incremental"),
        incremental=not _the_real_history_test_runs(request))


def _the_real_history_test_runs(request) -> bool:
    """Whether this session runs the real history's Spark test, which checks an incremental
    Spark build against DuckDB's and Spark's whole builds on every year of real data: the
    demo's then need not (one Spark build less, minutes on two cores)."""
    wanted = test_the_real_history_cut_then_revised_on_spark_equals_duckdbs.__name__
    return (REAL_DATA / "market").is_dir() and any(
        item.name == wanted for item in request.session.items)


def _build_modes(result) -> dict[str, str]:
    """The incremental models' `build` metadata (how the dbt step built each), by model."""
    return {e.asset_key.path[-1]: e.materialization.metadata["build"].value
            for e in result.get_asset_materialization_events()
            if "build" in e.materialization.metadata}


def check_the_spark_published_copy_equals_duckdbs_on_the_demo(spark_demo, demo_build):
    duck = _published(demo_build.root)
    spark = _published(spark_demo.root)
    assert compare_published(duck, spark, tolerance=1e-9) == []
    # the brief is a view of those rows: the same text
    assert (duck.parent / "brief.md").read_text() == (spark.parent / "brief.md").read_text()
    # and the marts carry the same descriptions as comments
    sql = ("SELECT table_name, column_name, comment FROM duckdb_columns() "
           "WHERE schema_name = 'marts' ORDER BY ALL")
    assert query(spark, sql).equals(query(duck, sql))


def check_a_wednesday_is_a_wednesday_on_spark(spark_demo):
    """fct_fed_balance_sheet_weekly dates the H.4.1 week by its Wednesday: Spark's dayofweek
    counts from 1 = Sunday, DuckDB's from 0, so the same SQL picked Tuesdays on Spark."""
    weeks = query(_published(spark_demo.root),
                  "SELECT week_ending FROM marts.fct_fed_balance_sheet_weekly")
    assert len(weeks) > 50
    days = {date.fromisoformat(str(d)[:10]).strftime("%A") for d in weeks.week_ending}
    assert days == {"Wednesday"}


def _dbt(engine: str, warehouse: Path, target: Path, *args: str,
         changed_from: str | None = None, spark_dir: Path | None = None):
    from orchestration.settings import dbt_executable

    env = {**os.environ, "LOCKSTEP_ENGINE": engine, "LOCKSTEP_WAREHOUSE": str(warehouse)}
    env.pop("LOCKSTEP_INPUTS_CHANGED_FROM", None)
    if spark_dir is not None:
        env["LOCKSTEP_SPARK_DIR"] = str(spark_dir)
    if changed_from:
        env["LOCKSTEP_INPUTS_CHANGED_FROM"] = changed_from
    out = subprocess.run([str(dbt_executable()), *args, "--profiles-dir", ".",
                          "--target-path", str(target)],
                         cwd=DBT_DIR, capture_output=True, text=True, timeout=1800, env=env)
    results = json.loads((target / "run_results.json").read_text())["results"] \
        if (target / "run_results.json").exists() else []
    return out, results


def _marts_copied(source: Path, target: Path, marts: list[str]) -> Path:
    """A new DuckDB file `target` holding only `marts` (schema marts) as `source` has them,
    to compare with compare_published."""
    import duckdb

    with duckdb.connect(str(target)) as con:
        con.execute(f"ATTACH '{source}' AS built (READ_ONLY)")
        con.execute("CREATE SCHEMA marts")
        for mart in marts:
            con.execute(f"CREATE TABLE marts.{mart} AS SELECT * FROM built.marts.{mart}")
    return target


def check_the_unit_tests_pass_and_an_incremental_build_equals_duckdbs_on_spark(
        spark_demo, tmp_path, incremental: bool = True):
    """dbt's unit tests on Spark, and (incremental=True) in the same dbt invocation (one JVM
    start) the build the dbt step runs after a revision deep in the past (a ^RUT close of
    2021-03-03, 1.5 times): the models that recompute from the changed date overwrite the
    years from 2021 on and keep the earlier ones; the marts equal those DuckDB builds whole
    from the same raw tables (floats within 1e-9), and the revised close reaches them; and
    the incremental marts equal Spark's whole build of them. It changes the Spark demo's raw
    data and Spark tables, so it comes last of the demo's checks."""
    import duckdb

    from orchestration.lib.spark_marts import mirror_marts
    from orchestration.lib.spark_raw import export_raw
    from orchestration.settings import load_settings, spark_dir

    warehouse = spark_demo.warehouse
    spark = spark_dir(spark_demo.root / "state", warehouse)
    if not incremental:
        out, results = _dbt("spark", warehouse, tmp_path / "spark", "test", "-s",
                            "test_type:unit", spark_dir=spark)
        failed = [r["unique_id"] for r in results if r["status"] != "pass"]
        assert out.returncode == 0 and failed == [], out.stdout[-4000:]
        assert len(results) >= 30
        return
    with duckdb.connect(str(warehouse)) as con:
        [(before,)] = con.execute("SELECT close FROM raw.market_prices WHERE symbol = '^RUT' "
                                  "AND date = DATE '2021-03-03'").fetchall()
        con.execute("UPDATE raw.market_prices SET close = close * 1.5 "
                    "WHERE symbol = '^RUT' AND date = DATE '2021-03-03'")
    assert export_raw(warehouse, spark / "raw").written["market_prices"] == ["year=2021"]
    marts = ["fct_all_time_highs", "fct_divergence_daily", "mart_daily_brief",
             "fct_drawdown_episodes", "fct_drawdowns_daily"]
    selection = ["+" + m for m in marts]
    out, results = _dbt("spark", warehouse, tmp_path / "spark", "build", "-s", *selection,
                        "test_type:unit", "--exclude", "resource_type:seed", "test_type:data",
                        changed_from="2021-03-03", spark_dir=spark)
    failed = [r["unique_id"] for r in results if r["status"] not in ("pass", "success")]
    assert out.returncode == 0 and failed == [], out.stdout[-4000:]
    assert len([r for r in results if r["unique_id"].startswith("unit_test.")]) >= 30
    partitions = spark / "warehouse" / "marts.db" / "fct_divergence_daily"
    assert {p.name for p in partitions.glob("year=*")} >= {"year=2020", "year=2021"}
    built = tmp_path / "spark.duckdb"
    manifest = json.loads((DBT_DIR / "target" / "manifest.json").read_text())
    mirror_marts(built, spark, manifest, marts)

    # DuckDB, whole, on the same raw tables (a copy of the warehouse; the seeds too, which
    # the Spark build loaded into Spark only)
    copy = tmp_path / "duckdb" / "lockstep.duckdb"
    copy.parent.mkdir()
    shutil.copy(warehouse, copy)
    out, _ = _dbt("duckdb", copy, tmp_path / "duckdb-target", "build", "--full-refresh",
                  "-s", *selection, "--exclude-resource-type", "test", "unit_test")
    assert out.returncode == 0, out.stdout[-4000:]
    expected = _marts_copied(copy, tmp_path / "expected.duckdb", marts)
    assert compare_published(expected, built, tolerance=1e-9,
                             skip_tables={"ops.mart_rewrites"}) == []
    revised = query(built, "SELECT close FROM marts.fct_drawdowns_daily "
                    "WHERE symbol = '^RUT' AND date = DATE '2021-03-03'")
    assert revised.close.tolist() == [pytest.approx(before * 1.5)]
    # the years before 2021 were kept, not rewritten: the same as Spark building them whole
    check_an_incremental_spark_build_equals_a_full_spark_build(
        spark_demo.root, built, _new_folder(tmp_path / "full"))
    assert load_settings({}).engine == "duckdb"  # the test's own environment is untouched


# revisions deep in the past: (file stem, date, factor on the prices or added to the value)
REVISIONS = {"market": [("BTC-USD", "2015-03-02", 1.5), ("RUT", "2015-03-02", 0.9),
                        ("GSPC", "1932-06-01", 1.2)],
             "fred": [("WALCL", "2015-03-04", 50_000.0)]}


def _stored_before_the_revision(real_data: Path, target: Path, cut: str) -> None:
    """The real history up to `cut`, with the values REVISIONS revises as they were before."""
    import pandas as pd

    cut_real_history(real_data, target, cut)
    for kind, changes in REVISIONS.items():
        for stem, day, change in changes:
            path = target / kind / f"{stem}.csv"
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
            at = frame.date == day
            assert at.sum() == 1, (stem, day)
            columns = ["open", "high", "low", "close", "adj_close"] if kind == "market" \
                else ["value"]
            for column in columns:
                value = frame.loc[at, column].astype(float)
                frame.loc[at, column] = (value / change if kind == "market"
                                         else value - change).map(repr)
            frame.to_csv(path, index=False)


@pytest.mark.real_data
def test_the_real_history_cut_then_revised_on_spark_equals_duckdbs(
        spark_ready, real_warehouse, real_data, tmp_path_factory):
    """../shared/data/real on Spark as `make run` builds it: first the history up to
    mid-2024 (after IORB's first day: a series new since the last build recomputes every
    date) with a few values as they stood before a revision (a 1932 ^GSPC bar, 2015 bars of
    BTC-USD and ^RUT, a 2015 H.4.1 week), built whole; then the whole history, which revises
    them and adds two years, built incrementally (from 1932 on: Spark overwrites those
    years). Every table of the published copy equals the DuckDB engine's whole build
    of the whole history (conftest's real_warehouse; floats within 1e-9, NULLs where
    NULLs), and each incremental mart equals a whole Spark build of it."""
    root = tmp_path_factory.mktemp("real-spark")
    before = root / "before"
    _stored_before_the_revision(real_data, before, "2024-06-28")
    # the first build only prepares the second: no data tests
    _, warehouse = _run(root, "spark", dbt_tests=False, source="files", data_dir=str(before))
    kept = _files_of_years(root, warehouse, before=1932)
    # ^GSPC's first close is of 1927-12-30; the brief has a row for every day from it
    assert {(p.parent.parent.name, p.parent.name) for p in kept} >= {
        ("mart_daily_brief", f"year={year}") for year in range(1927, 1932)}
    # the second runs dbt's data tests on every schema but marts: the published copy, the
    # marts, is compared with the DuckDB engine's row for row below (floats within 1e-9),
    # and tests/test_pipeline_real.py checks every data test passes on DuckDB's build of
    # the same history; the demo's test runs those on marts on Spark too
    result, _ = _run(root, "spark", dbt_tests_on_marts=False, source="files",
                     data_dir=str(real_data))
    checked = _dbt_checks(result)
    assert len(checked) == _dbt_checks_off_marts() and all(checked.values()), [
        key for key, passed in checked.items() if not passed]
    modes = _build_modes(result)
    assert "inputs changed" in modes["mart_daily_brief"], modes
    # the years before the earliest revision (1932) were kept, not rewritten
    assert _files_of_years(root, warehouse, before=1932) == kept
    _, duck = real_warehouse
    problems = compare_published(duck.parent / "published" / "current" / "lockstep.duckdb",
                                 _published(root), tolerance=1e-9)
    assert problems == []
    check_an_incremental_spark_build_equals_a_full_spark_build(
        root, _published(root), tmp_path_factory.mktemp("real-spark-full"))


def _dbt_checks(result) -> dict[str, bool]:
    """dbt's data tests the run evaluated (the dbt asset's checks): passed or not, by key."""
    from orchestration.assets.dbt import lockstep_dbt_assets

    keys = set(lockstep_dbt_assets.check_keys)
    return {e.asset_check_key.to_user_string(): e.passed
            for e in result.get_asset_check_evaluations() if e.asset_check_key in keys}


def _dbt_checks_off_marts() -> int:
    from orchestration.assets.dbt import lockstep_dbt_assets

    return sum(k.asset_key.path[0] != "marts" for k in lockstep_dbt_assets.check_keys)


def _files_of_years(root: Path, warehouse: Path, before: int) -> dict[Path, int]:
    """The files of the year partitions before `before` of the Spark build's incremental
    models (every schema), with their modification times in nanoseconds."""
    from orchestration.settings import spark_dir

    tables = spark_dir(root / "state", warehouse) / "warehouse"
    return {path: path.stat().st_mtime_ns for path in tables.glob("*.db/*/year=*/*")
            if int(path.parent.name.removeprefix("year=")) < before}


def check_an_incremental_spark_build_equals_a_full_spark_build(root: Path, published: Path,
                                                               tmp_path: Path):
    """The models a build can make incrementally, built again whole on Spark (dbt's
    --full-refresh, from the same upstream tables): each incremental mart equals what the
    incremental build published (floats within 1e-9; the other marts are tables every
    build rebuilds whole)."""
    from orchestration.lib.spark_marts import mart_nodes, mirror_marts
    from orchestration.settings import spark_dir

    warehouse = root / "warehouse" / "lockstep.duckdb"
    spark = spark_dir(root / "state", warehouse)
    manifest = json.loads((DBT_DIR / "target" / "manifest.json").read_text())
    incremental = sorted(name for name, node in mart_nodes(manifest).items()
                         if node["config"]["materialized"] == "incremental")
    assert {"mart_daily_brief", "fct_all_time_highs", "fct_divergence_daily"} <= set(incremental)
    out, results = _dbt("spark", warehouse, tmp_path / "target", "run", "--full-refresh",
                        "-s", "config.materialized:incremental", spark_dir=spark)
    failed = [r["unique_id"] for r in results if r["status"] != "success"]
    assert out.returncode == 0 and failed == [], out.stdout[-4000:]
    assert len(results) >= len(incremental)
    full = tmp_path / "full.duckdb"
    assert mirror_marts(full, spark, manifest, incremental) == incremental
    before = _marts_copied(published, tmp_path / "incremental.duckdb", incremental)
    assert compare_published(before, full, tolerance=1e-9,
                             skip_tables={"ops.mart_rewrites"}) == []
