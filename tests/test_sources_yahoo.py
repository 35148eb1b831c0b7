"""yfinance normalisation (hand-made frames in yfinance's shapes) and the real yfinance
client against a local server that speaks Yahoo's chart API."""

from datetime import date

import numpy as np
import pandas as pd
import pytest

from orchestration.lib.retry import Backoff
from orchestration.sources.yahoo.client import (
    OVERLAP_DAYS,
    YahooSource,
    incremental_start,
    normalise_download,
    routing_session,
)
from tests.fakes.yahoo import FakeYahoo

FIELDS = ["Adj Close", "Close", "High", "Low", "Open", "Volume"]
FAST = Backoff(attempts=2, base_delay_s=0.01)


def _wide(index, per_ticker: dict[str, dict[str, list]]) -> pd.DataFrame:
    """A frame shaped like yf.download(group_by='column'): columns (Price, Ticker)."""
    columns = pd.MultiIndex.from_tuples(
        [(f, t) for f in FIELDS for t in per_ticker], names=["Price", "Ticker"]
    )
    data = {(f, t): per_ticker[t][f] for f in FIELDS for t in per_ticker}
    return pd.DataFrame(data, index=pd.DatetimeIndex(index, name="Date"), columns=columns)


def _bars(closes):
    closes = [np.nan if c is None else float(c) for c in closes]
    return {
        "Open": [c - 1 for c in closes], "High": [c + 2 for c in closes],
        "Low": [c - 2 for c in closes], "Close": closes,
        "Adj Close": [c - 0.5 for c in closes], "Volume": [1000.0 if c == c else np.nan
                                                          for c in closes],
    }


def test_multiindex_columns_become_long_rows_and_weekend_nans_drop():
    # Fri, Sat, Sun, Mon: BTC trades every day, ^RUT only on Fri and Mon
    days = ["2025-12-05", "2025-12-06", "2025-12-07", "2025-12-08"]
    frame = _wide(days, {"BTC-USD": _bars([90000, 91000, 89500, 92000]),
                         "^RUT": _bars([2500, None, None, 2510])})
    out, missing = normalise_download(frame, ["BTC-USD", "^RUT"])
    assert missing == {}
    rut = out[out.symbol == "^RUT"]
    assert list(rut.date) == [date(2025, 12, 5), date(2025, 12, 8)]
    assert list(rut.close) == [2500.0, 2510.0] and list(rut.adj_close) == [2499.5, 2509.5]
    btc = out[out.symbol == "BTC-USD"]
    assert len(btc) == 4 and btc.volume.tolist() == [1000] * 4
    assert list(out.columns) == ["symbol", "date", "open", "high", "low", "close", "adj_close",
                                 "volume"]


def test_ticker_first_column_order_is_understood():
    frame = _wide(["2025-12-05"], {"IWM": _bars([250])})
    frame.columns = frame.columns.swaplevel(0, 1)
    frame.columns.names = ["Ticker", "Price"]
    out, missing = normalise_download(frame, ["IWM"])
    assert missing == {} and out.close.tolist() == [250.0]


def test_empty_frame_is_a_failure_for_every_symbol():
    out, missing = normalise_download(pd.DataFrame(), ["BTC-USD", "^RUT"])
    assert out.empty
    assert set(missing) == {"BTC-USD", "^RUT"}


def test_missing_ticker_is_reported_not_skipped():
    frame = _wide(["2025-12-05", "2025-12-08"], {"^RUT": _bars([2500, 2510]),
                                                 "^NDX": _bars([None, None])})
    out, missing = normalise_download(frame, ["^RUT", "^NDX", "GC=F"])
    assert set(out.symbol) == {"^RUT"}
    assert set(missing) == {"^NDX", "GC=F"}
    assert "no rows" in missing["^NDX"] and "nothing" in missing["GC=F"]


