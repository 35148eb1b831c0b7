"""Validate FRED rows before they reach raw.fred_observations.

A row that cannot be stored is quarantined (raw.quarantined_rows) with the column at fault,
its value and why; the series' other rows load. Both rows of a duplicated date are
withheld: which one is right cannot be told.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from orchestration.lib.validation import duplicates, rejected_rows


def fred_rejects(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of `frame` that cannot be stored (lib/validation.py's REJECTED_COLUMNS,
    indexed like `frame`)."""
    value = frame["value"].astype(float)
    return rejected_rows(frame, "series_id", [
        (frame["date"].isna(), "date", "missing"),
        *duplicates(frame, "series_id"),
        (~np.isfinite(value), "value", "not a finite number"),
    ])
