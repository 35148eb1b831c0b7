"""The published warehouse: every mart as Parquet and in a read-only DuckDB file, swapped in
atomically; readers holding it open never block a refresh and never see a mix."""

import json
import os
from datetime import date
from pathlib import Path

import duckdb
import pytest

from tests.conftest import materialize_all

# the test marts' date columns, as a dbt mart declares its own (its YAML's meta: date_column)
DATES = {"daily": "day", "latest": "day"}


def test_publish_and_refresh_while_readers_hold_it_open(tmp_path, demo_build, demo_copy):
    # the first run: the session's demo build, copied here as it left the warehouse
    first, warehouse = demo_build.first, demo_copy
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
        parquet = current / "parquet" / name / "*.parquet"
        assert duckdb.sql(f"SELECT count(*) FROM '{parquet}'").fetchall()[0][0] == rows
    # a mart's Parquet is split by the date column it declares, which the UI's date range
    # reads too: mart_lead_lag_rolling's windows by their last week, not their first
    assert manifest["date_columns"]["mart_lead_lag_rolling"] == "window_end_week"
    with duckdb.connect(str(warehouse), read_only=True) as live:
        years, start, end = live.execute(
            "SELECT list(DISTINCT year(window_end_week)::VARCHAR), "
            "min(window_end_week), max(window_end_week) FROM marts.mart_lead_lag_rolling"
        ).fetchone()
    assert sorted(p.stem for p in (current / "parquet" / "mart_lead_lag_rolling").iterdir()) \
        == sorted(years)
    [observed] = [e.asset_observation_data.asset_observation.metadata["date_range"].value
                  for e in first.all_events if e.event_type_value == "ASSET_OBSERVATION"
                  and e.asset_key.path[-1] == "mart_lead_lag_rolling"]
    assert observed == f"{start} to {end}"

    # a BI reader keeps the published file open during the next refresh
    reader = duckdb.connect(str(current / "lockstep.duckdb"), read_only=True)
    snapshot_before = reader.execute("SELECT count(*) FROM marts.mart_market_snapshot"
                                     ).fetchone()[0]
    second, _ = materialize_all(tmp_path / "run", source="demo")
    assert second.success
    # dbt's post-hooks recorded each build of the brief, fct_all_time_highs,
    # fct_divergence_daily and int_running_peaks, and the view over it (fct_drawdowns_daily)
    # took int_running_peaks' date: the first build rewrote every row, the second only from
    # the day after the newest price (no new or revised inputs)
    every = {"int_running_peaks": None, "fct_drawdowns_daily": None, "fct_all_time_highs": None,
             "fct_divergence_daily": None, "mart_daily_brief": None}
    assert _rewrites(warehouse) == [every, dict.fromkeys(every, date(2026, 1, 1))]
    version_two = os.path.realpath(current)
    assert version_two != version_one
    # nothing changed in the marts: the new version is the old one's copy, every mart as it
    # was, and equal to the live marts row for row
    second_manifest = json.loads((current / "manifest.json").read_text())
    assert second_manifest["started_from"] == os.path.basename(version_one)
    assert set(second_manifest["changes"].values()) == {"unchanged"}
    assert second_manifest["rewrites_seen"][0] == 10  # the second build's last record
    _same(warehouse, current / "lockstep.duckdb")
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


# a failed build publishes nothing: tests/test_operations.py,
# test_failed_blocking_check_keeps_the_marts_from_building (the same bad data, one build)


# -- a new version takes only what changed --------------------------------------------------

def _live(path):
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA marts")
    con.execute("""CREATE TABLE marts.daily AS
                   SELECT DATE '2025-12-20' + i::INTEGER AS day, s AS symbol, i * 1.5 + s AS value
                   FROM range(0, 40) r(i), range(0, 3) q(s)""")
    con.execute("INSERT INTO marts.daily VALUES (NULL, 9, 0.5)")  # a row without a date
    con.execute("CREATE TABLE marts.pairs AS SELECT 'A/B' AS pair_id, 0.25 AS share")
    con.execute("CREATE VIEW marts.latest AS SELECT * FROM marts.daily WHERE day = "
                "(SELECT max(day) FROM marts.daily)")
    con.execute("COMMENT ON COLUMN marts.daily.value IS 'the value'")
    return con


