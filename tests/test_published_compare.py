"""The comparison the Spark tests rest on (tests/published_compare.py), on hand-made copies:
what it must find, and what it must let pass."""

from pathlib import Path

import duckdb
import pytest

from tests.published_compare import compare_published

ROWS = [("2024-01-02", "BTC-USD", 1.0, None), ("2024-01-02", "^RUT", 2.5, 7),
        ("2024-01-03", "^RUT", float("nan"), 7), ("2024-01-03", "^RUT", float("nan"), 7)]


def _copy(path: Path, rows, extra_table: bool = False, columns: str = "v DOUBLE",
          built: str = "2026-12-05 06:00") -> Path:
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA marts")
        con.execute(f"CREATE TABLE marts.t (d DATE, s VARCHAR, {columns}, n INTEGER, "
                    "built_at TIMESTAMP)")
        for d, s, v, n in rows:
            con.execute("INSERT INTO marts.t VALUES (?, ?, ?, ?, ?)", [d, s, v, n, built])
        if extra_table:
            con.execute("CREATE TABLE marts.u (x INTEGER)")
    return path


@pytest.fixture
def expected(tmp_path):
    return _copy(tmp_path / "e.duckdb", ROWS)


def test_the_same_rows_in_another_order_within_the_tolerance_are_equal(expected, tmp_path):
    rows = [ROWS[3], (ROWS[1][0], ROWS[1][1], 2.5 + 1e-12, 7), ROWS[0], ROWS[2]]
    assert compare_published(expected, _copy(tmp_path / "a.duckdb", rows)) == []


@pytest.mark.parametrize("change, found", [
    ((1, 2, 2.5 + 1e-6), "first differing row, columns ['\"v\"']"),  # beyond 1e-9
    ((0, 3, 0), "first differing row, columns ['\"n\"']"),  # NULL is not 0
    ((1, 3, None), "first differing row, columns ['\"n\"']"),  # nor 7 NULL
    ((2, 2, 1.0), "first differing row, columns ['\"v\"']"),  # NaN is not a number
])
def test_a_value_beyond_the_tolerance_or_a_null_moved_is_named(expected, tmp_path, change,
                                                               found):
    row, column, value = change
    rows = [list(r) for r in ROWS]
    rows[row][column] = value
    problems = compare_published(expected, _copy(tmp_path / "a.duckdb", rows))
    assert len(problems) == 1 and problems[0].startswith("marts.t: " + found), problems


def test_a_row_twice_instead_of_another_is_a_difference(expected, tmp_path):
    rows = [ROWS[0], ROWS[0], ROWS[2], ROWS[3]]  # same count, not the same multiset
    [problem] = compare_published(expected, _copy(tmp_path / "a.duckdb", rows))
    # ^RUT's 2024-01-02 row is missing, a second BTC-USD row is there instead
    assert problem == ("marts.t: first differing row, columns ['\"s\"', '\"v\"', '\"n\"']: "
                       "(datetime.date(2024, 1, 2), '^RUT', 2.5, 7) vs "
                       "(datetime.date(2024, 1, 2), 'BTC-USD', 1.0, None)")


def test_minus_zero_is_zero_and_nan_is_not_null(tmp_path):
    expected = _copy(tmp_path / "e.duckdb", [("2024-01-02", "x", 0.0, 1),
                                             ("2024-01-03", "x", float("nan"), 1)])
    same = _copy(tmp_path / "a.duckdb", [("2024-01-02", "x", -0.0, 1),
                                         ("2024-01-03", "x", float("nan"), 1)])
    assert compare_published(expected, same) == []
    null = _copy(tmp_path / "b.duckdb", [("2024-01-02", "x", 0.0, 1),
                                         ("2024-01-03", "x", None, 1)])
    [problem] = compare_published(expected, null)
    assert problem.startswith("marts.t: first differing row, columns ['\"v\"']")


def test_counts_tables_and_types_are_checked_and_volatile_columns_are_not(expected,
                                                                          tmp_path):
    assert compare_published(expected, _copy(tmp_path / "a.duckdb", ROWS[:3])) == [
        "marts.t: 4 rows vs 3"]
    [problem] = compare_published(expected, _copy(tmp_path / "b.duckdb", ROWS,
                                                  extra_table=True))
    assert problem.startswith("tables only in expected: []; only in actual: ['marts.u']")
    [problem] = compare_published(expected, _copy(tmp_path / "c.duckdb", ROWS,
                                                  columns="v FLOAT"))
    assert problem.startswith("marts.t: columns differ")
    # built_at differs and is left out; a skipped table is not read
    assert compare_published(expected, _copy(tmp_path / "d.duckdb", ROWS, extra_table=True,
                                             built="2026-12-06 06:00"),
                             skip_tables={"marts.u"}) == []
