"""Validate FRED rows before they reach raw.fred_observations.

Each problem names the series, the date and what is wrong. A series with a problem is held
back whole (nothing of it is written); the others still load.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from orchestration.lib.validation import problems_by


def fred_problems(frame: pd.DataFrame) -> dict[str, str]:
    rows = frame.reset_index(drop=True)
    return problems_by(rows, "series_id", [
        (rows["date"].isna(), "missing date"),
        (rows.duplicated(["series_id", "date"], keep=False), "duplicate rows for one date"),
        (~np.isfinite(rows["value"].astype(float)), "value not a finite number"),
    ])
