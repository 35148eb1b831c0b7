"""Trading sessions from a maintained calendar library (exchange_calendars).

`24/7` needs no table: every calendar day is a session (dbt generates those days).
Exchange calendars (XNYS, ...) come from exchange_calendars, which models holidays and
special closures; we never keep a hand-written holiday list.

Building XNYS from 1885 takes exchange_calendars a noticeable part of a run, and the answer
only changes with the library's version or the end date. Sessions therefore run to the end
of next year (a horizon of one to two years, for the freshness and expected-session checks),
and a run with a cache directory keeps each calendar's sessions as a CSV keyed by calendar,
library version and date range: computed once a year, not on every run.
"""

from __future__ import annotations

import os
from datetime import date
from importlib.metadata import version
from pathlib import Path

import pandas as pd

FIRST_DAY = date(1885, 1, 1)  # exchange_calendars' XNYS history starts here


def last_day(today: date) -> date:
    """Sessions are listed to the end of next year."""
    return date(today.year + 1, 12, 31)


def _sessions(name: str, end: date, cache_dir: Path | None) -> pd.DataFrame:
    cache = None
    if cache_dir is not None:
        key = f"{name}-{version('exchange-calendars')}-{FIRST_DAY:%Y%m%d}-{end:%Y%m%d}.csv"
        cache = Path(cache_dir) / key
        if cache.exists():
            frame = pd.read_csv(cache, dtype={"calendar": str})
            frame["session_date"] = pd.to_datetime(frame["session_date"]).dt.date
            return frame
    import exchange_calendars as xcals  # slow to import: only when not cached

    cal = xcals.get_calendar(name, start=FIRST_DAY.isoformat(), end=end.isoformat())
    sessions = pd.DatetimeIndex(cal.sessions).tz_localize(None)
    frame = pd.DataFrame({"calendar": name, "session_date": sessions.date})
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        partial = cache.with_suffix(f".{os.getpid()}.partial")
        frame.to_csv(partial, index=False)
        partial.replace(cache)  # atomic: a concurrent run reads the old file or the new one
    return frame


def exchange_sessions(calendars: list[str], today: date | None = None,
                      cache_dir: Path | None = None) -> pd.DataFrame:
    """(calendar, session_date) for every exchange calendar named, FIRST_DAY to the end of
    next year. With cache_dir, reuse what an earlier call computed for the same calendar,
    library version and range."""
    end = last_day(today or date.today())
    frames = [_sessions(name, end, cache_dir) for name in sorted(set(calendars) - {"24/7"})]
    if not frames:
        return pd.DataFrame({"calendar": pd.Series(dtype=str),
                             "session_date": pd.Series(dtype=object)})
    return pd.concat(frames, ignore_index=True)
