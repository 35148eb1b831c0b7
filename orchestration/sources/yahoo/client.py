"""Live market prices from Yahoo Finance through yfinance: one batched download per refresh.

- `auto_adjust=False` is passed explicitly, so both `Close` and `Adj Close` are kept.
- Dates are exchange-local trading dates: for daily bars yfinance returns midnight in the
  exchange's time zone; we keep that wall-clock date (crypto: the UTC date Yahoo reports).
- Incremental: from the earliest last-stored date minus OVERLAP_DAYS (late revisions are
  picked up), or full history when any symbol has none stored yet.
- An empty frame, or a symbol with no rows, is a failure naming the symbol -- yfinance
  returns empty frames instead of raising, and that must never pass as success.
- Resilience: a symbol missing from the batch (rate limit, 5xx, timeout, truncated or empty
  answer: yfinance reports them all as a missing symbol) is fetched again on its own, with
  exponential backoff and jitter, bounded in attempts and time (Backoff). Symbols that
  still fail are reported by name; the others are stored.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pandas as pd
import requests
import requests.adapters

from orchestration.catalog import Instrument
from orchestration.lib.retry import Backoff, RetriesExhausted, call_with_retries
from orchestration.partitions import FIRST_YEAR
from orchestration.sources.base import (
    MARKET_COLUMNS,
    FetchResult,
    SourceError,
    check_resolvable,
    empty_market_frame,
)

OVERLAP_DAYS = 7
YAHOO_HOST = "query2.finance.yahoo.com"  # where yfinance asks for daily bars
# yfinance's column names (level "Price") -> ours
FIELD_MAP = {
    "Open": "open",
    "High": "high",
    "Low": "low",
    "Close": "close",
    "Adj Close": "adj_close",
    "Volume": "volume",
}


def incremental_start(last_dates: dict[str, date | None], symbols: list[str]) -> date | None:
    """First date to request: None (full history) if any symbol has nothing stored."""
    stored = [last_dates.get(s) for s in symbols]
    if not stored or any(d is None for d in stored):
        return None
    return min(stored) - timedelta(days=OVERLAP_DAYS)


def _per_ticker_frames(frame: pd.DataFrame, symbols: list[str]) -> dict[str, pd.DataFrame]:
    """Split yfinance's wide frame into one frame per ticker with Yahoo's field names.

    Handles the MultiIndex (Price, Ticker) that `group_by='column'` gives, the
    (Ticker, Price) order of `group_by='ticker'`, and flat columns for a single ticker.
    """
    if frame is None or frame.empty:
        return {}
    out: dict[str, pd.DataFrame] = {}
    if isinstance(frame.columns, pd.MultiIndex):
        names = list(frame.columns.names)
        level0 = set(frame.columns.get_level_values(0))
        if "Ticker" in names:
            ticker_level = names.index("Ticker")
        else:  # unnamed levels: the one holding field names is the Price level
            ticker_level = 1 if level0 & set(FIELD_MAP) else 0
        tickers = frame.columns.get_level_values(ticker_level).unique()
        for ticker in tickers:
            sub = frame.xs(ticker, axis=1, level=ticker_level)
            out[str(ticker)] = sub
    else:
        if len(symbols) != 1:
            raise SourceError(
                "Yahoo: got flat columns for a multi-symbol download; cannot tell symbols apart"
            )
        out[symbols[0]] = frame
    return out


def normalise_download(
    frame: pd.DataFrame | None, symbols: list[str]
) -> tuple[pd.DataFrame, dict[str, str]]:
    """yfinance download -> (long frame in MARKET_COLUMNS, {symbol: reason} for symbols
    that came back with no usable row).

    Rows without a close (equities on weekends and holidays, when downloaded together with
    crypto) are dropped; they are not observations.
    """
    per_ticker = _per_ticker_frames(frame, symbols)
    wanted = {s.upper(): s for s in symbols}
    pieces, missing = [], {}
    for ticker, sub in per_ticker.items():
        symbol = wanted.get(ticker.upper())
        if symbol is None:
            continue  # yfinance never adds tickers, but be strict about what we store
        absent = [f for f in ("Close",) if f not in sub.columns]
        if absent:
            missing[symbol] = f"Yahoo returned no {', '.join(absent)} column"
            continue
        index = pd.DatetimeIndex(sub.index)
        if index.tz is not None:  # keep the exchange-local wall-clock date
            index = index.tz_localize(None)
        long = pd.DataFrame({"symbol": symbol, "date": index.date})
        for yahoo_name, ours in FIELD_MAP.items():
            values = sub[yahoo_name].to_numpy() if yahoo_name in sub.columns else None
            long[ours] = pd.to_numeric(pd.Series(values), errors="coerce") if values is not None \
                else float("nan")
        long = long[long["close"].notna()]
        if long.empty:
            missing[symbol] = "Yahoo returned no rows with a close"
            continue
        long["volume"] = long["volume"].round().astype("Int64")
        pieces.append(long[MARKET_COLUMNS])
    for symbol in symbols:
        if symbol not in missing and not any(p["symbol"].iat[0] == symbol for p in pieces):
            missing[symbol] = "Yahoo returned nothing for this symbol"
    frame_out = pd.concat(pieces, ignore_index=True) if pieces else empty_market_frame()
    return frame_out, missing


class _CaptureYfinanceErrors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def _captured_yfinance_errors():
    logger = logging.getLogger("yfinance")
    handler = _CaptureYfinanceErrors()
    logger.addHandler(handler)
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)


class YahooSource:
    """Live Yahoo prices. `session` lets tests route Yahoo's URLs to a local server."""

    label = "live"

    def __init__(
        self,
        cache_dir: Path,
        session: requests.Session | None = None,
        timeout: float = 30.0,
        threads: bool = True,
        retry: Backoff | None = None,
        log=None,
    ):
        self.cache_dir = Path(cache_dir)
        self.session = session
        self.timeout = timeout
        self.threads = threads
        self.retry = retry or Backoff()
        self.log = log

    def preflight(self) -> None:
        """Yahoo's host (or the local endpoint tests route it to) must resolve."""
        adapter = self.session.get_adapter("https://") if self.session is not None else None
        if isinstance(adapter, _RerouteAdapter):
            check_resolvable(urlunsplit(adapter.endpoint), "Yahoo")
        else:
            check_resolvable(YAHOO_HOST, "Yahoo")

    def download(self, symbols: list[str], start: date | None,
                 end: date | None = None) -> pd.DataFrame:
        import yfinance as yf

        self.cache_dir.mkdir(parents=True, exist_ok=True)
        yf.set_tz_cache_location(str(self.cache_dir))
        kwargs = dict(
            tickers=symbols,
            auto_adjust=False,
            actions=False,
            group_by="column",
            multi_level_index=True,
            progress=False,
            threads=self.threads,
            timeout=self.timeout,
            session=self.session,
        )
        # the whole history from the first year the warehouse holds: an explicit start, not
        # period="max", which yfinance turns into "the last 99 years" (that lost ^GSPC's first
        # bar, 1927-12-30, from 2026-12-05 on, and would lose a day more each day)
        kwargs["start"] = (start or date(FIRST_YEAR, 1, 1)).isoformat()
        if end is not None:  # yfinance's end is exclusive
            kwargs["end"] = (end + timedelta(days=1)).isoformat()
        return yf.download(**kwargs)

    def _fetch(self, symbols: list[str], start: date | None,
               end: date | None = None) -> tuple[pd.DataFrame, dict]:
        """One download; returns (rows, {symbol: reason}) for the symbols without rows."""
        with _captured_yfinance_errors() as errors:
            raw = self.download(symbols, start, end)
        frame, missing = normalise_download(raw, symbols)
        reasons = {}
        for symbol, reason in missing.items():
            detail = [m for m in errors if symbol.upper() in m.upper()]
            reasons[symbol] = reason + (f" ({detail[0]})" if detail else "")
        return frame, reasons

    def _fetch_one(self, symbol: str, start: date | None, end: date | None) -> pd.DataFrame:
        frame, reasons = self._fetch([symbol], start, end)
        if symbol in reasons:
            raise SourceError(reasons[symbol])
        return frame

    def fetch_market(
        self, instruments: tuple[Instrument, ...], last_dates: dict[str, date | None] | None = None,
        start: date | None = None, end: date | None = None, **_: object,
    ) -> FetchResult:
        """Everything from `start` to `end` if given (a backfill), else incrementally."""
        symbols = [i.symbol for i in instruments]
        last_dates = last_dates or {}
        batch_start = start or incremental_start(last_dates, symbols)
        try:
            frame, missing = self._fetch(symbols, batch_start, end)
        except Exception as exc:  # network errors, yfinance internals: retry one by one
            frame = empty_market_frame()
            missing = {s: f"Yahoo download failed: {type(exc).__name__}: {exc}" for s in symbols}
        pieces, failures = [frame], {}
        # the dates fetched, per symbol that answered (what a quarantined row is judged by)
        reread = {s: (batch_start, end) for s in symbols if s not in missing}
        for symbol in missing:
            one_start = start or incremental_start(last_dates, [symbol])
            try:
                pieces.append(call_with_retries(
                    lambda s=symbol, b=one_start: self._fetch_one(s, b, end), self.retry,
                    f"Yahoo {symbol}", log=self.log,
                ))
                reread[symbol] = (one_start, end)
            except RetriesExhausted as exc:
                failures[symbol] = str(exc.last)
        rate_limited = {symbol for symbol, why in failures.items() if _rate_limited(why)}
        frame = pd.concat([p for p in pieces if not p.empty], ignore_index=True) if any(
            not p.empty for p in pieces) else empty_market_frame()
        return FetchResult(frame=frame, source=self.label, failures=failures,
                           rate_limited=rate_limited, reread=reread)


def _rate_limited(reason: str) -> bool:
    """yfinance reports Yahoo's HTTP 429 as YFRateLimitError ("Too Many Requests. Rate
    limited. Try after a while.") or, inside a batch, as an error line naming the symbol."""
    text = reason.lower()
    return "too many requests" in text or "rate limit" in text


class _RerouteAdapter(requests.adapters.HTTPAdapter):
    """Sends every request for a *.yahoo.com host to `endpoint` (same path and query)."""

    def __init__(self, endpoint: str):
        super().__init__()
        self.endpoint = urlsplit(endpoint)

    def send(self, request, **kwargs):
        parts = urlsplit(request.url)
        host = parts.hostname or ""
        if host == "yahoo.com" or host.endswith(".yahoo.com"):
            request.url = urlunsplit(
                (self.endpoint.scheme, self.endpoint.netloc, parts.path, parts.query, "")
            )
            request.headers["X-Lockstep-Original-Host"] = host
        return super().send(request, **kwargs)


def routing_session(endpoint: str) -> requests.Session:
    """A requests.Session for yfinance that talks to `endpoint` instead of Yahoo."""
    session = requests.Session()
    adapter = _RerouteAdapter(endpoint)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session
