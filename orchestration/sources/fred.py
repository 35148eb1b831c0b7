"""Live FRED series through fredapi.

The API key comes from FRED_API_KEY only. It is never logged, never put in run config or
tables, and is scrubbed from any error text before that text goes anywhere.
`root_url` lets tests point fredapi at a local server.
"""

from __future__ import annotations

import os
from datetime import date, timedelta

import pandas as pd

from orchestration.catalog import FredSeries
from orchestration.settings import SettingsError
from orchestration.sources.base import FRED_COLUMNS, FetchResult, empty_fred_frame

# FRED revises recent weekly H.4.1 values; re-read five weeks on every refresh.
OVERLAP_DAYS = 35
API_KEY_ENV = "FRED_API_KEY"


def normalise_series(series_id: str, values: pd.Series | None) -> tuple[pd.DataFrame, int]:
    """fredapi Series (index: date, NaN where FRED has '.') -> (FRED_COLUMNS frame, #missing).

    A missing value is not an observation: it is skipped and counted, never stored as 0.
    """
    if values is None or len(values) == 0:
        return empty_fred_frame(), 0
    values = pd.to_numeric(pd.Series(values), errors="coerce")
    index = pd.DatetimeIndex(values.index)
    frame = pd.DataFrame(
        {"series_id": series_id, "date": index.date, "value": values.to_numpy()}
    )
    missing = int(frame["value"].isna().sum())
    frame = frame[frame["value"].notna()].drop_duplicates(["series_id", "date"], keep="last")
    return frame[FRED_COLUMNS].reset_index(drop=True), missing


def api_key_from_env(env: dict[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    key = (env.get(API_KEY_ENV) or "").strip()
    if not key:
        raise SettingsError(
            f"{API_KEY_ENV} is not set: the live FRED source needs a FRED API key in the "
            f"environment variable {API_KEY_ENV} (free at fred.stlouisfed.org)"
        )
    return key


def scrub(text: str, secret: str) -> str:
    return text.replace(secret, "***") if secret else text


class FredSource:
    """Live FRED observations, one request per series; failures are collected per series."""

    label = "live"

    def __init__(self, api_key: str | None = None, root_url: str | None = None):
        from fredapi import Fred

        self._key = api_key if api_key is not None else api_key_from_env()
        self._fred = Fred(api_key=self._key)
        if root_url:
            self._fred.root_url = root_url.rstrip("/")

    def fetch_fred(
        self, series: tuple[FredSeries, ...], last_dates: dict[str, date | None] | None = None,
        **_: object,
    ) -> FetchResult:
        last_dates = last_dates or {}
        frames, failures, notes = [], {}, {}
        for s in series:
            last = last_dates.get(s.id)
            start = None if last is None else last - timedelta(days=OVERLAP_DAYS)
            try:
                raw = self._fred.get_series(
                    s.id, observation_start=start.isoformat() if start else None
                )
            except Exception as exc:
                failures[s.id] = scrub(f"FRED request failed: {type(exc).__name__}: {exc}",
                                       self._key)
                continue
            frame, n_missing = normalise_series(s.id, raw)
            if frame.empty:
                failures[s.id] = "FRED returned no observations"
                continue
            if n_missing:
                notes[s.id] = f"{n_missing} missing value(s) ('.') skipped"
            frames.append(frame)
        frame = pd.concat(frames, ignore_index=True) if frames else empty_fred_frame()
        return FetchResult(frame=frame, source=self.label, failures=failures, notes=notes)
