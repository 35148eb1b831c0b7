"""Quarantine: the rows a source delivered that cannot be stored, kept beside the good ones.

A row that fails validation -- a cell that is not a number or a date, a price that is not
positive or not finite, a date in the future, two rows for one date -- is written to
raw.quarantined_rows (which table it was for, its symbol or series, its date if it can be
read, the source, the file and line for the files source, the column, the value as the
source gave it, the reason) in the transaction that stores the good rows of the same load.
The symbol's or series' other rows load as usual.

A quarantined row stays open -- the instrument is flagged in the snapshot and the brief, the
`*_no_quarantined_rows` warning fails, and one alert announced it -- until a later load
resolves it:

    replaced   a good row for its symbol (series) and date was stored by a later load
    confirmed  a later load read the source again over its date (the files source: the
               whole file; live: the dates fetched) and the bad row is no longer there, and
               no good row came for its date either: the source says the date has no row

Its `applies_from` is the first date whose figures lack it: its date, or null (every date)
when the date cannot be read or lies in the future. The brief names it from then on
(marts.mart_daily_brief), and a change to it makes the next build recompute the brief from
then (orchestration/lib/incremental.py).

A load that sees the same bad row again (same table, symbol, date, column, value and reason)
keeps it open and updates where it was seen (file, line, last_seen_at); it is never
announced twice. What a load did not read again (the files source's unchanged files, the
lines before an appended tail; live dates outside the fetched window) stays as it was.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

TABLE = "raw.quarantined_rows"
DDL = [
    f"""
    CREATE TABLE IF NOT EXISTS {TABLE} (
        raw_table        VARCHAR   NOT NULL,
        symbol_or_series VARCHAR   NOT NULL,
        date             DATE,
        source           VARCHAR   NOT NULL,
        file             VARCHAR,
        line             INTEGER,
        column_name      VARCHAR,
        raw_value        VARCHAR,
        reason           VARCHAR   NOT NULL,
        applies_from     DATE,
        row_key          VARCHAR   NOT NULL,
        quarantined_at   TIMESTAMP NOT NULL,
        last_seen_at     TIMESTAMP NOT NULL,
        resolved_at      TIMESTAMP,
        resolution       VARCHAR   CHECK (resolution IN ('replaced', 'confirmed')),
        CHECK ((resolved_at IS NULL) = (resolution IS NULL))
    )
    """,
]

# lib/validation.py's REJECTED_COLUMNS, the file and the row's identity (not imported from
# there: this module is imported where the code location loads, without pandas)
FOUND_COLUMNS = ["symbol_or_series", "date", "line", "column_name", "raw_value", "reason",
                 "file", "row_key"]


def identify(raw_table: str, rejected: pd.DataFrame) -> pd.DataFrame:
    """`rejected` (REJECTED_COLUMNS, plus `file`) with each row's identity, `row_key`: the
    table, symbol, date, column, value and reason, and which of identical rows it is (by
    line), so the same bad row seen again is recognised wherever its line moved."""
    import pandas as pd

    frame = rejected.copy()
    if "file" not in frame:
        frame["file"] = None
    frame = frame.sort_values(["symbol_or_series", "line"], na_position="last", kind="stable")
    parts = pd.DataFrame({
        "table": raw_table,
        "name": frame["symbol_or_series"].astype(str),
        "date": [str(d) if d is not None and d == d else "" for d in frame["date"]],
        "column": frame["column_name"].fillna("").astype(str),
        "value": frame["raw_value"].fillna("\0").astype(str),
        "reason": frame["reason"].astype(str),
    }, index=frame.index)
    base = parts.agg("|".join, axis=1) if len(parts) else pd.Series(dtype=str)
    occurrence = base.groupby(base).cumcount() if len(parts) else base
    frame["row_key"] = [hashlib.sha256(f"{b}|{n}".encode()).hexdigest()[:20]
                        for b, n in zip(base, occurrence, strict=True)]
    return frame[FOUND_COLUMNS].reset_index(drop=True)


def store(con: duckdb.DuckDBPyConnection, raw_table: str, key: str, found: pd.DataFrame,
          good: pd.DataFrame, reread: dict[str, tuple[date | None, date | None]],
          source: str, at: datetime) -> pd.DataFrame:
    """Record this load's bad rows (`found`, from `identify`) and resolve what it settles,
    inside the caller's transaction. `good`: the rows stored by this load (column `key` and
    `date`); `reread`: per symbol or series, the dates this load read again whole (None: no
    bound). Returns the rows quarantined for the first time (for the alert), with what the
    raw table keeps for their key and date (`with_kept`)."""
    import pandas as pd

    con.register("lockstep_found_df", found)
    try:
        con.execute(
            f"""
            UPDATE {TABLE} AS q
            SET last_seen_at = $at, file = f.file, line = f.line, source = $source
            FROM lockstep_found_df AS f
            WHERE q.row_key = f.row_key AND q.raw_table = $table AND q.resolved_at IS NULL
            """, {"at": at, "source": source, "table": raw_table})
        new = con.execute(
            f"""
            SELECT f.* FROM lockstep_found_df AS f
            ANTI JOIN (SELECT row_key FROM {TABLE}
                       WHERE raw_table = $table AND resolved_at IS NULL) AS q USING (row_key)
            """, {"table": raw_table}).df()
        con.execute(
            f"""
            INSERT INTO {TABLE} (raw_table, symbol_or_series, date, source, file, line,
                                 column_name, raw_value, reason, applies_from, row_key,
                                 quarantined_at, last_seen_at)
            SELECT $table, f.symbol_or_series, CAST(f.date AS DATE), $source, f.file,
                   CAST(f.line AS INTEGER), f.column_name, f.raw_value, f.reason,
                   CASE WHEN CAST(f.date AS DATE) <= CAST($at AS DATE) + 1
                        THEN CAST(f.date AS DATE) END,
                   f.row_key, $at, $at
            FROM lockstep_found_df AS f
            ANTI JOIN (SELECT row_key FROM {TABLE}
                       WHERE raw_table = $table AND resolved_at IS NULL) AS q USING (row_key)
            """, {"table": raw_table, "source": source, "at": at})
    finally:
        con.unregister("lockstep_found_df")
    _resolve(con, raw_table, key, good, reread, at)
    if not len(new):
        return pd.DataFrame(columns=[*FOUND_COLUMNS, "kept_column", "kept_value"])
    new["date"] = [d.date() if isinstance(d, pd.Timestamp) else None for d in new["date"]]
    return with_kept(con, raw_table, new)


def _resolve(con, raw_table: str, key: str, good: pd.DataFrame,
             reread: dict[str, tuple[date | None, date | None]], at: datetime) -> None:
    """Open rows this load did not see again: replaced where a good row for their date was
    stored, confirmed where the load read their dates again whole."""
    import pandas as pd

    waiting = con.execute(
        f"SELECT count(*) FROM {TABLE} WHERE raw_table = ? AND resolved_at IS NULL "
        f"AND last_seen_at < ?", [raw_table, at]).fetchall()[0][0]
    if not waiting:  # the usual case: nothing open, nothing to look up among the good rows
        return
    windows = pd.DataFrame([(name, first, last) for name, (first, last) in reread.items()],
                           columns=["name", "first", "last"]).astype(
        {"name": "object", "first": "object", "last": "object"})
    con.register("lockstep_good_df", good[[key, "date"]])
    con.register("lockstep_reread_df", windows)
    try:
        con.execute(
            f"""
            UPDATE {TABLE} AS q
            SET resolved_at = $at,
                resolution = CASE WHEN q.date IS NOT NULL AND EXISTS (
                    SELECT 1 FROM lockstep_good_df AS g
                    WHERE g.{key} = q.symbol_or_series AND CAST(g.date AS DATE) = q.date)
                    THEN 'replaced' ELSE 'confirmed' END
            WHERE q.raw_table = $table AND q.resolved_at IS NULL AND q.last_seen_at < $at
              AND ((q.date IS NOT NULL AND EXISTS (
                        SELECT 1 FROM lockstep_good_df AS g
                        WHERE g.{key} = q.symbol_or_series AND CAST(g.date AS DATE) = q.date))
                   OR EXISTS (
                        SELECT 1 FROM lockstep_reread_df AS r
                        WHERE r.name = q.symbol_or_series
                          AND (CASE WHEN q.date IS NULL
                                    THEN r.first IS NULL AND r.last IS NULL
                                    ELSE (r.first IS NULL OR q.date >= CAST(r.first AS DATE))
                                     AND (r.last IS NULL OR q.date <= CAST(r.last AS DATE))
                               END)))
            """, {"at": at, "table": raw_table})
    finally:
        con.unregister("lockstep_good_df")
        con.unregister("lockstep_reread_df")


# per raw table: its key column and the column a kept row is named by (its close, value)
STORED = {"raw.market_prices": ("symbol", "close"),
          "raw.fred_observations": ("series_id", "value")}


def stored_join(raw_table: str, q: str = "q") -> tuple[str, str]:
    """SQL for what raw `raw_table` holds for the key and date of the quarantined rows
    aliased `q`: (the select list `kept_column, kept_value`, the LEFT JOIN clause)."""
    key, column = STORED[raw_table]
    return (f"'{column}' AS kept_column, k.{column} AS kept_value",
            f"LEFT JOIN {raw_table} AS k ON k.{key} = {q}.symbol_or_series "
            f"AND k.date = CAST({q}.date AS DATE)")


def with_kept(con: duckdb.DuckDBPyConnection, raw_table: str,
              found: pd.DataFrame) -> pd.DataFrame:
    """`found` (FOUND_COLUMNS) with what raw `raw_table` holds for each row's key and date
    (kept_column, kept_value; null: no row stored), in `found`'s order."""
    select, join = stored_join(raw_table, "f")
    con.register("lockstep_kept_df", found.reset_index(drop=True).assign(
        lockstep_order=range(len(found))))
    try:
        frame = con.execute(f"SELECT f.*, {select} FROM lockstep_kept_df AS f {join} "
                            f"ORDER BY f.lockstep_order").df()
    finally:
        con.unregister("lockstep_kept_df")
    frame["date"] = found["date"].reset_index(drop=True)  # as given (dates or None)
    return frame.drop(columns="lockstep_order")


