"""Two published copies compared table by table (the Spark engine's against DuckDB's, or one
build against another): the same tables, columns and types, the same rows, NULLs where
NULLs, floats within a tolerance. Returns the differences in words ([] when equal)."""

from __future__ import annotations

import math
from pathlib import Path

import duckdb

# the rows of a table that depend on when it was built, not on the data
VOLATILE_COLUMNS = {"built_at", "published_at", "computed_at", "rewritten_at"}


def _tables(con) -> list[str]:
    return [r[0] for r in con.execute(
        "SELECT schema_name || '.' || table_name FROM duckdb_tables() "
        "ORDER BY 1").fetchall()]


def _columns(con, table: str) -> list[tuple[str, str]]:
    schema, name = table.split(".")
    return con.execute("SELECT column_name, data_type FROM duckdb_columns() WHERE "
                       "schema_name = ? AND table_name = ? ORDER BY column_index",
                       [schema, name]).fetchall()


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
    with duckdb.connect(str(expected), read_only=True) as e, \
            duckdb.connect(str(actual), read_only=True) as a:
        te, ta = set(_tables(e)) - skip_tables, set(_tables(a)) - skip_tables
        if te != ta:
            problems.append(f"tables only in expected: {sorted(te - ta)}; "
                            f"only in actual: {sorted(ta - te)}")
        for table in sorted(te & ta):
            ce, ca = _columns(e, table), _columns(a, table)
            if ce != ca:
                problems.append(f"{table}: columns differ: {ce} vs {ca}")
                continue
            kept = [f'"{c}"' for c, _ in ce if c not in VOLATILE_COLUMNS]
            query = f"SELECT {', '.join(kept)} FROM {table}"
            re_, ra = e.execute(query).fetchall(), a.execute(query).fetchall()
            if len(re_) != len(ra):
                problems.append(f"{table}: {len(re_)} rows vs {len(ra)}")
                continue
            re_.sort(key=_key)
            ra.sort(key=_key)
            for row_e, row_a in zip(re_, ra, strict=True):
                bad = [c for c, x, y in zip(kept, row_e, row_a, strict=True)
                       if not _equal(x, y, tolerance)]
                if bad:
                    problems.append(f"{table}: first differing row, columns {bad}: "
                                    f"{row_e} vs {row_a}")
                    break
    return problems
