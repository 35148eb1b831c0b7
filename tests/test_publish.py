"""The published warehouse: every mart as Parquet and in a read-only DuckDB file, swapped in
atomically; readers holding it open never block a refresh and never see a mix."""

import json
import os
import shutil

import duckdb
import pandas as pd
import pytest

from tests.conftest import materialize_all

pytestmark = pytest.mark.slow


def test_publish_and_refresh_while_readers_hold_it_open(tmp_path, dbt_manifest):
    first, warehouse = materialize_all(tmp_path, source="demo")
    assert first.success
    root = warehouse.parent / "published"
    current = root / "current"
    assert current.is_symlink()
    version_one = os.path.realpath(current)
    manifest = json.loads((current / "manifest.json").read_text())
    assert manifest["synthetic"] is True and manifest["storage_version"] == "v1.0.0"
    # the latest day's brief beside the DuckDB file, labelled synthetic
    assert manifest["brief"] == "brief.md" and manifest["brief_date"] == "2025-12-31"
    brief = (current / "brief.md").read_text()
    assert brief.startswith("# lockstep brief: 2025-12-31") and "SYNTHETIC" in brief
    with duckdb.connect(str(warehouse), read_only=True) as live:
        marts = [r[0] for r in live.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts'").fetchall()]
        views = [r[0] for r in live.execute(
            "SELECT view_name FROM duckdb_views() WHERE schema_name = 'marts'").fetchall()]
        live_counts = {name: live.execute(f'SELECT count(*) FROM marts."{name}"').fetchone()[0]
                       for name in [*marts, *views]}
    assert manifest["tables"] == live_counts  # every table and view of marts, whole
    for name, rows in live_counts.items():
        parquet = current / "parquet" / f"{name}.parquet"
        assert duckdb.sql(f"SELECT count(*) FROM '{parquet}'").fetchall()[0][0] == rows

    # a BI reader keeps the published file open during the next refresh
    reader = duckdb.connect(str(current / "lockstep.duckdb"), read_only=True)
    snapshot_before = reader.execute("SELECT count(*) FROM marts.mart_market_snapshot"
                                     ).fetchone()[0]
    second, _ = materialize_all(tmp_path, source="demo")
    assert second.success
    version_two = os.path.realpath(current)
    assert version_two != version_one
    # the open reader still reads its version, whole; a new reader sees the new one
    assert reader.execute("SELECT count(*) FROM marts.mart_market_snapshot").fetchone()[0] \
        == snapshot_before
    reader.close()
    with duckdb.connect(str(current / "lockstep.duckdb"), read_only=True) as fresh:
        assert fresh.execute("SELECT count(*) FROM marts.fct_drawdowns_daily").fetchone()[0] \
            == live_counts["fct_drawdowns_daily"]
    # two versions are kept, no partial directory is left behind
    assert sorted(p.name.startswith("v-") for p in root.iterdir() if p.is_dir()
                  and not p.is_symlink()) == [True, True]
    assert not list(root.glob(".v-*"))


def test_a_failed_build_publishes_nothing(tmp_path, demo_dir, dbt_manifest):
    bad = tmp_path / "bad_data"
    shutil.copytree(demo_dir, bad)
    effr = pd.read_csv(bad / "fred" / "EFFR.csv")
    effr.loc[effr.index[-1], "value"] = 425.0
    effr.to_csv(bad / "fred" / "EFFR.csv", index=False)
    result, warehouse = materialize_all(tmp_path, source="files", data_dir=str(bad))
    assert not result.success
    assert not (warehouse.parent / "published").exists()