def kept_words(column: str | None, value: float | None) -> str:
    """What became of the stored row of a quarantined row's key and date, in words: "the
    row stored earlier (close 88,430.13) is kept", or "" when there is none."""
    if column is None or value is None or value != value:
        return ""
    number = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"
    return f"the row stored earlier ({column} {number}) is kept"


def describe(row) -> str:
    """One quarantined row in words: "2025-12-29 close 'abc' is not a number (market/
    BTC_USD.csv line 4012)"; with "; the row stored earlier (close 88,430.13) is kept" or
    "; no row of that date is stored" when `row` says what is stored (kept_column,
    kept_value: `with_kept`, `stored_join`)."""
    when = str(row["date"]) if row["date"] is not None and row["date"] == row["date"] \
        else "a row with no readable date"
    column = row["column_name"] or "row"  # no column: a line that is not a row of the file
    what = f"{column} {row['raw_value']!r}" if row["raw_value"] is not None else column
    line, file = row.get("line"), row.get("file")
    where = (f" ({file}" + (f" line {int(line)}" if line is not None and line == line
                            else "") + ")") if isinstance(file, str) else ""
    said = f"{when}: {what} is {row['reason']}{where}"
    if "kept_column" not in row:
        return said
    kept = kept_words(row["kept_column"], row["kept_value"])
    return f"{said}; " + (kept or "no row of that date is stored")
