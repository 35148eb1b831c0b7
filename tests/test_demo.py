"""The demo generator: deterministic, labelled synthetic, and it tells lockstep's story.

The story is checked with plain pandas on the generated files, independent of the marts.
"""

import json

import pandas as pd
import pytest

from orchestration.sources.demo.client import STORY_DATE, generate_demo_data
from orchestration.sources.files.client import MARKER_FILE


def _load(demo_dir, stem):
    return pd.read_csv(demo_dir / "market" / f"{stem}.csv", parse_dates=["date"]).set_index(
        "date")


def test_deterministic(demo_dir, catalog, tmp_path):
    again = tmp_path / "again"
    generate_demo_data(again, catalog)
    for path in sorted(demo_dir.rglob("*.csv")):
        twin = again / path.relative_to(demo_dir)
        assert twin.read_bytes() == path.read_bytes(), path.name


def test_marker_says_synthetic(demo_dir):
    marker = json.loads((demo_dir / MARKER_FILE).read_text())
    assert marker["synthetic"] is True and "not market data" in marker["note"].lower()


def test_calendars_equities_skip_weekends_btc_does_not(demo_dir):
    btc, rut = _load(demo_dir, "BTC-USD"), _load(demo_dir, "RUT")
    assert (rut.index.dayofweek < 5).all()
    assert (btc.index.dayofweek >= 5).any()
    assert (btc.index.to_series().diff().dropna() == pd.Timedelta(days=1)).all()
    # NYSE holidays are absent: Christmas 2024 and Thanksgiving 2025
    assert pd.Timestamp("2024-12-25") not in rut.index
    assert pd.Timestamp("2025-11-27") not in rut.index


def test_weekly_fred_on_wednesdays_in_fred_units(demo_dir):
    walcl = pd.read_csv(demo_dir / "fred" / "WALCL.csv", parse_dates=["date"])
    assert (walcl.date.dt.dayofweek == 2).all()
    # millions of USD, like FRED: a few trillion dollars
    assert walcl.value.between(3_000_000, 10_000_000).all()
    upper = pd.read_csv(demo_dir / "fred" / "DFEDTARU.csv", parse_dates=["date"])
    lower = pd.read_csv(demo_dir / "fred" / "DFEDTARL.csv", parse_dates=["date"])
    assert (upper.value - lower.value).round(4).eq(0.25).all()


def test_ohlc_is_consistent(demo_dir, catalog):
    for inst in catalog.market:
        bars = _load(demo_dir, inst.file_stem)
        assert (bars.low <= bars[["open", "close"]].min(axis=1)).all(), inst.symbol
        assert (bars.high >= bars[["open", "close"]].max(axis=1)).all(), inst.symbol
        assert (bars.close > 0).all()


@pytest.mark.parametrize("stem, low, high", [("BTC-USD", 0.45, 0.95), ("RUT", 0.15, 0.35),
                                              ("GSPC", 0.10, 0.30), ("GC_F", 0.08, 0.25)])
def test_realistic_annual_volatility(demo_dir, stem, low, high):
    bars = _load(demo_dir, stem)
    per_year = 365 if stem == "BTC-USD" else 252
    vol = bars.close.pct_change().std() * per_year**0.5
    assert low < vol < high


def _records(close):
    return close >= close.cummax()


def test_the_story(demo_dir):
    btc, rut = _load(demo_dir, "BTC-USD"), _load(demo_dir, "RUT")
    btc_record = _records(btc.close)
    rut_record = _records(rut.close)
    # earlier stretches: both set records within a few days of each other
    for month in ("2021-11", "2024-11", "2025-10"):
        assert btc_record[month].any() and rut_record[month].any(), month
    # the final stretch: ^RUT sets records in December 2025 ...
    december = rut_record["2025-12"]
    assert december.sum() >= 3
    # ... while BTC is 20-30 % below its record close and 25-30 % below its record high
    btc_high = btc[["high", "close"]].max(axis=1)
    for day in december[december].index:
        below_close = btc.close[day] / btc.close[:day].max() - 1
        below_high = btc.close[day] / btc_high[:day].max() - 1
        assert -0.30 <= below_high <= below_close <= -0.20, day
        assert below_high <= -0.25, day


def test_the_story_of_2025_12_11(demo_dir):
    """The day the demo brief is about reads like the real one: ^RUT, ^DJI, ^GSPC and silver
    at record closes, the Nasdaq 100 and QQQ just below theirs, gold below its October
    record, Bitcoin about 27 % below its October record high, and the ^RUT/BTC-USD split the
    first since January 2021."""
    day = pd.Timestamp(STORY_DATE)
    for stem in ("RUT", "DJI", "GSPC", "SI_F"):
        close = _load(demo_dir, stem).close[:day]
        assert close.iloc[-1] >= close.iloc[:-1].max(), stem
    for stem in ("NDX", "QQQ", "GC_F"):
        close = _load(demo_dir, stem).close[:day]
        assert -0.03 < close.iloc[-1] / close.max() - 1 < -0.005, stem
    btc = _load(demo_dir, "BTC-USD")[:day]
    high = btc[["high", "close"]].max(axis=1)
    assert high.idxmax().strftime("%Y-%m") == "2025-10"
    assert -0.28 <= btc.close.iloc[-1] / high.max() - 1 <= -0.26
    # divergent days of ^RUT/BTC-USD: ^RUT at a record close, BTC 20 %+ below its record high
    rut = _load(demo_dir, "RUT")[:day]
    btc_dd = (btc.close / high.cummax() - 1).reindex(rut.index)
    divergent = rut.index[_records(rut.close) & (btc_dd <= -0.20)]
    before = divergent[divergent < pd.Timestamp("2025-11-01")]
    assert before[-1].strftime("%Y-%m") == "2021-01"  # the previous split: about 5 years
    assert pd.Timestamp("2025-12-04") in divergent and day in divergent
