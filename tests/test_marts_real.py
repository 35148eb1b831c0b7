"""The analytical marts on the real history (files source over ../shared/data/real).

Figures named in the issue are asserted as examples; beyond them every symbol and date is
compared with independent computations in pandas.
"""

from datetime import date

import numpy as np
import pandas as pd
import pytest

from orchestration.catalog import file_stem_for_symbol
from tests.conftest import cut_real_history, materialize_all, query

pytestmark = [pytest.mark.slow, pytest.mark.real_data]

PAIR = "^RUT/BTC-USD"


@pytest.fixture(scope="module")
def wh(real_warehouse):
    result, warehouse = real_warehouse
    assert result.success
    return warehouse


@pytest.fixture(scope="module")
def prices(real_data, catalog):
    """Independent read of the real files: {symbol: frame indexed by date}."""
    out = {}
    for inst in catalog.market:
        path = real_data / "market" / f"{inst.file_stem}.csv"
        if path.exists():
            frame = pd.read_csv(path, parse_dates=["date"]).set_index("date")
            frame["high_value"] = frame[["high", "close"]].max(axis=1)
            frame["low_value"] = frame[["low", "close"]].min(axis=1)
            out[inst.symbol] = frame
    return out


def test_btc_records(wh):
    latest = query(wh, """
        SELECT basis, date, value FROM marts.fct_all_time_highs WHERE symbol = 'BTC-USD'
        QUALIFY row_number() OVER (PARTITION BY basis ORDER BY date DESC) = 1 ORDER BY basis""")
    assert latest.basis.tolist() == ["close", "high"]
    assert latest.date.dt.date.tolist() == [date(2025, 10, 6), date(2025, 10, 6)]
    assert latest.value.round(2).tolist() == [124752.53, 126198.07]


def test_rut_record_and_btc_on_2025_12_11(wh):
    rut = query(wh, "SELECT value FROM marts.fct_all_time_highs WHERE symbol = '^RUT' "
                    "AND basis = 'close' AND date = DATE '2025-12-11'")
    assert rut.value.round(2).tolist() == [2590.61]
    btc = query(wh, "SELECT drawdown_close, drawdown_high FROM marts.fct_drawdowns_daily "
                    "WHERE symbol = 'BTC-USD' AND date = DATE '2025-12-11'").iloc[0]
    assert round(btc.drawdown_close, 3) == -0.258
    assert round(btc.drawdown_high, 3) == -0.267
    day = query(wh, "SELECT * FROM marts.fct_divergence_daily WHERE pair_id = ? "
                    "AND date = DATE '2025-12-11'", [PAIR]).iloc[0]
    assert day.is_divergent and day.leader_at_record and day.laggard_below_peak


def test_late_2025_divergence_and_the_five_year_gap(wh):
    days = query(wh, "SELECT date, previous_divergent_date FROM marts.fct_divergence_daily "
                     "WHERE pair_id = ? AND is_divergent AND date BETWEEN DATE '2025-01-01' "
                     "AND DATE '2025-12-31' ORDER BY date", [PAIR])
    assert days.date.dt.date.tolist() == [date(2025, 12, 4), date(2025, 12, 10),
                                          date(2025, 12, 11)]
    assert days.previous_divergent_date.dt.date.iloc[0] == date(2021, 1, 22)
    episode = query(wh, "SELECT * FROM marts.fct_divergence_episodes WHERE pair_id = ? "
                        "AND start_date = DATE '2025-12-04'", [PAIR]).iloc[0]
    assert episode.end_date.date() == date(2025, 12, 11) and episode.divergent_days == 3
    assert episode.previous_episode_end_date.date() == date(2021, 1, 22)
    assert episode.days_since_previous_episode == (date(2025, 12, 4) - date(2021, 1, 22)).days


def test_coinciding_record_clusters(wh):
    clusters = query(wh, "SELECT * FROM marts.fct_peak_coincidence WHERE pair_id = ? "
                         "AND event_type = 'record_cluster' AND coincides", [PAIR])

    def around(day, basis):
        rows = clusters[(clusters.leader_basis == basis)
                        & (clusters.leader_start_date.dt.date <= day)
                        & (clusters.leader_end_date.dt.date >= day)]
        assert len(rows) == 1, (day, basis)
        return rows.iloc[0]

    nov21 = around(date(2021, 11, 8), "close")
    assert nov21.laggard_event_date.date() == date(2021, 11, 8)
    assert "record_close" in nov21.laggard_event
    nov24 = around(date(2024, 11, 25), "high")
    assert round(nov24.leader_event_value, 2) == 2466.49
    assert nov24.laggard_event_date.date() == date(2024, 11, 22)
    assert round(nov24.laggard_event_value, 2) == 98997.66
    oct25 = around(date(2025, 10, 6), "close")
    assert oct25.laggard_event_date.date() == date(2025, 10, 6)


