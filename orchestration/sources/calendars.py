"""Trading sessions from a maintained calendar library (exchange_calendars).

`24/7` needs no table: every calendar day is a session (dbt generates those days).
Exchange calendars (XNYS, ...) come from exchange_calendars, which models holidays and
special closures; we never keep a hand-written holiday list.
"""

from __future__ import annotations

from datetime import date, timedelta

import exchange_calendars as xcals
import pandas as pd

FIRST_DAY = date(1885, 1, 1)  # exchange_calendars' XNYS history starts here
HORIZON_DAYS = 366  # sessions a year ahead, for freshness and expected-session checks


def exchange_sessions(calendars: list[str], today: date | None = None) -> pd.DataFrame:
    """(calendar, session_date) for every exchange calendar named, FIRST_DAY to a year ahead."""
    end = (today or date.today()) + timedelta(days=HORIZON_DAYS)
    frames = []
    for name in sorted(set(calendars) - {"24/7"}):
        cal = xcals.get_calendar(name, start=FIRST_DAY.isoformat(), end=end.isoformat())
        sessions = pd.DatetimeIndex(cal.sessions).tz_localize(None)
        frames.append(pd.DataFrame({"calendar": name, "session_date": sessions.date}))
    if not frames:
        return pd.DataFrame({"calendar": pd.Series(dtype=str),
                             "session_date": pd.Series(dtype=object)})
    return pd.concat(frames, ignore_index=True)
