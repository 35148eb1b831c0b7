"""Validate market price rows before they reach raw.market_prices.

Each problem names the symbol, the date and what is wrong. A symbol with a problem is held
back whole (nothing of it is written); the others still load.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

from orchestration.lib.validation import problems_by


def market_problems(frame: pd.DataFrame, today: date | None = None) -> dict[str, str]:
    """{symbol: '; '-joined problems} for every symbol whose rows cannot be stored."""
    today = today or date.today()
    rows = frame.reset_index(drop=True)
    checks: list[tuple[pd.Series, str]] = [
        (rows["date"].isna(), "missing date"),
        (rows.duplicated(["symbol", "date"], keep=False), "duplicate rows for one date"),
        (~np.isfinite(rows["close"].astype(float)) | (rows["close"] <= 0),
         "close missing, non-finite or not positive"),
    ]
    for column in ("open", "high", "low", "adj_close"):
        values = rows[column].astype(float)
        checks.append(((values <= 0) | np.isinf(values), f"{column} not positive"))
    checks.append((rows["volume"].astype("Float64").fillna(0) < 0, "negative volume"))
    checks.append((pd.to_datetime(rows["date"]).dt.date > today + timedelta(days=1),
                   "date in the future"))
    return problems_by(rows, "symbol", checks)
