"""Two published copies compared table by table (the Spark engine's against DuckDB's, or one
build against another): the same tables, columns and types, the same rows, NULLs where
NULLs, floats within a tolerance. Returns the differences in words ([] when equal).

Rows are matched as multisets: DuckDB first pairs the rows that are identical (EXCEPT ALL,
NULL matching NULL), then the rest, the rows that differ somewhere, are sorted and compared
value by value in Python with the tolerance. Only those few rows reach Python, so the real
history's tables compare in seconds, not the minute it took to sort every row in Python.
Two consequences, neither met by the marts (their rows have distinct keys, their text no
collation): rows identical under a column's collation pair up (compare `COLLATE NOCASE`
columns with care), and an identical pair is never re-paired, so several rows of one key
each about the tolerance apart can be reported though another pairing would pass."""

from __future__ import annotations

import math
from pathlib import Path

import duckdb

# the rows of a table that depend on when it was built, not on the data
VOLATILE_COLUMNS = {"built_at", "published_at", "computed_at", "rewritten_at"}


def _tables(con, catalog: str) -> list[str]:
    return [r[0] for r in con.execute(
        "SELECT schema_name || '.' || table_name FROM duckdb_tables() "
        "WHERE database_name = ? ORDER BY 1", [catalog]).fetchall()]


def _columns(con, catalog: str, table: str) -> list[tuple[str, str]]:
    schema, name = table.split(".")
    return con.execute("SELECT column_name, data_type FROM duckdb_columns() WHERE "
                       "database_name = ? AND schema_name = ? AND table_name = ? "
                       "ORDER BY column_index", [catalog, schema, name]).fetchall()


def _equal(a, b, tolerance: float) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return math.isclose(a, b, rel_tol=tolerance, abs_tol=tolerance)
    return a == b


def _key(row: tuple) -> tuple:
    """Sort key that puts None first and rounds floats, so rows that differ only within the
    tolerance sort the same."""
    return tuple((v is not None, round(v, 6) if isinstance(v, float) else
                  (v if v is not None else 0) if not isinstance(v, str) else v)
                 if not isinstance(v, (list, dict)) else (True, str(v)) for v in row)


def compare_published(expected: Path, actual: Path, tolerance: float = 1e-9,
                      skip_tables: set[str] = frozenset()) -> list[str]:
    problems: list[str] = []
    with duckdb.connect() as con:
        for path, alias in ((expected, "e"), (actual, "a")):
            quoted = str(path).replace("'", "''")
            con.execute(f"ATTACH '{quoted}' AS {alias} (READ_ONLY)")
        te, ta = set(_tables(con, "e")) - skip_tables, set(_tables(con, "a")) - skip_tables
        if te != ta:
            problems.append(f"tables only in expected: {sorted(te - ta)}; "
                            f"only in actual: {sorted(ta - te)}")
        for table in sorted(te & ta):
            ce, ca = _columns(con, "e", table), _columns(con, "a", table)
            if ce != ca:
                problems.append(f"{table}: columns differ: {ce} vs {ca}")
                continue
            names = [c for c, _ in ce if c not in VOLATILE_COLUMNS]
            kept = ", ".join(f'"{c}"' for c in names)
            [(ne,)] = con.execute(f"SELECT count(*) FROM e.{table}").fetchall()
            [(na,)] = con.execute(f"SELECT count(*) FROM a.{table}").fetchall()
            if ne != na:
                problems.append(f"{table}: {ne} rows vs {na}")
                continue
            # the rows each side has that the other has not (as many on each side, the
            # counts being equal): those differ somewhere, perhaps within the tolerance
            only_e = con.execute(f"SELECT {kept} FROM e.{table} EXCEPT ALL "
                                 f"SELECT {kept} FROM a.{table}").fetchall()
            only_a = con.execute(f"SELECT {kept} FROM a.{table} EXCEPT ALL "
                                 f"SELECT {kept} FROM e.{table}").fetchall()
            only_e.sort(key=_key)
            only_a.sort(key=_key)
            for row_e, row_a in zip(only_e, only_a, strict=True):
                bad = [f'"{c}"' for c, x, y in zip(names, row_e, row_a, strict=True)
                       if not _equal(x, y, tolerance)]
                if bad:
                    problems.append(f"{table}: first differing row, columns {bad}: "
                                    f"{row_e} vs {row_a}")
                    break
    return problems
