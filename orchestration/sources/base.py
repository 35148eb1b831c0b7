"""What every source returns: normalised frames plus what failed, never a silent gap."""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import urlsplit

import pandas as pd

MARKET_COLUMNS = ["symbol", "date", "open", "high", "low", "close", "adj_close", "volume"]
FRED_COLUMNS = ["series_id", "date", "value"]


class SourceError(RuntimeError):
    """A source could not deliver; the message names the source and what failed."""


def check_resolvable(url_or_host: str, source: str) -> None:
    """Fail in milliseconds, not after minutes of retries, when the source's host does not
    resolve (no network, no DNS): nothing has been fetched, the warehouse is untouched."""
    host = urlsplit(url_or_host).hostname if "//" in url_or_host else url_or_host
    try:
        socket.getaddrinfo(host, 443)
    except socket.gaierror as exc:
        raise SourceError(
            f"{source}: cannot resolve {host} ({exc.strerror or exc}): is this machine offline, "
            f"or its DNS down? Nothing was fetched; the warehouse keeps what it had."
        ) from None


@dataclass
class FetchResult:
    """Rows a source delivered, plus per-symbol/series problems.

    failures: name -> reason; the run stores what succeeded, then fails naming these.
    missing:  name -> reason; reported in metadata and logs but not fatal (e.g. a catalog
              symbol that a files directory does not hold).
    notes:    name -> remark (e.g. rows dropped because FRED published '.').
    rate_limited: the failures whose last answer was the source's rate limit (HTTP 429)
              after the client's own retries: a later attempt of the step may succeed.
    unchanged: how many symbols/series the source found unchanged since its last read and did
              not read again (the files source's unchanged files).
    keep_state: what the source keeps in the warehouse to read less next time (the files
              source's read positions), called as keep_state(con, held_back) inside the
              transaction that stores the rows, so it is committed with them or not at all;
              held_back names what was not stored whole (a failed file or symbol, rows
              outside the requested window).
    rejected: rows the source could not even parse (a cell that is not a date or a
              number), in lib/validation.py's REJECTED_COLUMNS: quarantined with the rows
              validation rejects (orchestration/lib/quarantine.py).
    files:    name -> the file its rows came from, relative to the data directory (the
              files source), named beside each quarantined row.
    reread:   name -> (first, last) dates (None: no bound) the source delivered whole this
              time: a quarantined row of that name and window that did not come again is
              no longer at the source (the files source: a file read whole; live: the dates
              fetched).
    """

    frame: pd.DataFrame
    source: str
    failures: dict[str, str] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    rate_limited: set[str] = field(default_factory=set)
    unchanged: int = 0
    keep_state: Callable | None = None
    rejected: pd.DataFrame | None = None
    files: dict[str, str] = field(default_factory=dict)
    reread: dict[str, tuple[date | None, date | None]] = field(default_factory=dict)


def empty_market_frame() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in MARKET_COLUMNS})


def empty_fred_frame() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in FRED_COLUMNS})