def test_tz_aware_index_keeps_the_exchange_local_date():
    # 00:00 New York on Dec 5 is 05:00 UTC: the trading date stays Dec 5
    index = pd.DatetimeIndex(["2025-12-05 00:00"]).tz_localize("America/New_York")
    frame = _wide(index, {"^RUT": _bars([2500])})
    out, _ = normalise_download(frame, ["^RUT"])
    assert out.date.tolist() == [date(2025, 12, 5)]


def test_incremental_start_overlaps_seven_days_or_takes_full_history():
    last = {"BTC-USD": date(2025, 12, 10), "^RUT": date(2025, 12, 5)}
    assert OVERLAP_DAYS == 7
    assert incremental_start(last, ["BTC-USD", "^RUT"]) == date(2025, 11, 28)
    assert incremental_start(last, ["BTC-USD", "^RUT", "IWM"]) is None


@pytest.fixture()
def calendars(catalog):
    return {i.symbol: i.calendar for i in catalog.market}


def test_real_yfinance_client_against_local_chart_api(real_data, catalog, calendars, tmp_path):
    """yfinance runs unmodified; its Yahoo URLs go to a local server serving real history."""
    with FakeYahoo(real_data, calendars) as server:
        source = YahooSource(tmp_path / "yf", session=routing_session(server.url),
                             retry=FAST)
        result = source.fetch_market(catalog.market)
    expected = {}
    for inst in catalog.market:
        path = real_data / "market" / f"{inst.file_stem}.csv"
        if path.exists():
            expected[inst.symbol] = pd.read_csv(path)
    # every symbol with a file arrives whole; the one without (^NDX) is a named failure
    assert set(result.failures) == set(calendars) - set(expected)
    for symbol, csv in expected.items():
        got = result.frame[result.frame.symbol == symbol]
        assert len(got) == len(csv), symbol
        assert [d.isoformat() for d in got.date] == csv.date.tolist(), symbol
        np.testing.assert_allclose(got.close.to_numpy(), csv.close.to_numpy(), rtol=1e-12)
        np.testing.assert_allclose(got.adj_close.to_numpy(), csv.adj_close.to_numpy(),
                                   rtol=1e-12)
    btc = result.frame[(result.frame.symbol == "BTC-USD")].set_index("date")
    assert btc.loc[date(2025, 10, 6), "close"] == pytest.approx(124752.53, abs=0.01)


def test_unreachable_yahoo_fails_loudly_for_every_symbol(catalog, tmp_path):
    # a port nothing listens on: connection refused, yfinance returns an empty frame
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    source = YahooSource(tmp_path / "yf", session=routing_session(f"http://127.0.0.1:{port}"),
                         timeout=2, retry=FAST)
    result = source.fetch_market(catalog.market[:2])
    assert result.frame.empty
    assert set(result.failures) == {"BTC-USD", "^RUT"}


def test_a_first_load_asks_for_bars_older_than_99_years(catalog, calendars, tmp_path):
    """yfinance's period="max" means the last 99 years: a first load asks from the first
    year the warehouse holds instead, so a bar of 1927-01-03 (hand-made; older than 99 years
    from 2026-01-03 on) arrives with the rest."""
    data = tmp_path / "data"
    (data / "market").mkdir(parents=True)
    pd.DataFrame({"date": ["1927-01-03", "2024-01-02"], "open": [8.0, 4745.2],
                  "high": [8.1, 4754.3], "low": [7.9, 4722.7], "close": [8.05, 4742.8],
                  "adj_close": [8.05, 4742.8], "volume": [0, 3743050000]}
                 ).to_csv(data / "market" / "GSPC.csv", index=False)
    [gspc] = [i for i in catalog.market if i.symbol == "^GSPC"]
    with FakeYahoo(data, calendars) as server:
        source = YahooSource(tmp_path / "yf", session=routing_session(server.url),
                             retry=FAST)
        result = source.fetch_market([gspc])
    assert result.failures == {}
    assert [d.isoformat() for d in result.frame.date] == ["1927-01-03", "2024-01-02"]
    assert result.frame.close.tolist() == pytest.approx([8.05, 4742.8])
