"""NYSE sessions from exchange_calendars, and the cache that keeps them between runs."""

from datetime import date

import exchange_calendars as xcals
import pytest

from orchestration.sources.calendars import client as calendars


def _xnys(frame):
    return set(frame.loc[frame.calendar == "XNYS", "session_date"])


def test_known_nyse_closures_and_session_counts(tmp_path):
    sessions = _xnys(calendars.exchange_sessions(["XNYS", "24/7"], today=date(2026, 1, 2)))
    # closures that no weekday rule predicts (public record)
    for closed in (date(2001, 9, 11), date(2001, 9, 14), date(2012, 10, 29),
                   date(2012, 10, 30), date(2018, 12, 5), date(2025, 1, 9)):
        assert closed not in sessions
    # NYSE had 252 full-year sessions in 2024 and 250 in 2023
    assert sum(d.year == 2024 for d in sessions) == 252
    assert sum(d.year == 2023 for d in sessions) == 250
    assert max(sessions) <= date(2027, 12, 31) and max(sessions).year == 2027
    assert min(sessions) >= calendars.FIRST_DAY


def test_cache_returns_the_same_sessions_without_recomputing(tmp_path, monkeypatch):
    today = date(2026, 3, 4)
    first = calendars.exchange_sessions(["XNYS"], today=today, cache_dir=tmp_path)
    [cached] = tmp_path.glob("XNYS-*.csv")
    assert xcals.__version__ in cached.name and "20271231" in cached.name

    def no_library(*args, **kwargs):
        raise AssertionError("recomputed although cached")

    monkeypatch.setattr(xcals, "get_calendar", no_library)
    again = calendars.exchange_sessions(["XNYS"], today=today, cache_dir=tmp_path)
    assert again.equals(first)
    assert list(map(type, again.session_date.head(1))) == [date]
    # a new year is a new range: computed again (here: the library is gone, so it fails)
    with pytest.raises(AssertionError, match="recomputed"):
        calendars.exchange_sessions(["XNYS"], today=date(2027, 1, 4), cache_dir=tmp_path)