def test_joint_bottom_november_2025(wh):
    bottom = query(wh, "SELECT * FROM marts.fct_peak_coincidence WHERE pair_id = ? AND "
                       "event_type = 'joint_bottom' AND leader_event_date = DATE '2025-11-20'",
                   [PAIR]).iloc[0]
    assert round(bottom.leader_event_value, 2) == 2305.11
    assert bottom.laggard_event_date.date() == date(2025, 11, 21)
    assert round(bottom.laggard_event_value, 2) == 80659.81
    assert bottom.coincides


def test_records_every_symbol_and_date(wh, prices):
    # a table has no order of its own: the incremental model's rows come in whatever order
    # its windows and appends leave them
    ours = query(wh, "SELECT symbol, basis, date, value FROM marts.fct_all_time_highs "
                     "ORDER BY symbol, basis, date")
    for symbol, frame in prices.items():
        for basis, column in (("close", "close"), ("high", "high_value")):
            values = frame[column]
            expected = values[values >= values.cummax().shift(1).fillna(-np.inf)]
            got = ours[(ours.symbol == symbol) & (ours.basis == basis)].set_index("date")
            assert got.index.tolist() == expected.index.tolist(), (symbol, basis)
            np.testing.assert_array_equal(got.value.to_numpy(), expected.to_numpy())


def test_high_basis_drawdown_every_symbol_and_date(wh, prices):
    ours = query(wh, "SELECT symbol, date, drawdown_high, days_since_peak_close "
                     "FROM marts.fct_drawdowns_daily ORDER BY symbol, date")
    for symbol, frame in prices.items():
        got = ours[ours.symbol == symbol]
        expected = frame.close / frame.high_value.cummax() - 1
        np.testing.assert_allclose(got.drawdown_high.to_numpy(), expected.to_numpy(),
                                   rtol=0, atol=1e-12, err_msg=symbol)


def test_divergence_flags_and_correlations_every_date(wh, prices):
    rut, btc = prices["^RUT"], prices["BTC-USD"]
    aligned = pd.DataFrame({"leader": rut.close}).join(
        pd.DataFrame({"laggard": btc.close,
                      "laggard_dd_high": btc.close / btc.high_value.cummax() - 1}), how="left")
    record = rut.close >= rut.close.cummax().shift(1).fillna(-np.inf)
    expected_div = (record & (aligned.laggard_dd_high <= -0.20)).astype(object)
    expected_div[aligned.laggard.isna()] = None  # unknown without a Bitcoin close
    lr = np.log(aligned.leader / aligned.leader.shift(1))
    gr = np.log(aligned.laggard / aligned.laggard.shift(1))
    corr30 = lr.rolling(30).corr(gr)
    ours = query(wh, "SELECT date, is_divergent, return_corr_30 FROM marts.fct_divergence_daily "
                     "WHERE pair_id = ? ORDER BY date", [PAIR]).set_index("date")
    assert ours.index.tolist() == aligned.index.tolist()
    assert [None if pd.isna(v) else bool(v) for v in ours.is_divergent] == \
        expected_div.tolist()
    both = ours.return_corr_30.notna() | corr30.notna()
    np.testing.assert_allclose(ours.return_corr_30[both].to_numpy(dtype=float),
                               corr30[both].to_numpy(), atol=1e-9)


