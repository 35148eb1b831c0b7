"""Spark's marts into the DuckDB warehouse, so everything after dbt reads them as it reads
DuckDB's (LOCKSTEP_ENGINE=spark; docs/spark.md).

A Spark build writes each mart as a Parquet table under <spark dir>/warehouse/marts.db/.
After the build, `mirror_marts` copies the marts that built successfully into the DuckDB
warehouse's `marts` schema -- DuckDB reads Spark's Parquet files directly -- each column cast
to the type its dbt contract declares, with the model's and columns' descriptions as comments
(what dbt's persist_docs writes on DuckDB). The randomised test, the publish step (the
read-only DuckDB file, Parquet, brief.md), the brief, the alerts, the dashboard and the
Python asset checks then work unchanged; dbt's data tests ran on Spark, where the table is.

All marts are copied in one DuckDB transaction: a reader of the warehouse sees the previous
marts or the new ones. A mart whose Spark build failed is not copied (Spark's table may be
missing or partial); its previous copy stays. Each copy replaces the whole DuckDB table, so
it is recorded in ops.mart_rewrites as rewriting every row (rewritten_from null): the
publish step then compares all of its rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

# dbt's record of rewritten rows (macro record_rewritten_rows, DuckDB): the same table
REWRITES_DDL = """
    CREATE TABLE IF NOT EXISTS ops.mart_rewrites (
        id             BIGINT    PRIMARY KEY,
        mart           VARCHAR   NOT NULL,
        rewritten_at   TIMESTAMP NOT NULL,
        rewritten_from DATE,
        invocation_id  VARCHAR
    )
"""


def mart_nodes(manifest: Mapping[str, Any]) -> dict[str, dict]:
    """The dbt models of schema marts, by name."""
    return {n["name"]: n for n in manifest["nodes"].values()
            if n["resource_type"] == "model" and n["schema"] == "marts"}


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def spark_table_dir(spark_dir: Path, schema: str, name: str) -> Path:
    """Where Spark keeps a managed table's files (spark.sql.warehouse.dir/<schema>.db)."""
    return Path(spark_dir) / "warehouse" / f"{schema}.db" / name


def mirror_marts(warehouse: Path, spark_dir: Path, manifest: Mapping[str, Any],
                 built: Iterable[str], invocation_id: str | None = None) -> list[str]:
    """Copy the marts named in `built` from Spark's Parquet into `warehouse`; returns the
    names copied."""
    import duckdb

    nodes = mart_nodes(manifest)
    wanted = [name for name in sorted(set(built)) if name in nodes]
    copied = []
    with duckdb.connect(str(warehouse)) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS marts")
        con.execute("CREATE SCHEMA IF NOT EXISTS ops")
        con.execute(REWRITES_DDL)
        con.execute("BEGIN TRANSACTION")
        try:
            for name in wanted:
                _copy(con, nodes[name], spark_table_dir(spark_dir, "marts", nodes[name]["alias"]))
                con.execute(
                    "INSERT INTO ops.mart_rewrites SELECT coalesce(max(id), 0) + 1, ?, "
                    "CAST(now() AS TIMESTAMP), NULL, ? FROM ops.mart_rewrites",
                    [nodes[name]["alias"], invocation_id])
                copied.append(name)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    return copied


def _copy(con, node: Mapping[str, Any], directory: Path) -> None:
    name = node["alias"]
    columns = [(c["name"], c.get("data_type")) for c in node["columns"].values()]
    if not all(t for _, t in columns):
        raise ValueError(f"marts.{name}: every column needs a data_type in its YAML (its "
                         f"contract) to be copied from Spark")
    # a year-partitioned mart keeps its files in year=YYYY/ directories (the partition
    # column itself is not in the files, nor in the contract); Spark's staging directories
    # (dot- and underscore-named) are not the table's
    files = sorted(f for f in directory.rglob("*.parquet")
                   if not any(p.startswith((".", "_"))
                              for p in f.relative_to(directory).parts))
    # on DuckDB fct_drawdowns_daily is a view; DROP VIEW IF EXISTS fails on a table
    if con.execute("SELECT count(*) FROM duckdb_views() WHERE database_name = "
                   "current_database() AND schema_name = 'marts' AND view_name = ?",
                   [name]).fetchone()[0]:
        con.execute(f'DROP VIEW marts."{name}"')
    if files:
        select = ", ".join(f'CAST("{c}" AS {t}) AS "{c}"' for c, t in columns)
        con.execute(f'CREATE OR REPLACE TABLE marts."{name}" AS SELECT {select} '
                    f"FROM read_parquet({[str(f) for f in files]!r})")
    else:  # Spark writes no file for an empty table
        con.execute(f'CREATE OR REPLACE TABLE marts."{name}" ('
                    + ", ".join(f'"{c}" {t}' for c, t in columns) + ")")
    # as dbt-duckdb's persist_docs writes them: the table's description when it has one,
    # every column's description (empty ones too), verbatim
    if node.get("description"):
        con.execute(f'COMMENT ON TABLE marts."{name}" IS {_quote(node["description"])}')
    for column in node["columns"].values():
        con.execute(f'COMMENT ON COLUMN marts."{name}"."{column["name"]}" IS '
                    f'{_quote(column.get("description") or "")}')