def _same(warehouse, published):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        con.execute(f"ATTACH '{published}' AS p (READ_ONLY)")
        for (name,) in con.execute("SELECT table_name FROM information_schema.tables WHERE "
                                   "table_catalog = current_database() AND table_schema = "
                                   "'marts'").fetchall():
            for a, b in (("marts", "p.marts"), ("p.marts", "marts")):
                assert con.execute(f"SELECT count(*) FROM (SELECT * FROM {a}.{name} EXCEPT ALL "
                                   f"SELECT * FROM {b}.{name})").fetchone() == (0,), name
        return dict(con.execute("SELECT table_name, column_name || ':' || coalesce(comment, '') "
                                "FROM duckdb_columns() WHERE database_name = 'p' AND "
                                "column_name IN ('value', 'share')").fetchall())


# a big mart's years are written one COPY each, a small one's in one partitioned COPY
@pytest.mark.parametrize("one_pass_rows", [1_000_000, 0], ids=["one pass", "year by year"])
def test_a_new_version_replaces_only_the_dates_that_changed(tmp_path, monkeypatch,
                                                              one_pass_rows):
    from orchestration.lib import publish
    from orchestration.lib.publish import DB_NAME, publish_marts

    monkeypatch.setattr(publish, "ONE_PASS_ROWS", one_pass_rows)
    # every version kept, so each starts from a copy of the one before (the reuse of a
    # retired version's file: the next test)
    monkeypatch.setattr(publish, "KEEP_VERSIONS", 10)
    warehouse, root = tmp_path / "w.duckdb", tmp_path / "published"
    _live(warehouse).close()
    one = publish_marts(warehouse, root, "one", date_columns=DATES)
    assert one["started_from"] is None and set(one["changes"].values()) == {"copied whole"}
    assert _same(warehouse, root / "current" / DB_NAME)["daily"] == "value:the value"

    with duckdb.connect(str(warehouse)) as con:
        con.execute("UPDATE marts.daily SET value = -1 WHERE day = DATE '2026-01-05' "
                    "AND symbol = 2")
        con.execute("DELETE FROM marts.daily WHERE day = DATE '2026-01-07'")
        con.execute("INSERT INTO marts.daily VALUES (DATE '2026-02-10', 0, 7.0), "
                    "(DATE '2026-02-10', 1, 8.0), (NULL, 10, 1.0)")
        con.execute("COMMENT ON COLUMN marts.daily.value IS NULL")
    two = publish_marts(warehouse, root, "two", date_columns=DATES)
    assert two["started_from"] == "v-one"
    # of 40 dates x 3 symbols (12 of them in 2025) and 1 undated row: 2026-01-05 changed (3
    # rows), 2026-01-07
    # went (0 rows now), 2026-02-10 came (2 rows), the undated rows changed (2 rows); now
    # 121 rows in 40 dates and the undated
    assert two["changes"]["daily"] == "4 of 41 dates (day) replaced, 7 of 121 rows"
    assert two["changes"]["pairs"] == "unchanged"
    assert two["changes"]["latest"] == "copied whole"  # its only date changed: every row
    assert _same(warehouse, root / "current" / DB_NAME)["daily"] == "value:"
    assert two["tables"] == {"daily": 121, "latest": 2, "pairs": 1}
    # Parquet by year: what did not change is the previous version's file (a hard link)
    assert _parquet(root, "two", "daily") == {"2025": 36, "2026": 83, "undated": 2}
    _parquet_is_live(warehouse, root, "two", "daily")
    assert _parquet(root, "two", "pairs") == {"all": 1}
    assert _same_file(root, "one", "two", "pairs/all", "daily/2025")
    assert not _same_file(root, "one", "two", "daily/2026")
    assert not _same_file(root, "one", "two", "daily/undated")

    # a changed column type, a table gone, a table new: those are written whole
    with duckdb.connect(str(warehouse)) as con:
        con.execute("CREATE OR REPLACE TABLE marts.pairs AS SELECT 'A/B' AS pair_id, "
                    "'a quarter' AS share")
        con.execute("DROP VIEW marts.latest")
        con.execute("CREATE TABLE marts.extra AS SELECT 1 AS n")
    three = publish_marts(warehouse, root, "three", date_columns=DATES)
    assert three["changes"] == {"daily": "unchanged", "extra": "copied whole",
                                "pairs": "copied whole"}
    _same(warehouse, root / "current" / DB_NAME)
    with duckdb.connect(str(root / "current" / DB_NAME), read_only=True) as con:
        assert con.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall() == [
            ("daily",), ("extra",), ("pairs",)]
    # the version it started from is as it was: a reader of it saw no change
    with duckdb.connect(str(root / "v-two" / DB_NAME), read_only=True) as con:
        assert con.execute("SELECT share FROM marts.pairs").fetchone() == (0.25,)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("UPDATE marts.daily SET value = value + 1 WHERE day = DATE '2026-01-10'")
    four = publish_marts(warehouse, root, "four", date_columns=DATES)
    assert four["changes"]["daily"] == "1 of 41 dates (day) replaced, 3 of 121 rows"
    _same(warehouse, root / "current" / DB_NAME)
    assert _same_file(root, "three", "four", "daily/2025", "daily/undated")
    assert not _same_file(root, "three", "four", "daily/2026")
    assert _parquet(root, "four", "daily") == {"2025": 36, "2026": 83, "undated": 2}
    _parquet_is_live(warehouse, root, "four", "daily")


