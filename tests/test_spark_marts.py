"""Spark's marts into the DuckDB warehouse (orchestration/lib/spark_marts.py), without
Java: Parquet laid out as Spark writes a year-partitioned table, copied with the contract's
types and the descriptions as comments, over a view the DuckDB engine left, and again over
the table the first copy made (every daily run after the first)."""

from datetime import date
from pathlib import Path

import duckdb

from orchestration.lib.spark_marts import mirror_marts, spark_table_dir

MANIFEST = {"nodes": {"model.lockstep.m": {
    "resource_type": "model", "name": "m", "alias": "m", "schema": "marts",
    "description": "What m is.\n",
    "columns": {"d": {"name": "d", "data_type": "date", "description": "The day."},
                "v": {"name": "v", "data_type": "bigint", "description": ""},
                "s": {"name": "s", "data_type": "string", "description": "It's text."}}}}}


def _spark_files(spark_dir: Path, rows: list[tuple]) -> None:
    table = spark_table_dir(spark_dir, "marts", "m")
    with duckdb.connect() as con:
        for year in sorted({d[:4] for d, _, _ in rows}):
            part = table / f"year={year}"
            part.mkdir(parents=True)
            values = ", ".join(f"(DATE '{d}', {v}, '{s}')" for d, v, s in rows if d[:4] == year)
            # Spark writes int as INT32 and leaves the partition column out of the files
            con.execute(f"COPY (SELECT * FROM (VALUES {values}) t(d, v, s)) "
                        f"TO '{part / 'part-00000.parquet'}' (FORMAT parquet)")
        staging = table / ".spark-staging-1"  # an unfinished job's files: not the table's
        staging.mkdir()
        con.execute(f"COPY (SELECT DATE '1999-01-01' AS d, 0 AS v, 'x' AS s) "
                    f"TO '{staging / 'part-00000.parquet'}' (FORMAT parquet)")


def test_the_copy_has_the_contract_types_comments_and_replaces_view_then_table(tmp_path):
    warehouse, spark = tmp_path / "w.duckdb", tmp_path / "spark"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("CREATE SCHEMA marts")
        con.execute("CREATE VIEW marts.m AS SELECT DATE '2000-01-01' AS d")
    _spark_files(spark, [("2023-05-01", 1, "a"), ("2024-01-02", 2, "b")])
    assert mirror_marts(warehouse, spark, MANIFEST, ["m", "not_a_mart"], "run-1") == ["m"]
    # the next run: the table is there now, and one year was rewritten
    (spark_table_dir(spark, "marts", "m") / "year=2024" / "part-00000.parquet").unlink()
    with duckdb.connect() as con:
        con.execute(f"COPY (SELECT DATE '2024-01-03' AS d, 3 AS v, NULL AS s) TO "
                    f"'{spark_table_dir(spark, 'marts', 'm') / 'year=2024' / 'p.parquet'}' "
                    f"(FORMAT parquet)")
    assert mirror_marts(warehouse, spark, MANIFEST, ["m"], "run-2") == ["m"]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("SELECT * FROM marts.m ORDER BY d").fetchall() == [
            (date(2023, 5, 1), 1, "a"), (date(2024, 1, 3), 3, None)]
        assert con.execute("SELECT column_name, data_type, comment FROM duckdb_columns() "
                           "WHERE table_name = 'm' ORDER BY column_index").fetchall() == [
            ("d", "DATE", "The day."), ("v", "BIGINT", ""), ("s", "VARCHAR", "It's text.")]
        assert con.execute("SELECT comment FROM duckdb_tables() WHERE table_name = 'm'"
                           ).fetchone() == ("What m is.\n",)
        # each copy is recorded as rewriting every row, for the publish step
        assert con.execute("SELECT mart, rewritten_from, invocation_id FROM ops.mart_rewrites "
                           "ORDER BY id").fetchall() == [("m", None, "run-1"),
                                                         ("m", None, "run-2")]
