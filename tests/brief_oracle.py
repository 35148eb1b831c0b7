"""An independent computation of the brief's facts from the CSV files, in plain pandas.

It follows the definitions warehouse/README.md states (records, drawdowns on two bases,
divergent days and episodes, the policy rate in force, net liquidity as known on a day),
written without looking at the SQL, so the tests can compare the mart with it on any date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import exchange_calendars as xcals
import numpy as np
import pandas as pd

THRESHOLD = 0.20        # divergence: laggard at least this far below its record high
MAX_GAP_SESSIONS = 10   # divergent days at most this many leader sessions apart: one episode


def load_market(root: Path, stem: str) -> pd.DataFrame:
    frame = pd.read_csv(root / "market" / f"{stem}.csv", parse_dates=["date"]).set_index("date")
    frame["high_value"] = frame[["high", "close"]].max(axis=1)
    frame["low_value"] = frame[["low", "close"]].min(axis=1)
    return frame


def load_fred(root: Path, series: str) -> pd.Series:
    frame = pd.read_csv(root / "fred" / f"{series}.csv", parse_dates=["date"])
    return frame.set_index("date")["value"]


def nyse_sessions(first: str = "1900-01-01", last: str = "2027-12-31") -> pd.DatetimeIndex:
    cal = xcals.get_calendar("XNYS", start=first, end=last)
    return pd.DatetimeIndex(cal.sessions).tz_localize(None)


@dataclass
class Standing:
    as_of: pd.Timestamp
    close: float
    record: float
    record_date: pd.Timestamp
    fraction: float
    at_record: bool


def standing(bars: pd.DataFrame, day: date, basis: str) -> Standing | None:
    upto = bars[bars.index <= pd.Timestamp(day)]
    if upto.empty:
        return None
    column = "close" if basis == "close" else "high_value"
    values = upto[column]
    peak = values.max()
    at_peak = values[values >= peak]
    last = upto.index[-1]
    close = upto.close.iloc[-1]
    return Standing(as_of=last, close=close, record=peak, record_date=at_peak.index[-1],
                    fraction=close / peak - 1, at_record=bool(values.iloc[-1] >= peak))


def records_on(bars: pd.DataFrame, day: date,
               basis: str) -> tuple[float, float, pd.Timestamp] | None:
    """(record, previous record, its date) when `day` sets a record on `basis`, not the
    first stored day."""
    column = "close" if basis == "close" else "high_value"
    values = bars[column]
    ts = pd.Timestamp(day)
    if ts not in values.index or values.index[0] == ts:
        return None
    before = values[values.index < ts]
    if values[ts] < before.max():
        return None
    previous_records = before[before >= before.cummax()]
    return values[ts], previous_records.iloc[-1], previous_records.index[-1]


def divergent_days(leader: pd.DataFrame, laggard: pd.DataFrame) -> pd.Series:
    """Per leader date: True/False, or None when the laggard has no close that date."""
    record = leader.close >= leader.close.cummax()
    laggard_dd = (laggard.close / laggard.high_value.cummax() - 1).reindex(leader.index)
    out = (record & (laggard_dd <= -THRESHOLD)).astype(object)
    out[laggard_dd.isna()] = None
    return out


def episodes(divergent: pd.Series, sessions: pd.DatetimeIndex) -> pd.DataFrame:
    """Runs of divergent days at most MAX_GAP_SESSIONS leader sessions apart."""
    days = divergent[divergent == True].index  # noqa: E712 - None is not True either
    number = pd.Series(sessions.searchsorted(days, side="right"), index=days)
    rows, current = [], None
    for day, n in number.items():
        if current is None or n - current["end_session"] > MAX_GAP_SESSIONS:
            current = {"start": day, "end": day, "start_session": n, "end_session": n, "days": 0}
            rows.append(current)
        current["end"], current["end_session"] = day, n
        current["days"] += 1
    return pd.DataFrame(rows)


def policy_in_force(root: Path, day: date) -> dict | None:
    """The latest change of the target range effective on or before `day` (None before the
    first change in the file)."""
    both = pd.DataFrame({"lower": load_fred(root, "DFEDTARL"),
                         "upper": load_fred(root, "DFEDTARU")}).dropna()
    mid = (both.lower + both.upper) / 2
    moves = mid.diff()
    moves = moves[moves.fillna(0) != 0]
    bps = (moves * 100).round().astype(int)
    candidates = bps.index[bps.index <= pd.Timestamp(day)]
    if candidates.empty:
        return None
    effective = candidates[-1]
    bp = int(bps[effective])
    same = bps[(bps.index.year == effective.year) & (np.sign(bps) == np.sign(bp))]
    return {"effective": effective, "bp": bp, "new_lower": both.lower[effective],
            "new_upper": both.upper[effective],
            "number_in_year": int((same.index <= effective).sum())}


# Weekdays the Federal Reserve Board closed beyond the federal holidays (executive orders,
# days of mourning) -- the same facts as the dbt seed, written out here independently:
# Board statement of 2018-12-03 (2018-12-05); the H.4.1 of the week ended 2020-12-23
# released 2020-12-28 (www.federalreserve.gov/releases/h41/20201228/); ABA Banking Journal
# 2025-01-02 (Federal Reserve offices closed 2025-01-09); the H.4.1 of the week ended
# 2025-12-24 released 2025-12-29 (2025-12-24 and 2025-12-26 closed by executive order).
BOARD_SPECIAL_CLOSURES = ["2018-12-05", "2020-12-24", "2025-01-09", "2025-12-24", "2025-12-26"]


def board_business_days(first: str = "2000-01-01", last: str = "2027-12-31") -> pd.DatetimeIndex:
    """Weekdays the Board is open: pandas' US federal holiday rules (observed on the Friday
    before a Saturday and the Monday after a Sunday, the Board's rule) and the closures
    above. (Inauguration Day is left out: none fell on a Thursday in the stored years.)"""
    from pandas.tseries.holiday import USFederalHolidayCalendar

    closed = USFederalHolidayCalendar().holidays(first, last).union(
        pd.DatetimeIndex(BOARD_SPECIAL_CLOSURES))
    return pd.bdate_range(first, last).difference(closed)


def h41_release_day(week: pd.Timestamp, open_days: pd.DatetimeIndex) -> pd.Timestamp:
    """The H.4.1 of the week ending `week` (a Wednesday): the first Board business day
    after it (Thursday, later when the Board is closed then)."""
    return open_days[open_days.searchsorted(week, side="right")]


def net_liquidity_known(root: Path, day: date) -> dict:
    """The latest complete H.4.1 week published (on its release day) on or before `day`."""
    walcl, tga, treast = (load_fred(root, s) / 1000 for s in ("WALCL", "WDTGAL", "TREAST"))
    rrp = load_fred(root, "RRPONTSYD")
    weeks = walcl.index.intersection(tga.index).intersection(treast.index)
    open_days = board_business_days()
    released = pd.DatetimeIndex([h41_release_day(w, open_days) for w in weeks])
    weeks = weeks[released <= pd.Timestamp(day)]
    for week in weeks[::-1]:
        window = rrp[(rrp.index >= week - pd.Timedelta(days=6)) & (rrp.index <= week)]
        if not window.empty:
            reverse_repo = window.iloc[-1]
        elif rrp.index[0] <= week <= rrp.index[-1]:
            reverse_repo = 0.0
        else:
            continue
        return {"week": week, "published": h41_release_day(week, open_days),
                "net_liquidity": walcl[week] - tga[week] - reverse_repo,
                "treasuries_change_1w": treast[week] - treast[treast.index < week].iloc[-1]}
    raise AssertionError(f"no complete week published by {day}")


def rates_known(root: Path, day: date, max_staleness_days: int = 7) -> dict:
    """The 2-year yield and EFFR as known at the end of `day`: the New York Fed publishes a
    day's EFFR on the next business day (about 9:00), so only EFFR observations whose next
    Board business day is on or before `day` count; Treasury posts the 2-year par yield on
    its own day, after the close. Each the latest such value; the spread is unknown when
    either is more than `max_staleness_days` old."""
    stamp = pd.Timestamp(day)
    effr, dgs2 = (load_fred(root, s).dropna() for s in ("EFFR", "DGS2"))
    open_days = board_business_days()
    published = pd.DatetimeIndex(
        open_days[open_days.searchsorted(effr.index, side="right")])
    effr = effr[published <= stamp]
    dgs2 = dgs2[dgs2.index <= stamp]
    effr_as_of, dgs2_as_of = effr.index[-1], dgs2.index[-1]
    fresh = max((stamp - effr_as_of).days, (stamp - dgs2_as_of).days) <= max_staleness_days
    return {"effr": effr.iloc[-1], "effr_as_of": effr_as_of, "dgs2": dgs2.iloc[-1],
            "dgs2_as_of": dgs2_as_of,
            "spread": dgs2.iloc[-1] - effr.iloc[-1] if fresh else None}


# ------------------------------------------------------------------ lead and lag
MAX_LAG, BAND_Z, TREND_DAYS = 8, 1.96, 365


def weekly_returns(leader: pd.DataFrame, laggard: pd.DataFrame) -> pd.DataFrame:
    """Log returns between consecutive Fridays of each instrument's last close on or before
    each Friday, over the weeks both have a close a week before and are still stored."""
    first = max(leader.index[0], laggard.index[0]) + pd.Timedelta(days=7)
    last = min(leader.index[-1], laggard.index[-1])
    fridays = pd.date_range(first - pd.Timedelta(days=7), last, freq="W-FRI")
    out = pd.DataFrame(index=fridays)
    for side, frame in (("leader", leader), ("laggard", laggard)):
        closes = frame.close.asof(fridays)
        out[side] = np.log(closes / closes.shift(1))
    return out[out.index >= first].dropna()


def lagged_pairs(weekly: pd.DataFrame, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(leader's week t, laggard's week t + k) for every t where both exist."""
    x, y = weekly.leader.to_numpy(), weekly.laggard.to_numpy()
    return (x[: len(x) - k], y[k:]) if k >= 0 else (x[-k:], y[: len(y) + k])


