"""Helpers for validating normalised frames before they reach the warehouse (each source's
`validation.py` says what is wrong with its rows).

Each problem names the symbol/series, the date and what is wrong. A symbol or series with
a problem is held back whole (nothing of it is written); the others still load.
"""

from __future__ import annotations

import pandas as pd

MAX_LISTED = 3


def first_dates(frame: pd.DataFrame, mask: pd.Series) -> str:
    dates = sorted({str(d) for d in frame.loc[mask, "date"]})
    more = f" and {len(dates) - MAX_LISTED} more" if len(dates) > MAX_LISTED else ""
    return ", ".join(dates[:MAX_LISTED]) + more


def problems(frame: pd.DataFrame, checks: list[tuple[pd.Series, str]]) -> list[str]:
    return [f"{what} on {first_dates(frame, mask)}" for mask, what in checks if mask.any()]
