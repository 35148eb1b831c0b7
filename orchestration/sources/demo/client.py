"""Synthetic demo data: a deterministic generator that writes a `files`-layout directory.

The data is SYNTHETIC. It is shaped to tell lockstep's story -- Bitcoin and the Russell 2000
setting records together (2021, late 2024, October 2025), then, on STORY_DATE (2025-12-11),
the Russell 2000, the Dow, the S&P 500 and silver setting record closes while the Nasdaq 100
sits just below its record and Bitcoin about 27 % below its October peak: a divergence, the
first since January 2021, on the day of the Fed's third cut of the year -- with levels and
volatilities typical of each asset class. Prices follow hand-placed anchor points
with mean-reverting noise between them, so the story holds for the fixed seed while the daily
moves look like markets. It is not market data and is labelled `source = 'demo'` wherever
it surfaces: the directory carries a SYNTHETIC marker that the files source honours.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from orchestration.catalog import Catalog, FredSeries, Instrument
from orchestration.lib.dbt_vars import fred_units
from orchestration.sources.files.client import MARKER_FILE, fred_path, market_path

SEED = 20251211
START = date(2018, 1, 2)
END = date(2025, 12, 31)
STORY_DATE = date(2025, 12, 11)  # the day the story is about: `make demo` prints its brief
TRADING_DAYS = 252

# Anchor points (date, level) that the log-price bridges pass through. Peaks are
# placed where the story needs joint or split records.
ANCHORS: dict[str, list[tuple[str, float]]] = {
    "BTC-USD": [
        ("2018-01-02", 14500), ("2018-12-15", 3300), ("2019-06-26", 12500),
        ("2020-03-13", 5000), ("2020-12-31", 29000), ("2021-01-08", 40500),
        ("2021-01-22", 30800), ("2021-02-08", 46000), ("2021-04-14", 63500),
        ("2021-07-20", 30000), ("2021-10-15", 57000), ("2021-11-08", 67600), ("2022-06-18", 19000),
        ("2022-11-21", 15800), ("2023-06-30", 30500), ("2023-10-15", 27000),
        ("2024-03-14", 72500), ("2024-08-05", 53000), ("2024-11-22", 99000),
        ("2025-01-20", 104000), ("2025-04-08", 76500), ("2025-07-14", 112000),
        ("2025-08-14", 124000), ("2025-09-01", 108000),
        ("2025-10-06", 125000), ("2025-10-27", 114000), ("2025-11-21", 82500),
        ("2025-12-01", 92000), ("2025-12-04", 93500), ("2025-12-08", 92500),
        ("2025-12-11", 95500), ("2025-12-16", 91500), ("2025-12-22", 91500),
        ("2025-12-26", 91500), ("2025-12-31", 92000),
    ],
    "^RUT": [
        ("2018-01-02", 1550), ("2018-08-31", 1740), ("2018-12-24", 1267),
        ("2019-07-26", 1580), ("2020-02-20", 1700), ("2020-03-18", 990),
        ("2020-12-31", 1975), ("2021-01-22", 2170), ("2021-03-15", 2360), ("2021-07-19", 2130),
        ("2021-10-15", 2250), ("2021-11-08", 2440), ("2022-06-16", 1650), ("2022-08-16", 2020),
        ("2023-10-27", 1640), ("2024-07-31", 2260), ("2024-08-07", 2060),
        ("2024-10-15", 2280), ("2024-11-25", 2465), ("2025-01-10", 2180), ("2025-04-08", 1760),
        ("2025-07-28", 2260), ("2025-09-26", 2440), ("2025-10-06", 2510), ("2025-11-20", 2305),
        ("2025-12-04", 2545), ("2025-12-11", 2595), ("2025-12-19", 2540),
        ("2025-12-31", 2560),
    ],
    # the others that tell the story of 2025-12-11: the Dow, the S&P 500 and silver at record
    # closes, the Nasdaq 100 (and QQQ with it) about 1.6 % below its October record, gold
    # below its October record
    "^GSPC": [
        ("2018-01-02", 2695), ("2018-01-26", 2873), ("2018-02-08", 2581), ("2018-09-20", 2931),
        ("2018-12-24", 2351), ("2019-07-26", 3026), ("2019-08-05", 2844), ("2020-02-19", 3386),
        ("2020-03-23", 2237), ("2020-09-02", 3580), ("2020-09-23", 3237), ("2021-01-25", 3855),
        ("2021-09-02", 4537), ("2021-10-04", 4300), ("2022-01-03", 4797), ("2022-06-16", 3667),
        ("2022-08-16", 4305), ("2022-10-12", 3577), ("2023-07-31", 4589), ("2023-10-27", 4117),
        ("2024-01-19", 4840), ("2024-07-16", 5667), ("2024-08-05", 5186), ("2024-12-06", 6090),
        ("2025-01-10", 5827), ("2025-02-19", 6144), ("2025-04-08", 4983), ("2025-06-27", 6173),
        ("2025-10-28", 6891), ("2025-11-20", 6539), ("2025-12-11", 6901), ("2025-12-19", 6750),
        ("2025-12-31", 6850),
    ],
    "^DJI": [
        ("2018-01-02", 24824), ("2018-01-26", 26617), ("2018-02-08", 23860),
        ("2018-10-03", 26828), ("2018-12-24", 21792), ("2019-07-15", 27359),
        ("2019-08-14", 25479), ("2020-02-12", 29551), ("2020-03-23", 18592),
        ("2020-11-24", 30046), ("2021-08-16", 35625), ("2021-10-04", 33900),
        ("2021-11-08", 36430), ("2021-12-01", 34000), ("2022-01-04", 36800),
        ("2022-09-30", 28726), ("2023-07-31", 35560), ("2023-10-27", 32400),
        ("2023-12-13", 37090), ("2024-05-17", 40004), ("2024-08-05", 38703),
        ("2024-12-04", 45014), ("2025-04-08", 37646), ("2025-11-12", 48255),
        ("2025-11-20", 45752), ("2025-12-11", 48704), ("2025-12-19", 47300),
        ("2025-12-31", 48000),
    ],
    "^NDX": [
        ("2018-01-02", 6450), ("2018-03-12", 7130), ("2018-04-02", 6400), ("2018-10-01", 7660),
        ("2018-12-24", 5900), ("2019-07-26", 7980), ("2020-02-19", 9718), ("2020-03-16", 7020),
        ("2020-09-02", 12420), ("2021-03-08", 12300), ("2021-11-19", 16573),
        ("2022-06-16", 11128), ("2022-12-28", 10679), ("2023-07-19", 15841),
        ("2023-10-26", 14110), ("2024-07-10", 20676), ("2024-08-07", 18300),
        ("2024-12-16", 22097), ("2025-04-08", 17090), ("2025-10-29", 26150),
        ("2025-11-20", 24050), ("2025-12-11", 25730), ("2025-12-19", 25100),
        ("2025-12-31", 25300),
    ],
    "GC=F": [
        ("2018-01-02", 1316), ("2018-01-25", 1362), ("2018-08-16", 1174), ("2019-09-04", 1552),
        ("2019-11-12", 1453), ("2020-03-19", 1478), ("2020-08-06", 2069), ("2021-03-08", 1683),
        ("2022-03-08", 2043), ("2022-09-28", 1622), ("2023-05-03", 2048), ("2023-10-05", 1820),
        ("2024-03-08", 2185), ("2024-10-30", 2800), ("2024-12-30", 2606), ("2025-04-21", 3500),
        ("2025-05-14", 3150), ("2025-10-20", 4360), ("2025-10-28", 3950), ("2025-12-11", 4280),
        ("2025-12-19", 4370), ("2025-12-31", 4330),
    ],
    "SI=F": [
        ("2018-01-02", 17.2), ("2018-11-13", 13.9), ("2019-09-04", 19.6), ("2020-03-18", 11.8),
        ("2020-08-06", 29.4), ("2020-11-30", 22.4), ("2021-02-01", 29.0), ("2022-09-01", 17.8),
        ("2023-05-04", 26.1), ("2023-10-03", 20.7), ("2024-05-20", 32.3), ("2024-08-07", 26.5),
        ("2024-10-22", 34.9), ("2024-12-31", 28.9), ("2025-04-07", 28.3), ("2025-07-22", 39.5),
        ("2025-10-16", 53.8), ("2025-10-28", 46.5), ("2025-11-20", 51.0), ("2025-12-11", 64.0),
        ("2025-12-19", 60.5), ("2025-12-31", 66.0),
    ],
}

# Federal funds target range upper bound; the lower bound is 0.25 below.
# These are the published FOMC decisions 2017-2025 (facts), used so the demo's
# rate path looks like the real one.
TARGET_UPPER: list[tuple[str, float]] = [
    ("2017-12-14", 1.50), ("2018-03-22", 1.75), ("2018-06-14", 2.00),
    ("2018-09-27", 2.25), ("2018-12-20", 2.50), ("2019-08-01", 2.25),
    ("2019-09-19", 2.00), ("2019-10-31", 1.75), ("2020-03-04", 1.25),
    ("2020-03-16", 0.25), ("2022-03-17", 0.50), ("2022-05-05", 1.00),
    ("2022-06-16", 1.75), ("2022-07-28", 2.50), ("2022-09-22", 3.25),
    ("2022-11-03", 4.00), ("2022-12-15", 4.50), ("2023-02-02", 4.75),
    ("2023-03-23", 5.00), ("2023-05-04", 5.25), ("2023-07-27", 5.50),
    ("2024-09-19", 5.00), ("2024-11-08", 4.75), ("2024-12-19", 4.50),
    ("2025-09-18", 4.25), ("2025-10-30", 4.00), ("2025-12-11", 3.75),
]

# Weekly balance-sheet shapes in billions of USD (converted to FRED's millions on write).
BALANCE_SHEET_BN: dict[str, list[tuple[str, float]]] = {
    "WALCL": [("2018-01-03", 4440), ("2019-08-28", 3760), ("2020-06-10", 7170),
              ("2022-04-13", 8965), ("2024-06-12", 7280), ("2025-12-10", 6540),
              ("2025-12-31", 6600)],
    "TREAST": [("2018-01-03", 2450), ("2019-08-28", 2090), ("2020-06-10", 4150),
               ("2022-06-01", 5770), ("2024-06-12", 4420), ("2025-12-10", 4190),
               ("2025-12-31", 4235)],
    "WSHOBL": [("2018-01-03", 0.01), ("2019-10-16", 1), ("2020-06-10", 326),
               ("2022-06-01", 326), ("2024-06-12", 200), ("2025-12-10", 195),
               ("2025-12-31", 235)],
    "WSHOMCB": [("2018-01-03", 1765), ("2019-08-28", 1500), ("2020-06-10", 1930),
                ("2022-04-13", 2710), ("2024-06-12", 2350), ("2025-12-31", 2060)],
    "WRESBAL": [("2018-01-03", 2200), ("2019-09-11", 1390), ("2021-12-15", 4270),
                ("2022-10-05", 3000), ("2024-06-12", 3350), ("2025-12-31", 2900)],
    "WTREGEN": [("2018-01-03", 230), ("2020-07-22", 1800), ("2021-12-15", 200),
                ("2023-06-07", 60), ("2024-06-12", 750), ("2025-12-31", 800)],
    "WDTGAL": [("2018-01-03", 230), ("2020-07-22", 1800), ("2021-12-15", 200),
               ("2023-06-07", 60), ("2024-06-12", 750), ("2025-12-10", 805),
               ("2025-12-31", 800)],
}
RRP_BN: list[tuple[str, float]] = [
    ("2018-01-02", 5), ("2021-03-01", 5), ("2021-12-31", 1900), ("2022-12-30", 2550),
    ("2023-06-01", 2200), ("2024-06-03", 450), ("2025-06-02", 200), ("2025-12-31", 5),
]


def _interp(anchors: list[tuple[str, float]], days: pd.DatetimeIndex, log: bool) -> np.ndarray:
    x = pd.to_datetime([a[0] for a in anchors]).asi8
    y = np.array([a[1] for a in anchors], dtype=float)
    y = np.log(y) if log else y
    out = np.interp(days.asi8, x, y)
    return np.exp(out) if log else out


def _anchored_path(
    rng: np.random.Generator, days: pd.DatetimeIndex, anchors: list[tuple[str, float]],
    daily_vol: float,
) -> np.ndarray:
    """Price path that passes exactly through every anchor.

    Log-linear interpolation between anchors plus mean-reverting AR(1) noise (phi 0.6):
    daily returns keep about `daily_vol`, while the path stays within a few percent of the
    anchor line. The noise fades to zero over the five sessions around each anchor.
    """
    log_path = np.log(_interp(anchors, days, log=True))
    phi = 0.6
    shocks = rng.normal(0.0, daily_vol, len(days))
    noise = np.zeros(len(days))
    for t in range(1, len(days)):
        noise[t] = phi * noise[t - 1] + shocks[t]
    anchor_idx = np.searchsorted(days.asi8, pd.to_datetime([a[0] for a in anchors]).asi8)
    distance = np.min(np.abs(np.arange(len(days))[:, None] - anchor_idx[None, :]), axis=1)
    taper = np.clip(distance / 5.0, 0.0, 1.0)
    path = log_path + noise * taper
    # Between two anchors the path stays within their range (excursions are reflected
    # back), so only the anchors decide where records and troughs fall.
    levels = np.log([a[1] for a in anchors])
    for k, (a, b) in enumerate(zip(anchor_idx[:-1], anchor_idx[1:], strict=True)):
        lo, hi = min(levels[k], levels[k + 1]), max(levels[k], levels[k + 1])
        seg = path[a : b + 1]
        seg = np.where(seg > hi, 2 * hi - seg, seg)
        seg = np.where(seg < lo, 2 * lo - seg, seg)
        path[a : b + 1] = np.clip(seg, lo, hi)
    return np.exp(path)


def _ohlcv(
    rng: np.random.Generator, days: pd.DatetimeIndex, close: np.ndarray, daily_vol: float,
    volume_level: float,
) -> pd.DataFrame:
    prev = np.concatenate([[close[0]], close[:-1]])
    open_ = prev * np.exp(rng.normal(0.0, daily_vol * 0.25, len(close)))
    top = np.maximum(open_, close)
    bottom = np.minimum(open_, close)
    high = top * np.exp(np.abs(rng.normal(0.0, daily_vol * 0.5, len(close))))
    low = bottom * np.exp(-np.abs(rng.normal(0.0, daily_vol * 0.5, len(close))))
    volume = np.round(volume_level * np.exp(rng.normal(0.0, 0.3, len(close))))
    return pd.DataFrame(
        {
            "date": days.strftime("%Y-%m-%d"),
            "open": open_.round(6),
            "high": high.round(6),
            "low": low.round(6),
            "close": close.round(6),
            "adj_close": close.round(6),
            "volume": volume.astype("int64"),
        }
    )


def _sessions(calendar: str) -> pd.DatetimeIndex:
    if calendar == "24/7":
        return pd.date_range(START, END, freq="D")
    import exchange_calendars as xcals  # slow to import: only when generating

    cal = xcals.get_calendar(calendar, start=START.isoformat())
    return pd.DatetimeIndex(cal.sessions_in_range(START.isoformat(), END.isoformat())).tz_localize(
        None
    )


def _market_closes(
    rng: np.random.Generator, instruments: tuple[Instrument, ...]
) -> dict[str, tuple[pd.DatetimeIndex, np.ndarray, float]]:
    """Close paths per symbol: anchored symbols first, then followers and the rest."""
    out: dict[str, tuple[pd.DatetimeIndex, np.ndarray, float]] = {}
    by_symbol = {i.symbol: i for i in instruments}
    # The equity factor: ^RUT's log returns on NYSE sessions, used for correlated indices.
    nyse = _sessions("XNYS")
    rut_vol = float(by_symbol.get("^RUT", Instrument("^RUT", "", "equity_index", "XNYS")).demo.get(
        "vol", 0.22)) / np.sqrt(TRADING_DAYS)
    rut = _anchored_path(rng, nyse, ANCHORS["^RUT"], rut_vol)
    factor = np.diff(np.log(rut), prepend=np.log(rut[0]))
    for inst in instruments:
        vol_annual = float(inst.demo.get("vol", 0.2))
        per_year = 365 if inst.calendar == "24/7" else TRADING_DAYS
        daily_vol = vol_annual / np.sqrt(per_year)
        days = _sessions(inst.calendar)
        if inst.symbol in ANCHORS:
            if inst.symbol == "^RUT":
                close = rut
            else:
                close = _anchored_path(rng, days, ANCHORS[inst.symbol], daily_vol)
        else:
            # correlated with the small-cap factor (equity indices) or independent
            # (commodities), drifting from the catalog's demo start to its demo end level
            beta = 0.8 if inst.asset_class in ("equity_index", "etf") else 0.0
            idio_vol = daily_vol * (0.6 if beta else 1.0)
            rets = beta * factor[: len(days)] + rng.normal(0.0, idio_vol, len(days))
            rets[0] = 0.0
            start = float(inst.demo.get("start", 100.0))
            end = float(inst.demo.get("end", start))
            rets[1:] += (np.log(end / start) - rets.sum()) / (len(days) - 1)
            close = start * np.exp(np.cumsum(rets))
        out[inst.symbol] = (days, close, daily_vol)
    # ETFs that follow an index: the index scaled, plus a little tracking noise.
    for inst in instruments:
        leader = inst.demo.get("follows")
        if leader and leader in out:
            days, lead_close, lead_vol = out[leader]
            ratio = float(inst.demo.get("start", 100.0)) / lead_close[0]
            track = np.exp(np.cumsum(rng.normal(0.0, 0.0004, len(days))))
            out[inst.symbol] = (days, lead_close * ratio * track, lead_vol)
    return out


def _wednesdays() -> pd.DatetimeIndex:
    return pd.date_range(START, END, freq="W-WED")


def _business_days() -> pd.DatetimeIndex:
    return pd.bdate_range(START, END)


def _policy_series(rng: np.random.Generator, kind: str) -> pd.DataFrame:
    upper_steps = pd.Series(
        [u for _, u in TARGET_UPPER], index=pd.to_datetime([d for d, _ in TARGET_UPPER])
    )
    if kind in ("upper", "lower", "iorb"):
        days = pd.date_range(START, END, freq="D")
    else:
        days = _business_days()
    upper = upper_steps.reindex(days.union(upper_steps.index)).ffill().reindex(days).to_numpy()
    lower = upper - 0.25
    if kind == "upper":
        values = upper
    elif kind == "lower":
        values = lower
    elif kind == "effective":
        values = lower + 0.08 + rng.integers(-1, 2, len(days)) * 0.01
    elif kind == "sofr":
        values = lower + 0.06 + rng.integers(-3, 4, len(days)) * 0.01
    elif kind == "iorb":
        values = upper - 0.10
        days_mask = days >= pd.Timestamp("2021-07-29")
        days, values = days[days_mask], values[days_mask]
    elif kind == "two_year":
        # the 2-year yield anticipates the policy path: next year's upper bound, plus noise
        ahead = upper_steps.reindex(
            (days + pd.Timedelta(days=365)).union(upper_steps.index)
        ).ffill()
        ahead = ahead.reindex(days + pd.Timedelta(days=365)).to_numpy()
        ahead = np.where(np.isnan(ahead), upper, ahead)
        wander = np.cumsum(rng.normal(0.0, 0.03, len(days)))
        wander -= pd.Series(wander).rolling(60, min_periods=1).mean().to_numpy()
        values = np.clip((upper + ahead) / 2 - 0.1 + wander, 0.05, None)
    else:
        raise ValueError(f"unknown demo policy series kind {kind!r}")
    return pd.DataFrame({"date": days.strftime("%Y-%m-%d"), "value": np.round(values, 2)})


def _fred_frame(rng: np.random.Generator, series: FredSeries) -> pd.DataFrame:
    kind = series.demo.get("policy")
    if kind:
        return _policy_series(rng, kind)
    if series.id == "RRPONTSYD":
        days = _business_days()
        base = _interp(RRP_BN, days, log=False)
        values = np.clip(base * np.exp(rng.normal(0, 0.08, len(days))), 0.0, None)
        return pd.DataFrame({"date": days.strftime("%Y-%m-%d"), "value": values.round(3)})
    days = _wednesdays()
    divide_by = float(fred_units()[series.units]["divide_by"])  # FRED's unit -> billions
    shape = BALANCE_SHEET_BN.get(series.id)
    if shape is None:
        # a series added to the catalog without a demo shape: a gentle random walk
        start = float(series.demo.get("start", 1000.0))
        shape_bn = start * np.exp(np.cumsum(rng.normal(0, 0.01, len(days))))
        values_bn = shape_bn / divide_by
    else:
        values_bn = _interp(shape, days, log=False)
        wobble = float(series.demo.get("vol", 0.02)) / 4
        values_bn = values_bn * np.exp(rng.normal(0, wobble, len(days)))
    values = np.round(values_bn * divide_by)
    return pd.DataFrame({"date": days.strftime("%Y-%m-%d"), "value": values.astype("int64")})


def generate_demo_data(target: Path, catalog: Catalog, seed: int = SEED) -> dict:
    """Write synthetic market/<FILE>.csv and fred/<SERIES>.csv under `target`.

    Deterministic: the same catalog and seed give byte-identical files. Returns a summary.
    """
    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    rows = {"market": 0, "fred": 0}
    for symbol, (days, close, daily_vol) in _market_closes(rng, catalog.market).items():
        inst = catalog.instrument(symbol)
        volume_level = 3e10 if inst.asset_class == "crypto" else 4e9 if inst.asset_class == (
            "equity_index") else 5e7 if inst.asset_class == "etf" else 1.5e5
        frame = _ohlcv(rng, days, close, daily_vol, volume_level)
        path = market_path(target, symbol)
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(path, index=False)
        rows["market"] += len(frame)
    for series in catalog.fred:
        frame = _fred_frame(rng, series)
        path = fred_path(target, series.id)
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(path, index=False)
        rows["fred"] += len(frame)
    summary = {
        "synthetic": True,
        "generator": "orchestration.sources.demo",
        "seed": seed,
        "start": START.isoformat(),
        "end": END.isoformat(),
        "rows": rows,
        "note": "SYNTHETIC demo data shaped to tell lockstep's story. Not market data.",
    }
    (target / MARKER_FILE).write_text(json.dumps(summary, indent=2) + "\n")
    return summary
