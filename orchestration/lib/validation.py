"""Validate normalised frames before they reach the warehouse.

Each problem names the symbol/series, the date and what is wrong. A symbol or series with
a problem is held back whole (nothing of it is written); the others still load.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

MAX_LISTED = 3


def _first_dates(frame: pd.DataFrame, mask: pd.Series) -> str:
    dates = sorted({str(d) for d in frame.loc[mask, "date"]})
    more = f" and {len(dates) - MAX_LISTED} more" if len(dates) > MAX_LISTED else ""
    return ", ".join(dates[:MAX_LISTED]) + more


def _problems(frame: pd.DataFrame, checks: list[tuple[pd.Series, str]]) -> list[str]:
    return [f"{what} on {_first_dates(frame, mask)}" for mask, what in checks if mask.any()]


def market_problems(frame: pd.DataFrame, today: date | None = None) -> dict[str, str]:
    """{symbol: '; '-joined problems} for every symbol whose rows cannot be stored."""
    today = today or date.today()
    out: dict[str, str] = {}
    for symbol, rows in frame.groupby("symbol", sort=True):
        rows = rows.reset_index(drop=True)
        checks: list[tuple[pd.Series, str]] = [
            (rows["date"].isna(), "missing date"),
            (rows.duplicated(["date"], keep=False), "duplicate rows for one date"),
            (~np.isfinite(rows["close"].astype(float)) | (rows["close"] <= 0),
             "close missing, non-finite or not positive"),
        ]
        for column in ("open", "high", "low", "adj_close"):
            values = rows[column].astype(float)
            checks.append(((values <= 0) | np.isinf(values), f"{column} not positive"))
        checks.append((rows["volume"].astype("Float64").fillna(0) < 0, "negative volume"))
        checks.append((pd.to_datetime(rows["date"]).dt.date > today + timedelta(days=1),
                       "date in the future"))
        problems = _problems(rows, checks)
        if problems:
            out[str(symbol)] = "; ".join(problems)
    return out


def fred_problems(frame: pd.DataFrame) -> dict[str, str]:
    out: dict[str, str] = {}
    for series_id, rows in frame.groupby("series_id", sort=True):
        rows = rows.reset_index(drop=True)
        checks = [
            (rows["date"].isna(), "missing date"),
            (rows.duplicated(["date"], keep=False), "duplicate rows for one date"),
            (~np.isfinite(rows["value"].astype(float)), "value not a finite number"),
        ]
        problems = _problems(rows, checks)
        if problems:
            out[str(series_id)] = "; ".join(problems)
    return out
