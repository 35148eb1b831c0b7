"""Validate FRED rows before they reach raw.fred_observations.

Each problem names the series, the date and what is wrong. A series with a problem is held
back whole (nothing of it is written); the others still load.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from orchestration.lib.validation import problems as _problems


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