def lead_lag(leader: pd.DataFrame, laggard: pd.DataFrame, day: date) -> dict:
    """What the weekly cross-correlation says with the prices up to `day`: the correlation
    at every lag -MAX_LAG..+MAX_LAG (numpy), the peak (largest |r|; a tie to the lag nearer
    0, then the negative one), its n and 95 % band, lag 0's r and n, the Fisher z of the two
    absolute correlations and the reading by warehouse/README.md's rules."""
    cut = pd.Timestamp(day)
    weekly = weekly_returns(leader[leader.index <= cut], laggard[laggard.index <= cut])
    lags = {}
    for k in range(-MAX_LAG, MAX_LAG + 1):
        x, y = lagged_pairs(weekly, k)
        lags[k] = (float(np.corrcoef(x, y)[0, 1]), len(x))
    peak = min(lags, key=lambda k: (-abs(lags[k][0]), abs(k), k))
    (r, n), (r0, n0) = lags[peak], lags[0]
    z = None if peak == 0 else (
        (np.arctanh(abs(r)) - np.arctanh(abs(r0))) / np.sqrt(1 / (n - 3) + 1 / (n0 - 3)))
    reading = ("moves with the leader (the peak is at lag 0)" if peak == 0 else
               "no lead or lag distinguishable from lag 0" if abs(z) <= BAND_Z else
               "moves after the leader" if peak > 0 else "moves before the leader")
    return {"first_week": weekly.index[0], "last_week": weekly.index[-1], "lags": lags,
            "peak": peak, "r": r, "n": n, "band": BAND_Z / np.sqrt(n), "r0": r0, "n0": n0,
            "z": z, "reading": reading}


def correlation_trend(leader: pd.DataFrame, laggard: pd.DataFrame, latest: pd.Timestamp,
                      days: int = TREND_DAYS) -> dict:
    """The share of the `days` days up to `latest` (a leader date) on which the 30- and
    90-session correlation of daily log returns (on the leader's dates, the laggard's close
    of the same date) was positive, with the days it was defined."""
    both = pd.DataFrame({"leader": leader.close,
                         "laggard": laggard.close.reindex(leader.index)})
    returns = np.log(both / both.shift(1))
    year = returns.index[(returns.index > latest - pd.Timedelta(days=days))
                         & (returns.index <= latest)]
    out = {"first": year[0]}
    for window in (30, 90):
        values = []
        for day in year:
            upto = returns[returns.index <= day].tail(window)
            if len(upto) == window and upto.notna().all().all():
                values.append(np.corrcoef(upto.leader, upto.laggard)[0, 1])
        out[window] = (len(values), float(np.mean(np.array(values) > 0)) if values else None)
    return out