# a process that opens a published file read-only, says so, and reads it when told
READER = """
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
print("open", flush=True)
sys.stdin.readline()
print(con.execute("SELECT count(*), sum(value) FROM marts.daily").fetchone(), flush=True)
"""


def test_a_new_version_reuses_the_file_of_the_version_it_retires(tmp_path):
    """With two versions kept, the third publish retires the first: it moves the first's
    DuckDB file into the new version and writes what differs from it (two publishes' worth
    of changes) instead of copying the current file. A reader in another process holding
    the retiring file open keeps it as it was: the publish copies the current file then."""
    import subprocess
    import sys

    from orchestration.lib.publish import DB_NAME, publish_marts

    warehouse, root = tmp_path / "w.duckdb", tmp_path / "published"
    _live(warehouse).close()
    assert publish_marts(warehouse, root, "one", date_columns=DATES)["reused_retired_file"] is False
    _change(warehouse, "UPDATE marts.daily SET value = -1 WHERE day = DATE '2026-01-05'")
    two = publish_marts(warehouse, root, "two", date_columns=DATES)
    assert two["started_from"] == "v-one" and two["reused_retired_file"] is False
    two_bytes = (root / "v-two" / DB_NAME).read_bytes()
    with duckdb.connect(str(warehouse), read_only=True) as con:
        two_daily = con.execute("SELECT count(*), sum(value) FROM marts.daily").fetchone()
    _change(warehouse, "DELETE FROM marts.daily WHERE day = DATE '2026-01-07'")
    three = publish_marts(warehouse, root, "three", date_columns=DATES)
    assert three["started_from"] == "v-one" and three["reused_retired_file"] is True
    # what v-one held differs from the live marts on both changed dates: 3 rows on the 5th
    # (updated), none now on the 7th (3 deleted)
    assert three["changes"]["daily"] == "2 of 40 dates (day) replaced, 3 of 118 rows"
    _same(warehouse, root / "current" / DB_NAME)
    _parquet_is_live(warehouse, root, "three", "daily")
    assert sorted(p.name for p in root.glob("v-*")) == ["v-three", "v-two"]
    assert (root / "v-two" / DB_NAME).read_bytes() == two_bytes  # the kept one: untouched

    # a reader holds v-two, the version the next publish retires
    reader = subprocess.Popen([sys.executable, "-c", READER, str(root / "v-two" / DB_NAME)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert reader.stdout.readline().strip() == "open"
        _change(warehouse, "UPDATE marts.daily SET value = value + 100")
        four = publish_marts(warehouse, root, "four", date_columns=DATES)
        assert four["started_from"] == "v-three" and four["reused_retired_file"] is False
        _same(warehouse, root / "current" / DB_NAME)
        out, _ = reader.communicate("go\n", timeout=60)
    finally:
        reader.kill()
    assert out.strip() == str(two_daily)  # the reader read v-two as it was published
    assert sorted(p.name for p in root.glob("v-*")) == ["v-four", "v-three"]


def test_a_retired_version_older_than_a_whole_rebuild_is_not_reused(tmp_path):
    """A version retired one publish after a build that rewrote every row would make the new
    version hash every row again; the current version needs only the day's rows, so the
    publish copies it instead. Once both would hash alike, the retired file is reused."""
    from orchestration.lib.publish import DB_NAME, publish_marts

    warehouse, root = tmp_path / "w.duckdb", tmp_path / "published"
    _live(warehouse).close()
    _rewrote(warehouse, "daily", None)
    publish_marts(warehouse, root, "one", date_columns=DATES)
    _rewrote(warehouse, "daily", "2026-01-15")
    publish_marts(warehouse, root, "two", date_columns=DATES)
    # the rebuild after an upgrade: every row rewritten
    _change(warehouse, "UPDATE marts.daily SET value = value * 2")
    _rewrote(warehouse, "daily", None)
    three = publish_marts(warehouse, root, "three", date_columns=DATES)
    assert three["reused_retired_file"] is True  # from v-one or v-two: every row either way
    _same(warehouse, root / "current" / DB_NAME)
    # the next day: from v-two every row would be hashed again, from v-three only the day's
    _change(warehouse, "UPDATE marts.daily SET value = 0 WHERE day = DATE '2026-01-25'")
    _rewrote(warehouse, "daily", "2026-01-25")
    four = publish_marts(warehouse, root, "four", date_columns=DATES)
    assert four["reused_retired_file"] is False and four["started_from"] == "v-three"
    assert four["changes"]["daily"] == "1 of 41 dates (day) replaced, 3 of 121 rows"
    _same(warehouse, root / "current" / DB_NAME)
    # a day later both v-three and v-four need only the rows from their records on
    _change(warehouse, "UPDATE marts.daily SET value = 1 WHERE day = DATE '2026-01-26'")
    _rewrote(warehouse, "daily", "2026-01-26")
    five = publish_marts(warehouse, root, "five", date_columns=DATES)
    assert five["reused_retired_file"] is True and five["started_from"] == "v-three"
    assert five["changes"]["daily"] == "2 of 41 dates (day) replaced, 6 of 121 rows"
    _same(warehouse, root / "current" / DB_NAME)
    assert sorted(p.name for p in root.glob("v-*")) == ["v-five", "v-four"]


def _rewrites(warehouse) -> list[dict]:
    """ops.mart_rewrites per dbt invocation, in order: {mart: rewritten_from}."""
    with duckdb.connect(str(warehouse), read_only=True) as live:
        rows = live.execute("SELECT invocation_id, mart, rewritten_from FROM "
                            "ops.mart_rewrites ORDER BY id").fetchall()
    builds: dict[str, dict] = {}
    for invocation, mart, first in rows:
        builds.setdefault(invocation, {})[mart] = first
    return list(builds.values())


def test_a_view_built_alone_records_every_row(tmp_path, demo_build, demo_copy):
    """fct_drawdowns_daily built by hand without int_running_peaks (its SQL may have
    changed): it cannot tell which rows changed, so it records every row (null)."""
    import subprocess

    from orchestration.settings import dbt_executable

    first, warehouse = demo_build.first, demo_copy  # a copy of the session's demo build
    assert first.success
    dbt_dir = Path(__file__).resolve().parent.parent / "dbt_project"
    out = subprocess.run(
        [str(dbt_executable()), "run", "--select", "fct_drawdowns_daily", "--profiles-dir",
         ".", "--target-path", str(tmp_path / "target")],
        cwd=dbt_dir, capture_output=True, text=True, timeout=300,
        env={**os.environ, "LOCKSTEP_WAREHOUSE": str(warehouse)})
    assert out.returncode == 0, out.stdout[-2000:]
    assert _rewrites(warehouse)[-1] == {"fct_drawdowns_daily": None}


def _rewrote(warehouse, mart: str, from_day: str | None) -> None:
    """What dbt's post-hook records after a build (macro record_rewritten_rows)."""
    with duckdb.connect(str(warehouse)) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS ops")
        con.execute("CREATE TABLE IF NOT EXISTS ops.mart_rewrites (id BIGINT PRIMARY KEY, "
                    "mart VARCHAR NOT NULL, rewritten_at TIMESTAMP NOT NULL, "
                    "rewritten_from DATE)")
        con.execute("INSERT INTO ops.mart_rewrites SELECT coalesce(max(id), 0) + 1, ?, "
                    "now()::TIMESTAMP, ?::DATE FROM ops.mart_rewrites", [mart, from_day])


def _change(warehouse, sql: str) -> None:
    with duckdb.connect(str(warehouse)) as con:
        con.execute(sql)


def test_only_the_rows_a_build_rewrote_are_hashed(tmp_path, monkeypatch):
    from orchestration.lib import publish
    from orchestration.lib.publish import DB_NAME, publish_marts

    monkeypatch.setattr(publish, "KEEP_VERSIONS", 10)  # each starts from the one before
    warehouse, root = tmp_path / "w.duckdb", tmp_path / "published"
    _live(warehouse).close()
    _rewrote(warehouse, "daily", None)  # its first build: every row
    one = publish_marts(warehouse, root, "one", date_columns=DATES)
    assert one["rewrites_seen"][0] == 1
    # a build rewrote the rows from 2026-01-15 on; one of its dates changed
    _change(warehouse, "UPDATE marts.daily SET value = -1 WHERE day = DATE '2026-01-20'")
    _rewrote(warehouse, "daily", "2026-01-15")
    two = publish_marts(warehouse, root, "two", date_columns=DATES)
    assert two["changes"]["daily"] == "1 of 41 dates (day) replaced, 3 of 121 rows"
    assert two["rewrites_seen"][0] == 2
    _same(warehouse, root / "current" / DB_NAME)
    # a value before the recorded date changes behind dbt's back (same row count): it is
    # not hashed, so the copy keeps the old value -- what "only what a build rewrote" means
    _change(warehouse, "UPDATE marts.daily SET value = -2 WHERE day = DATE '2025-12-25'")
    _rewrote(warehouse, "daily", "2026-01-25")
    three = publish_marts(warehouse, root, "three", date_columns=DATES)
    assert three["changes"]["daily"] == "unchanged"
    with pytest.raises(AssertionError):
        _same(warehouse, root / "current" / DB_NAME)
    # a row deleted before it changes that date's count: that date is hashed and replaced;
    # no build since the last publish: still only the counts are read
    _change(warehouse, "DELETE FROM marts.daily WHERE day = DATE '2025-12-22' AND symbol = 0")
    four = publish_marts(warehouse, root, "four", date_columns=DATES)
    assert four["changes"]["daily"] == "1 of 41 dates (day) replaced, 2 of 120 rows"
    # a build that rewrote every row (null): every date is hashed, the 2025-12-25 change too
    _rewrote(warehouse, "daily", "2026-01-25")
    _rewrote(warehouse, "daily", None)
    five = publish_marts(warehouse, root, "five", date_columns=DATES)
    assert five["changes"]["daily"] == "1 of 41 dates (day) replaced, 3 of 120 rows"
    _same(warehouse, root / "current" / DB_NAME)
    # a warehouse whose records start over (replaced, or records reset): every row is hashed
    _change(warehouse, "DELETE FROM ops.mart_rewrites")
    _change(warehouse, "UPDATE marts.daily SET value = -3 WHERE day = DATE '2025-12-26'")
    _rewrote(warehouse, "daily", "2026-01-25")
    six = publish_marts(warehouse, root, "six", date_columns=DATES)
    assert six["changes"]["daily"] == "1 of 41 dates (day) replaced, 3 of 120 rows"
    assert six["rewrites_seen"][0] == 1
    _same(warehouse, root / "current" / DB_NAME)


def _parquet(root, version, mart):
    """Rows per Parquet file of a published mart, by file name (no extension)."""
    folder = root / f"v-{version}" / "parquet" / mart
    return {f.stem: duckdb.sql(f"SELECT count(*) FROM '{f}'").fetchall()[0][0]
            for f in sorted(folder.iterdir())}


def _parquet_is_live(warehouse, root, version, mart):
    """The version's Parquet files of a mart hold the live mart's rows, no more, no fewer."""
    files = str(root / f"v-{version}" / "parquet" / mart / "*.parquet")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for a, b in ((f"marts.{mart}", f"read_parquet('{files}')"),
                     (f"read_parquet('{files}')", f"marts.{mart}")):
            assert con.execute(f"SELECT count(*) FROM (SELECT * FROM {a} EXCEPT ALL "
                               f"SELECT * FROM {b})").fetchone() == (0,), (version, mart)


def _same_file(root, one, two, *parts):
    """Whether the two versions' Parquet files of each mart/part are one file (hard-linked)."""
    inode = {v: [(root / f"v-{v}" / "parquet" / f"{p}.parquet").stat().st_ino for p in parts]
             for v in (one, two)}
    return inode[one] == inode[two]