def _snapshot_changes(warehouse, prices, last_day=None):
    snap = query(warehouse, "SELECT * FROM marts.mart_market_snapshot").set_index("symbol")
    for symbol, frame in prices.items():
        frame = frame[frame.index <= (last_day or frame.index[-1])]
        row, close = snap.loc[symbol], frame.close
        last = close.index[-1]
        assert pd.Timestamp(row.latest_date) == last
        assert row.change_1d == pytest.approx(close.iloc[-1] / close.iloc[-2] - 1, abs=1e-12)
        week = close[close.index <= last - pd.Timedelta(days=7)].iloc[-1]
        assert row.change_1w == pytest.approx(close.iloc[-1] / week - 1, abs=1e-12)
        month = close[close.index <= last - pd.DateOffset(months=1)].iloc[-1]
        assert row.change_1m == pytest.approx(close.iloc[-1] / month - 1, abs=1e-12)
        year = close[close.index < pd.Timestamp(last.year, 1, 1)].iloc[-1]
        assert row.change_ytd == pytest.approx(close.iloc[-1] / year - 1, abs=1e-12), symbol
        assert row.fraction_below_record_high == pytest.approx(
            close.iloc[-1] / frame.high_value.max() - 1, abs=1e-12)
        assert bool(row.is_record_today) == bool(close.iloc[-1] >= close.max())


def test_snapshot_changes(wh, prices):
    _snapshot_changes(wh, prices)


def test_snapshot_changes_in_the_first_week_of_a_year(tmp_path, real_data, prices,
                                                      dbt_manifest):
    """The real history cut at Monday 2026-01-05: a week back (2025-12-29) is before the
    year's last session (2025-12-31), the close the year-to-date change is against. Two
    symbols have a gap of months before their reference dates, so the snapshot's scan of
    the last ~14 months misses their closes and must read further back: gold has no close
    from 2025-05-30 to the cut's last day, Bitcoin has nothing from September to December 20
    (its week-ago close is in the window, its month-ago close is August's last)."""
    gaps = {"GC=F": ("2025-06-01", "2026-01-04"), "BTC-USD": ("2025-09-01", "2025-12-20")}
    cut_real_history(real_data, tmp_path / "data", "2026-01-05",
                     gaps={file_stem_for_symbol(s): window for s, window in gaps.items()})
    result, warehouse = materialize_all(tmp_path, source="files",
                                        data_dir=str(tmp_path / "data"))
    assert result.success
    gapped = {symbol: frame[~frame.index.to_series().between(*gaps[symbol])]
              if symbol in gaps else frame for symbol, frame in prices.items()}
    assert gapped["GC=F"].index[gapped["GC=F"].index <= "2026-01-05"][-2] == \
        pd.Timestamp("2025-05-30")
    _snapshot_changes(warehouse, gapped, pd.Timestamp(2026, 1, 5))


def test_unknown_is_null_not_false(wh):
    """^RUT's records of August 2026 come after Bitcoin's last stored day (2026-07-22): not
    divergent is unknown there, as it is before 2014-09-17."""
    august = query(wh, "SELECT date, leader_at_record, is_divergent, laggard_below_peak "
                       "FROM marts.fct_divergence_daily WHERE pair_id = ? AND date >= "
                       "DATE '2026-08-01' AND leader_at_record", [PAIR])
    assert len(august) >= 3
    assert august.is_divergent.isna().all() and august.laggard_below_peak.isna().all()
    counts = query(wh, "SELECT count(*) FILTER (WHERE is_divergent IS NULL) AS unknown, "
                       "count(*) FILTER (WHERE date < DATE '2014-09-17') AS before_btc "
                       "FROM marts.fct_divergence_daily WHERE pair_id = ?", [PAIR]).iloc[0]
    assert counts.unknown >= counts.before_btc > 6000


def test_coincidence_is_unknown_outside_the_laggards_history(wh):
    """A cluster's or bottom's answer is null exactly when Bitcoin's stored history
    (2014-09-17 to 2026-07-22) does not cover its whole window and nothing was found."""
    rows = query(wh, "SELECT * FROM marts.fct_peak_coincidence WHERE laggard = 'BTC-USD'")
    first, last = pd.Timestamp("2014-09-17"), pd.Timestamp("2026-07-22")
    window = pd.Timedelta(days=7)
    cluster = rows.event_type == "record_cluster"
    start = rows.leader_start_date.where(cluster, rows.leader_event_date)
    end = rows.leader_end_date.where(cluster, rows.leader_event_date)
    covered = (start - window >= first) & (end + window <= last)
    matched = cluster & rows.laggard_event_date.notna()
    assert (rows.coincides.isna() == ~(covered | matched)).all()
    assert rows.coincides.isna().sum() > 500  # 1987-2014 and August 2026
    assert (rows.known_from.isna() == rows.coincides.isna()).all()
