"""Live FRED series through fredapi.

Resilience: each series is requested with retries (exponential backoff and jitter, bounded
in attempts and time) on network errors, timeouts, truncated answers, HTTP 429 and 5xx;
a 4xx answer (unknown series, bad key) is final. fredapi opens URLs without a timeout and
turns every HTTP error into a ValueError, so this module gives it an `urlopen` that has a
timeout and raises TransientHTTPError for 429 and 5xx.

The API key comes from FRED_API_KEY only. It is never logged, never put in run config or
tables, and is scrubbed from any error text before that text goes anywhere.
`root_url` lets tests point fredapi at a local server.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from datetime import date, timedelta

import pandas as pd

from orchestration.catalog import FredSeries
from orchestration.lib.retry import RetriesExhausted, RetryPolicy, call_with_retries
from orchestration.settings import SettingsError
from orchestration.sources.base import (
    FRED_COLUMNS,
    FetchResult,
    check_resolvable,
    empty_fred_frame,
)

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


class TransientHTTPError(RuntimeError):
    """HTTP 429 or 5xx from FRED: worth another try."""

    def __init__(self, code: int):
        super().__init__(f"HTTP {code} from FRED")
        self.code = code


def _urlopen_with(timeout: float):
    def urlopen(url, *args, **kwargs):
        try:
            return urllib.request.urlopen(url, timeout=timeout)
        except urllib.error.HTTPError as exc:
            if exc.code == 429 or exc.code >= 500:
                raise TransientHTTPError(exc.code) from None  # the URL holds the key
            raise

    return urlopen


def _retryable(exc: BaseException) -> bool:
    # fredapi turns 4xx answers into ValueError(FRED's message): not worth retrying
    return not isinstance(exc, ValueError)


class FredSource:
    """Live FRED observations, one request per series; failures are collected per series."""

    label = "live"

    def __init__(self, api_key: str | None = None, root_url: str | None = None,
                 timeout: float = 30.0, retry: RetryPolicy | None = None, log=None):
        import fredapi.fred
        from fredapi import Fred

        self._key = api_key if api_key is not None else api_key_from_env()
        fredapi.fred.urlopen = _urlopen_with(timeout)
        self._fred = Fred(api_key=self._key)
        if root_url:
            self._fred.root_url = root_url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self.log = log

    def preflight(self) -> None:
        """FRED's host (or the local endpoint tests point fredapi at) must resolve."""
        check_resolvable(self._fred.root_url, "FRED")

    def fetch_fred(
        self, series: tuple[FredSeries, ...], last_dates: dict[str, date | None] | None = None,
        start: date | None = None, end: date | None = None, **_: object,
    ) -> FetchResult:
        """Everything from `start` to `end` if given (a backfill), else incrementally."""
        last_dates = last_dates or {}
        frames, failures, notes = [], {}, {}
        for s in series:
            last = last_dates.get(s.id)
            first = start or (None if last is None else last - timedelta(days=OVERLAP_DAYS))
            try:
                raw = call_with_retries(
                    lambda sid=s.id, b=first: self._fred.get_series(
                        sid, observation_start=b.isoformat() if b else None,
                        observation_end=end.isoformat() if end else None),
                    self.retry, f"FRED {s.id}", retryable=_retryable,
                    log=(lambda m: self.log(scrub(m, self._key))) if self.log else None,
                )
            except RetriesExhausted as exc:
                failures[s.id] = scrub(
                    f"FRED request failed after {exc.attempts} attempt(s): "
                    f"{type(exc.last).__name__}: {exc.last}", self._key)
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
