"""Live FRED series through fredapi, with lockstep's own HTTP session.

fredapi builds the request URLs and parses FRED's XML; the HTTP exchange is ours:
`PacedFred` subclasses `fredapi.Fred` and sends its requests through a `requests.Session`
owned by this client, never by patching fredapi's module (other code in the process keeps
fredapi as it is). The session gives every request a timeout, spaces requests at most
`requests_per_s` apart (FRED asks clients to stay near 2 per second), and turns HTTP 429
and 5xx into TransientHTTPError carrying the server's Retry-After, which the retry loop
honours (orchestration/lib/retry.py). A 4xx answer (unknown series, bad key) is final and
raises fredapi's usual ValueError with FRED's message.

Each series is requested with retries (exponential backoff and jitter, bounded in attempts
and time) on network errors, timeouts, truncated answers, 429 and 5xx. A rate-limit episode
that outlasts that budget marks the step retryable; Dagster then retries the whole step
minutes later (orchestration/lib/ingest.py).

The API key comes from FRED_API_KEY only (a setting: orchestration/settings.py). It is never
logged, never put in run config or tables, and is scrubbed from any error text before that
text goes anywhere.
`root_url` lets tests point fredapi at a local server.
"""

from __future__ import annotations

import threading
import time
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime

import pandas as pd
from fredapi import Fred

from orchestration.catalog import FredSeries
from orchestration.lib.retry import Backoff, RetriesExhausted, call_with_retries
from orchestration.settings import SettingsError, fred_api_key, variable
from orchestration.sources.base import (
    FRED_COLUMNS,
    FetchResult,
    check_resolvable,
    empty_fred_frame,
)

# FRED revises recent weekly H.4.1 values; re-read five weeks on every refresh.
OVERLAP_DAYS = 35
API_KEY_ENV = variable("fred_api_key")


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
    """FRED_API_KEY of `env` (default: the process environment), or the error that says
    where to put it."""
    return require_api_key(fred_api_key(env))


def require_api_key(key: str | None) -> str:
    if not key:
        raise SettingsError(
            f"{API_KEY_ENV} is not set: the live FRED source needs a FRED API key in the "
            f"environment variable {API_KEY_ENV} (free at fred.stlouisfed.org)"
        )
    return key


def scrub(text: str, secret: str) -> str:
    return text.replace(secret, "***") if secret else text


class TransientHTTPError(RuntimeError):
    """HTTP 429 or 5xx from FRED: worth another try, not before `retry_after` seconds when
    the server said so."""

    def __init__(self, code: int, retry_after: float | None = None):
        wait = "" if retry_after is None else f", Retry-After {retry_after:g} s"
        super().__init__(f"HTTP {code} from FRED{wait}")
        self.code = code
        self.retry_after = retry_after

    @property
    def rate_limited(self) -> bool:
        return self.code == 429


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds: either delta-seconds ("120") or an HTTP date (RFC 9110)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class PacedFred(Fred):
    """fredapi's client with its own session: timeouts, pacing and Retry-After.

    fredapi sends every request through one method, `Fred.__fetch_data(url)` (name-mangled
    to `_Fred__fetch_data`); this subclass overrides it for its own instances only. fredapi
    has no public hook for the HTTP exchange; tests/test_sources_fred.py checks the
    behaviour (requests go through this session, are paced, time out, honour Retry-After),
    so a fredapi release that changes it fails there, not in production.
    """

    def __init__(self, api_key: str, root_url: str | None = None, timeout: float = 30.0,
                 requests_per_s: float = 2.0, session=None):
        import requests

        # fredapi's __init__ only stores the key and, with HTTP(S)_PROXY set, installs a
        # process-wide urllib opener; requests honours those variables by itself.
        self.api_key = api_key
        self.proxies = None
        if root_url:
            self.root_url = root_url.rstrip("/")
        self.timeout = timeout
        self.min_interval_s = 1.0 / requests_per_s if requests_per_s > 0 else 0.0
        self.session = session or requests.Session()
        self._pace_lock = threading.Lock()
        self._last_request = float("-inf")

    def _pace(self) -> None:
        with self._pace_lock:
            wait = self._last_request + self.min_interval_s - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            self._last_request = time.monotonic()

    def _Fred__fetch_data(self, url: str):  # noqa: N802 - fredapi's (mangled) name
        self._pace()
        response = self.session.get(url, params={"api_key": self.api_key},
                                    timeout=self.timeout)
        if response.status_code == 429 or response.status_code >= 500:
            raise TransientHTTPError(response.status_code,
                                     retry_after_seconds(response.headers.get("Retry-After")))
        if response.status_code >= 400:
            try:
                message = ET.fromstring(response.content).get("message")
            except ET.ParseError:
                message = None
            raise ValueError(message or f"HTTP {response.status_code} from FRED")
        return ET.fromstring(response.content)


def _retryable(exc: BaseException) -> bool:
    # a 4xx answer is a ValueError(FRED's message): not worth retrying
    return not isinstance(exc, ValueError)


class FredSource:
    """Live FRED observations, one request per series; failures are collected per series."""

    label = "live"

    def __init__(self, api_key: str | None = None, root_url: str | None = None,
                 timeout: float = 30.0, retry: Backoff | None = None, log=None,
                 requests_per_s: float = 2.0):
        self._key = require_api_key(api_key if api_key is not None else fred_api_key())
        self._fred = PacedFred(self._key, root_url=root_url, timeout=timeout,
                               requests_per_s=requests_per_s)
        self.retry = retry or Backoff()
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
        frames, failures, notes, rate_limited, reread = [], {}, {}, set(), {}
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
                if getattr(exc.last, "rate_limited", False):
                    rate_limited.add(s.id)
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
            reread[s.id] = (first, end)  # the dates fetched (quarantined rows: lib/quarantine.py)
        frame = pd.concat(frames, ignore_index=True) if frames else empty_fred_frame()
        return FetchResult(frame=frame, source=self.label, failures=failures, notes=notes,
                           rate_limited=rate_limited, reread=reread)
