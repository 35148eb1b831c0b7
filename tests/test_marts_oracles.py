"""Drawdowns against independent implementations -- quantstats, ffn, empyrical-reloaded --
on every market series of ../shared/data/real, every date."""

import warnings

import empyrical
import ffn
import numpy as np
import pandas as pd
import pytest
import quantstats as qs

from tests.conftest import query

pytestmark = [pytest.mark.slow, pytest.mark.real_data]


@pytest.fixture(scope="module")
def ours(real_warehouse):
    _, warehouse = real_warehouse
    daily = query(warehouse, "SELECT symbol, date, close, drawdown_close "
                             "FROM marts.fct_drawdowns_daily ORDER BY symbol, date")
    episodes = query(warehouse, "SELECT * FROM marts.fct_drawdown_episodes "
                                "ORDER BY symbol, peak_date")
    return daily, episodes


def _series(daily, symbol):
    rows = daily[daily.symbol == symbol]
    return rows.set_index("date")


@pytest.fixture(scope="module")
def symbols(ours):
    return sorted(ours[0].symbol.unique())


def test_covers_every_real_symbol(symbols, real_data):
    assert len(symbols) == len(list((real_data / "market").glob("*.csv")))


def test_per_date_drawdown_equals_quantstats_and_ffn(ours, symbols):
    daily, _ = ours
    for symbol in symbols:
        rows = _series(daily, symbol)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            qs_dd = qs.stats.to_drawdown_series(rows.close)
        ffn_dd = ffn.core.to_drawdown_series(rows.close)
        ours_dd = rows.drawdown_close.to_numpy()
        np.testing.assert_allclose(ours_dd, qs_dd.reindex(rows.index).to_numpy(), rtol=0,
                                   atol=1e-9, err_msg=f"quantstats {symbol}")
        np.testing.assert_allclose(ours_dd, ffn_dd.to_numpy(), rtol=0, atol=1e-9,
                                   err_msg=f"ffn {symbol}")


def test_max_drawdown_equals_empyrical(ours, symbols):
    daily, episodes = ours
    for symbol in symbols:
        rows = _series(daily, symbol)
        expected = empyrical.max_drawdown(rows.close.pct_change().dropna())
        assert rows.drawdown_close.min() == pytest.approx(expected, abs=1e-9), symbol
        worst_episode = episodes[episodes.symbol == symbol].max_drawdown.min()
        assert worst_episode == pytest.approx(expected, abs=1e-9), symbol


def test_episode_dates_match_quantstats_and_ffn(ours, symbols):
    daily, episodes = ours
    for symbol in symbols:
        rows = _series(daily, symbol)
        dd = pd.Series(rows.drawdown_close.to_numpy(), index=pd.DatetimeIndex(rows.index))
        mine = episodes[episodes.symbol == symbol]
        last_day = dd.index[-1]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            qs_details = qs.stats.drawdown_details(dd)
        ffn_details = ffn.core.drawdown_details(dd)
        assert len(qs_details) == len(mine) == len(ffn_details), symbol
        # quantstats: start = first day below the peak, valley = trough, end = last day below
        assert pd.to_datetime(qs_details.start).tolist() == mine.first_date_below_peak.tolist()
        assert pd.to_datetime(qs_details.valley).tolist() == mine.trough_date.tolist()
        assert pd.to_datetime(qs_details.end).tolist() == mine.last_date_below_peak.tolist()
        # ffn: Start = first day below the peak, End = recovery (the last day while ongoing)
        recovery = mine.recovery_date.fillna(last_day)
        assert pd.to_datetime(ffn_details.Start).tolist() == mine.first_date_below_peak.tolist()
        assert pd.to_datetime(ffn_details.End).tolist() == recovery.tolist()
        # the peak is the last record day before the first day below it
        records = rows.index[rows.drawdown_close == 0]
        expected_peaks = [records[records < start].max() for start in mine.first_date_below_peak]
        assert expected_peaks == mine.peak_date.tolist(), symbol
