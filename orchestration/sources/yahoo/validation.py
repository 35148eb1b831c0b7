"""Validate market price rows before they reach raw.market_prices.

A row that cannot be stored is quarantined (raw.quarantined_rows) with the column at fault,
its value and why; the symbol's other rows load. Both rows of a duplicated date are
withheld: which one is right cannot be told.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

from orchestration.lib.validation import duplicates, rejected_rows

PRICES = ("open", "high", "low", "adj_close")


def market_rejects(frame: pd.DataFrame, today: date | None = None) -> pd.DataFrame:
    """The rows of `frame` that cannot be stored (lib/validation.py's REJECTED_COLUMNS,
    indexed like `frame`)."""
    today = today or date.today()
    close = frame["close"].astype(float)
    checks: list[tuple[pd.Series, str, str]] = [
        (frame["date"].isna(), "date", "missing"),
        *duplicates(frame, "symbol"),
        (close.isna(), "close", "missing"),
        (~np.isfinite(close) & close.notna(), "close", "not a finite number"),
        (close <= 0, "close", "not positive"),
    ]
    for column in PRICES:
        values = frame[column].astype(float)
        checks.append((np.isinf(values), column, "not a finite number"))
        checks.append((values <= 0, column, "not positive"))
    checks.append((frame["volume"].astype("Float64").fillna(0) < 0, "volume", "negative"))
    checks.append((pd.to_datetime(frame["date"]).dt.date > today + timedelta(days=1),
                   "date", "in the future"))
    return rejected_rows(frame, "symbol", checks)
