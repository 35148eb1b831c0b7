"""Helpers for validating normalised frames before they reach the warehouse (each source's
`validation.py` says what is wrong with its rows).

A row that fails is quarantined (orchestration/lib/quarantine.py, raw.quarantined_rows):
with its symbol or series, date, the column at fault, the value and the reason; the other
rows of its symbol or series load. Where rows are ambiguous (two rows for one date), every
one of them is quarantined, and the reason says so.
"""

from __future__ import annotations

import pandas as pd

# what a quarantined row records besides the table, the source and the times
# (raw.quarantined_rows; `line` only for the files source, and the file added there)
REJECTED_COLUMNS = ["symbol_or_series", "date", "line", "column_name", "raw_value", "reason"]


def cell_text(value) -> str | None:
    """A stored value as the quarantine shows it: 2595.0 -> '2595.0', inf -> 'inf'."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float):
        return None if value != value else repr(value)
    return str(value)


def empty_rejected() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in REJECTED_COLUMNS})


def rejected_rows(frame: pd.DataFrame, key: str,
                  checks: list[tuple[pd.Series, str, str]]) -> pd.DataFrame:
    """The rows of `frame` that fail a check, indexed like `frame`, in REJECTED_COLUMNS.
    `checks`: (mask over the whole frame, the column at fault, the reason: what the value
    *is*, e.g. "not positive"). A row failing several checks is named by the first. The
    masks are computed once over every row, not per symbol: each computation has a fixed
    cost, which thousands of symbols would pay thousands of times."""
    taken = pd.Series(False, index=frame.index)
    pieces = []
    for mask, column, reason in checks:
        hit = mask.fillna(False).astype(bool) & ~taken
        if not hit.any():
            continue
        taken |= hit
        rows = frame[hit]
        pieces.append(pd.DataFrame({
            "symbol_or_series": rows[key],
            "date": rows["date"],
            "line": rows["line"] if "line" in rows else None,
            "column_name": column,
            "raw_value": [cell_text(v) for v in rows[column]],
            "reason": reason,
        }, index=rows.index))
    if not pieces:
        return empty_rejected()
    return pd.concat(pieces)[REJECTED_COLUMNS].sort_index()


def duplicates(frame: pd.DataFrame, key: str) -> list[tuple[pd.Series, str, str]]:
    """Checks for rows that share their key and date with another: every such row is
    withheld, since which one is right cannot be told ("one of 2 rows for this date")."""
    dup = frame.duplicated([key, "date"], keep=False)
    if not dup.any():
        return []
    counts = frame[dup].groupby([key, "date"])[key].transform("size")
    return [(dup & (counts.reindex(frame.index) == n),
             "date", f"one of {n:,} rows for this date (ambiguous: none of them is stored)")
            for n in sorted(set(counts))]
