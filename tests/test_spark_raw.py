"""The raw tables' Parquet export for the Spark engine (orchestration/lib/spark_raw.py):
every row arrives, a run rewrites only the years whose rows changed, and a partition is
swapped in whole (a failed write leaves the previous one in place). DuckDB only: no Java."""

from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from orchestration.lib import spark_raw
from orchestration.lib.spark_raw import export_raw


def _warehouse(path: Path) -> Path:
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA raw")
        con.execute("CREATE TABLE raw.market_prices (symbol VARCHAR, date DATE, close DOUBLE, "
                    "ingested_at TIMESTAMP)")
        con.execute("CREATE TABLE raw.instruments (symbol VARCHAR, name VARCHAR)")
        rows = [("A", date(y, m, 1), float(y + m), datetime(2025, 1, 1))
                for y in (2022, 2023, 2024) for m in (1, 6)]
        con.executemany("INSERT INTO raw.market_prices VALUES (?, ?, ?, ?)", rows)
        con.execute("INSERT INTO raw.instruments VALUES ('A', 'it''s A')")
    return path


def _read(root: Path, table: str) -> list[tuple]:
    """The rows a reader of the export sees (the partition column `year` left out)."""
    partitioned = any((root / table).glob("year=*"))
    files = f"{root / table}/{'*/' if partitioned else ''}*.parquet"
    with duckdb.connect() as con:
        return sorted(con.execute(
            f"SELECT * {'EXCLUDE (year)' if partitioned else ''} FROM read_parquet('{files}', "
            f"hive_partitioning = {str(partitioned).lower()})").fetchall())


def test_every_row_arrives_partitioned_by_year(tmp_path):
    warehouse = _warehouse(tmp_path / "w.duckdb")
    done = export_raw(warehouse, tmp_path / "raw")
    assert sorted(done.written["market_prices"]) == ["year=2022", "year=2023", "year=2024"]
    assert done.written["instruments"] == ["all"]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert _read(tmp_path / "raw", "market_prices") == sorted(
            con.execute("SELECT * FROM raw.market_prices").fetchall())
    assert _read(tmp_path / "raw", "instruments") == [("A", "it's A")]
    # each year's directory holds only that year's rows
    with duckdb.connect() as con:
        years = con.execute(f"SELECT DISTINCT year(date) FROM read_parquet("
                            f"'{tmp_path}/raw/market_prices/year=2023/*.parquet')").fetchall()
    assert years == [(2023,)]


def test_a_revision_rewrites_only_its_year(tmp_path):
    warehouse = _warehouse(tmp_path / "w.duckdb")
    root = tmp_path / "raw"
    export_raw(warehouse, root)
    before = {p.name: p.resolve() for p in (root / "market_prices").iterdir()}
    with duckdb.connect(str(warehouse)) as con:
        con.execute("UPDATE raw.market_prices SET close = 1.5 WHERE date = DATE '2023-06-01'")
        con.execute("INSERT INTO raw.market_prices VALUES "
                    "('A', DATE '2025-01-02', 9.0, TIMESTAMP '2025-01-03')")
    done = export_raw(warehouse, root)
    assert sorted(done.written["market_prices"]) == ["year=2023", "year=2025"]
    assert done.written["instruments"] == []
    after = {p.name: p.resolve() for p in (root / "market_prices").iterdir()}
    assert after["year=2022"] == before["year=2022"] and after["year=2024"] == before["year=2024"]
    assert after["year=2023"] != before["year=2023"]
    assert not before["year=2023"].exists()  # the replaced directory is removed
    assert (1.5 in [r[2] for r in _read(root, "market_prices")])
    # nothing changed: nothing rewritten
    again = export_raw(warehouse, root)
    assert sum(map(len, again.written.values())) == 0 and again.kept == 5  # 4 years, 1 instruments


def test_a_failed_write_leaves_the_previous_partition_in_place(tmp_path, monkeypatch):
    warehouse = _warehouse(tmp_path / "w.duckdb")
    root = tmp_path / "raw"
    export_raw(warehouse, root)
    before = _read(root, "market_prices")
    with duckdb.connect(str(warehouse)) as con:
        con.execute("UPDATE raw.market_prices SET close = 2.5 WHERE date = DATE '2024-01-01'")
    written = spark_raw._write

    def half_then_fail(con, table, date_column, partition, target):
        written(con, table, date_column, partition, target.with_name("half"))
        raise OSError("disk full")

    monkeypatch.setattr(spark_raw, "_write", half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        export_raw(warehouse, root)
    assert _read(root, "market_prices") == before
    monkeypatch.setattr(spark_raw, "_write", written)
    assert export_raw(warehouse, root).written["market_prices"] == ["year=2024"]
    assert 2.5 in [r[2] for r in _read(root, "market_prices")]
