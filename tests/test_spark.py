"""The Spark engine (LOCKSTEP_ENGINE=spark; docs/spark.md) against the DuckDB engine: the
same pipeline on the same data publishes the same copy (floats within 1e-9, the same rows,
NULLs where NULLs), a Wednesday is a Wednesday on both, and dbt's unit tests pass on Spark.

One Spark build per session (a JVM start costs about 25 s, the build minutes on 2 cores).
Skipped, with one line saying why, where Java 17+ or the Spark group (.venv-dbt) is missing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT, materialize_all, query
from tests.published_compare import compare_published

DBT_DIR = PROJECT_ROOT / "dbt_project"
# one Spark build of the demo takes 5-8 minutes on 2 shared cores, the real history longer
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


def _published(tmp: Path) -> Path:
    return tmp / "warehouse" / "published" / "current" / "lockstep.duckdb"


def _run(tmp: Path, engine: str, **fields):
    from orchestration.settings import environ

    with environ(LOCKSTEP_ENGINE=engine):
        result, warehouse = materialize_all(tmp, **fields)
    assert result.success, f"the {engine} run failed"
    return result, warehouse


@pytest.fixture(scope="session")
def demo_on_both(spark_ready, tmp_path_factory, dbt_manifest):
    """The demo through the whole pipeline, once on DuckDB, once on Spark."""
    duck, spark = tmp_path_factory.mktemp("demo-duckdb"), tmp_path_factory.mktemp("demo-spark")
    _run(duck, "duckdb", source="demo")
    result, warehouse = _run(spark, "spark", source="demo")
    return duck, spark, warehouse, result


def test_the_spark_published_copy_equals_duckdbs_on_the_demo(demo_on_both):
    duck, spark, _, _ = demo_on_both
    problems = compare_published(_published(duck), _published(spark), tolerance=1e-9)
    assert problems == []
    # the brief is a view of those rows: the same text (its 'built' line aside)
    assert (_published(duck).parent / "brief.md").read_text() == \
        (_published(spark).parent / "brief.md").read_text()


@pytest.mark.real_data
def test_the_spark_published_copy_equals_duckdbs_on_the_real_history(
        spark_ready, real_warehouse, real_data, tmp_path_factory):
    """../shared/data/real through the whole pipeline on Spark, against the DuckDB engine's
    build of it (conftest's real_warehouse): every table of the published copy equal."""
    _, duck = real_warehouse
    spark = tmp_path_factory.mktemp("real-spark")
    _run(spark, "spark", source="files", data_dir=str(real_data))
    problems = compare_published(duck.parent / "published" / "current" / "lockstep.duckdb",
                                 _published(spark), tolerance=1e-9)
    assert problems == []


def test_the_marts_carry_their_descriptions_on_spark_too(demo_on_both):
    duck, spark, _, _ = demo_on_both
    sql = ("SELECT table_name, column_name, comment FROM duckdb_columns() "
           "WHERE schema_name = 'marts' ORDER BY ALL")
    assert query(_published(spark), sql).equals(query(_published(duck), sql))


def test_a_wednesday_is_a_wednesday_on_spark(demo_on_both):
    """fct_fed_balance_sheet_weekly dates the H.4.1 week by its Wednesday: Spark's dayofweek
    counts from 1 = Sunday, DuckDB's from 0, so the same SQL picked Tuesdays on Spark."""
    _, spark, _, _ = demo_on_both
    weeks = query(_published(spark), "SELECT week_ending FROM marts.fct_fed_balance_sheet_weekly")
    assert len(weeks) > 50
    days = {date.fromisoformat(str(d)[:10]).strftime("%A") for d in weeks.week_ending}
    assert days == {"Wednesday"}


def test_the_dbt_unit_tests_pass_on_spark(demo_on_both, tmp_path):
    _, spark, warehouse, _ = demo_on_both
    from orchestration.settings import dbt_executable, load_settings, spark_dir

    state = spark / "state"
    target = tmp_path / "target"
    out = subprocess.run(
        [str(dbt_executable()), "test", "--select", "test_type:unit", "--profiles-dir", ".",
         "--target-path", str(target)],
        cwd=DBT_DIR, capture_output=True, text=True, timeout=900,
        env={**os.environ, "LOCKSTEP_ENGINE": "spark", "LOCKSTEP_WAREHOUSE": str(warehouse),
             "LOCKSTEP_SPARK_DIR": str(spark_dir(state, warehouse))})
    results = json.loads((target / "run_results.json").read_text())["results"]
    failed = [r["unique_id"] for r in results if r["status"] != "pass"]
    assert len(results) >= 15
    assert failed == [], out.stdout[-3000:]
    assert load_settings({}).engine == "duckdb"  # the test's own environment is untouched


def _dbt_spark(warehouse: Path, state: Path, target: Path, *args: str,
               changed_from: str | None = None) -> subprocess.CompletedProcess:
    from orchestration.settings import dbt_executable, spark_dir

    env = {**os.environ, "LOCKSTEP_ENGINE": "spark", "LOCKSTEP_WAREHOUSE": str(warehouse),
           "LOCKSTEP_SPARK_DIR": str(spark_dir(state, warehouse))}
    env.pop("LOCKSTEP_INPUTS_CHANGED_FROM", None)
    if changed_from:
        env["LOCKSTEP_INPUTS_CHANGED_FROM"] = changed_from
    out = subprocess.run([str(dbt_executable()), *args, "--profiles-dir", ".",
                          "--target-path", str(target)],
                         cwd=DBT_DIR, capture_output=True, text=True, timeout=1200, env=env)
    assert out.returncode == 0, out.stdout[-4000:]
    return out


def test_an_incremental_spark_build_equals_a_full_one(demo_on_both, tmp_path):
    """A revision deep in the past (a close of 2021-03-03), then the incremental build the
    dbt step runs (told the first changed date): the models that recompute from it overwrite
    the years from 2021 on; the result equals a --full-refresh build of the same data, and
    the revised close reaches the marts. It changes the Spark demo's raw data and Spark
    tables, so it comes last in this file."""
    import duckdb

    from orchestration.lib.spark_marts import mirror_marts
    from orchestration.lib.spark_raw import export_raw
    from orchestration.settings import spark_dir

    _, spark, warehouse, _ = demo_on_both
    state = spark / "state"
    with duckdb.connect(str(warehouse)) as con:
        [(before,)] = con.execute("SELECT close FROM raw.market_prices WHERE symbol = '^RUT' "
                                  "AND date = DATE '2021-03-03'").fetchall()
        con.execute("UPDATE raw.market_prices SET close = close * 1.5 "
                    "WHERE symbol = '^RUT' AND date = DATE '2021-03-03'")
    exported = export_raw(warehouse, spark_dir(state, warehouse) / "raw")
    assert exported.written["market_prices"] == ["year=2021"]
    marts = ["fct_all_time_highs", "fct_divergence_daily", "mart_daily_brief",
             "fct_drawdown_episodes", "fct_drawdowns_daily"]
    selection = ["-s", "+" + " +".join(marts), "--exclude", "resource_type:seed"]
    manifest = json.loads((DBT_DIR / "target" / "manifest.json").read_text())
    built = {}
    for kind, extra in (("incremental", ()), ("full", ("--full-refresh",))):
        _dbt_spark(warehouse, state, tmp_path / kind, "run", *selection, *extra,
                   changed_from="2021-03-03" if kind == "incremental" else None)
        built[kind] = tmp_path / f"{kind}.duckdb"
        mirror_marts(built[kind], spark_dir(state, warehouse), manifest, marts)
        if kind == "incremental":  # years before 2021 were kept, the later ones rewritten
            partitions = spark_dir(state, warehouse) / "warehouse" / "marts.db" / \
                "fct_divergence_daily"
            assert {p.name for p in partitions.glob("year=*")} >= {"year=2020", "year=2021"}
    assert compare_published(built["full"], built["incremental"], tolerance=0,
                             skip_tables={"ops.mart_rewrites"}) == []
    revised = query(built["incremental"], "SELECT close FROM marts.fct_drawdowns_daily "
                    "WHERE symbol = '^RUT' AND date = DATE '2021-03-03'")
    assert revised.close.tolist() == [pytest.approx(before * 1.5)]
