"""The evidence marts on the real history, against independent computations: the base rates
recomputed in pandas from the CSVs, the binomial tail against scipy, the cross-correlations
against numpy/pandas, the randomised test against an exact enumeration of its rotations."""

from datetime import date

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from tests import brief_oracle as oracle
from tests.conftest import query

pytestmark = [pytest.mark.slow, pytest.mark.real_data]

HORIZONS = (30, 90, 180, 365)
PAIRS = {"^RUT/BTC-USD": ("RUT", "BTC-USD"), "^GSPC/BTC-USD": ("GSPC", "BTC-USD"),
         "^DJI/BTC-USD": ("DJI", "BTC-USD")}
THRESHOLD = 0.20  # divergence_laggard_min_drawdown
MAX_LAG, WINDOW, Z = 8, 52, 1.96
STORY = pd.Timestamp("2025-12-11")


@pytest.fixture(scope="module")
def wh(real_warehouse):
    result, warehouse = real_warehouse
    assert result.success
    return warehouse


@pytest.fixture(scope="module")
def bars(real_data):
    return {pair: (oracle.load_market(real_data, a), oracle.load_market(real_data, b))
            for pair, (a, b) in PAIRS.items()}


def forward_outcomes(leader: pd.DataFrame, laggard: pd.DataFrame) -> pd.DataFrame:
    """Every start day (a leader date with a laggard close) and horizon: both returns to the
    last close on or before start + N (NaN past an instrument's last day), whether the
    laggard set a record high within N days, and the reference-set flags as of the day."""
    days = leader.index.intersection(laggard.index)
    leader_record = (leader.close >= leader.close.cummax())[days]
    laggard_below = (laggard.close / laggard.high_value.cummax() - 1)[days] <= -THRESHOLD
    records = laggard.index[(laggard.high_value >= laggard.high_value.cummax()).to_numpy()]
    following = np.searchsorted(records, days, side="right")
    next_record = pd.DatetimeIndex([records[i] if i < len(records) else pd.NaT
                                    for i in following])
    frames = []
    for n in HORIZONS:
        end = days + pd.Timedelta(days=n)
        lead = leader.close.asof(end).to_numpy() / leader.close[days].to_numpy() - 1
        lag = laggard.close.asof(end).to_numpy() / laggard.close[days].to_numpy() - 1
        lead[end > leader.index[-1]] = np.nan
        lag[end > laggard.index[-1]] = np.nan
        to_record = (next_record - days).days.to_numpy(dtype=float)
        record = np.where(to_record <= n, 1.0, np.where(end <= laggard.index[-1], 0.0, np.nan))
        frames.append(pd.DataFrame({
            "start_date": days, "horizon_days": n, "end": end, "leader_return": lead,
            "laggard_return": lag, "record": record,
            "leader_record": leader_record.to_numpy(), "laggard_below": laggard_below.to_numpy(),
        }))
    return pd.concat(frames, ignore_index=True)


def summarise(rows: pd.DataFrame, n: int) -> dict:
    known = rows.dropna(subset=["leader_return", "laggard_return"])
    records = rows.record.dropna()
    gaps = known.start_date.diff().dt.days.dropna()
    overlap = bool(gaps.min() < n) if len(known) > 1 else (False if len(known) else None)
    return {
        "n_start_days": len(rows), "n_known": len(known),
        "n_laggard_beat": int((known.laggard_return > known.leader_return).sum()),
        "share_laggard_beat": (known.laggard_return > known.leader_return).mean(),
        "median_laggard_return": known.laggard_return.median(),
        "median_leader_return": known.leader_return.median(),
        "n_record_known": len(records), "n_laggard_record": int(records.sum()),
        "share_laggard_record": records.mean(),
        "first_start_date": rows.start_date.min(), "last_start_date": rows.start_date.max(),
        "first_known_start_date": known.start_date.min(),
        "last_known_start_date": known.start_date.max(),
        "windows_overlap": overlap,
        "n_non_overlapping_windows":
            (known.start_date.max() - known.start_date.min()).days // n + 1,
    }


SETS = {"all_days": lambda f: f, "leader_record": lambda f: f[f.leader_record],
        "laggard_below_threshold": lambda f: f[f.laggard_below]}


def test_base_rates_against_pandas_from_the_csvs(wh, bars):
    """Every pair, horizon and reference set (^RUT/BTC-USD first among them): the counts,
    shares, medians, records, period and overlap of mart_outcome_base_rates, recomputed from
    the CSVs; the same n, the numbers within 1e-9."""
    mart = query(wh, "SELECT * FROM marts.mart_outcome_base_rates")
    for pair, (leader, laggard) in bars.items():
        outcomes = forward_outcomes(leader, laggard)
        for n in HORIZONS:
            for name, pick in SETS.items():
                expected = summarise(pick(outcomes[outcomes.horizon_days == n]), n)
                [row] = mart[(mart.pair_id == pair) & (mart.horizon_days == n)
                             & (mart.reference_set == name)].to_dict("records")
                for column, value in expected.items():
                    got = row[column]
                    if isinstance(value, float | np.floating):
                        assert got == pytest.approx(value, abs=1e-9), (pair, n, name, column)
                    else:
                        assert got == value, (pair, n, name, column)
    rut = mart[mart.pair_id == "^RUT/BTC-USD"]
    assert len(rut) == len(HORIZONS) * len(SETS)
    # the unconditional rate holds every known day, 2014-09-17 on (Bitcoin's first stored day)
    assert (rut[rut.reference_set == "all_days"].first_known_start_date
            == pd.Timestamp("2014-09-17")).all()


def test_every_divergence_outcome_is_a_row_of_the_distribution(wh):
    """The post-divergence outcomes the dashboard marks on the distribution are its rows:
    each episode's returns equal the start-day row of its end_date, at every horizon."""
    joined = query(wh, """
        SELECT o.pair_id, o.episode_number, f.horizon_days, f.leader_return, f.laggard_return,
               CASE f.horizon_days WHEN 30 THEN o.leader_return_30d WHEN 90 THEN
                    o.leader_return_90d WHEN 180 THEN o.leader_return_180d
                    ELSE o.leader_return_365d END AS episode_leader_return,
               CASE f.horizon_days WHEN 30 THEN o.laggard_return_30d WHEN 90 THEN
                    o.laggard_return_90d WHEN 180 THEN o.laggard_return_180d
                    ELSE o.laggard_return_365d END AS episode_laggard_return
        FROM marts.mart_divergence_outcomes AS o
        LEFT JOIN marts.fct_pair_forward_outcomes AS f
          ON f.pair_id = o.pair_id AND f.ended_episode_number = o.episode_number""")
    assert len(joined) == 4 * query(wh, "SELECT count(*) AS n FROM "
                                        "marts.mart_divergence_outcomes").n.iloc[0] > 100
    for side in ("leader", "laggard"):
        np.testing.assert_array_equal(joined[f"{side}_return"].to_numpy(dtype=float),
                                      joined[f"episode_{side}_return"].to_numpy(dtype=float))


def _tail(k: int, n: int, p0: float) -> float:
    return stats.binomtest(int(k), int(n), float(p0), alternative="greater").pvalue


def test_binomial_tail_against_scipy_for_every_pair_and_horizon(wh):
    significance = query(wh, "SELECT * FROM marts.mart_outcome_significance")
    summary = query(wh, "SELECT * FROM marts.mart_divergence_outcome_summary")
    base = query(wh, "SELECT * FROM marts.mart_outcome_base_rates WHERE reference_set = "
                     "'all_days'")
    keys = set(zip(significance.pair_id, significance.horizon_days, strict=True))
    assert keys == set(zip(summary.pair_id, summary.horizon_days, strict=True))
    assert keys >= {(p, n) for p in PAIRS for n in HORIZONS}
    for row in significance.itertuples():
        [s] = summary[(summary.pair_id == row.pair_id)
                      & (summary.horizon_days == row.horizon_days)].itertuples()
        [b] = base[(base.pair_id == row.pair_id)
                   & (base.horizon_days == row.horizon_days)].itertuples()
        assert (row.n_known, row.n_laggard_beat) == (s.n_known, s.n_laggard_beat)
        assert row.base_rate_share == b.share_laggard_beat
        assert row.p_value == pytest.approx(
            _tail(s.n_laggard_beat, s.n_known, b.share_laggard_beat), abs=1e-12)
        assert row.method == "exact binomial, one-sided"
    daily = query(wh, "SELECT * FROM marts.mart_outcome_significance_daily "
                      "WHERE p_value IS NOT NULL")
    assert len(daily) > 1000
    expected = [_tail(r.n_laggard_beat, r.n_known, r.base_rate_share)
                for r in daily.itertuples()]
    np.testing.assert_allclose(daily.p_value, expected, rtol=0, atol=1e-12)


def _verdict(p: float, n: int) -> str:
    if p < 0.05 and n >= 20:
        return "evidence"
    if p < 0.10:
        return "suggestive"
    return "no better than the base rate"


def test_the_story_day_as_known_then(wh, bars):
    """2025-12-11, as known that day: the earlier episodes' outcomes and every base rate from
    windows that had ended by then, recomputed from the CSVs; the p-value against scipy;
    the verdict by the rules the issue writes down."""
    leader, laggard = bars["^RUT/BTC-USD"]
    outcomes = forward_outcomes(leader, laggard)
    runs = oracle.episodes(oracle.divergent_days(leader, laggard), oracle.nyse_sessions())
    current = runs[(runs.start <= STORY) & (runs.end >= STORY)].iloc[0]
    earlier = runs[runs.end < current.start]
    mart = query(wh, "SELECT * FROM marts.mart_outcome_significance_daily WHERE pair_id = "
                     "'^RUT/BTC-USD' AND date = DATE '2025-12-11'")
    assert len(mart) == len(HORIZONS)
    for row in mart.itertuples():
        n = row.horizon_days
        at = outcomes[(outcomes.horizon_days == n) & (outcomes.end <= STORY)]
        episode_rows = outcomes[(outcomes.horizon_days == n)
                                & outcomes.start_date.isin(earlier.end)
                                & (outcomes.end <= STORY)].dropna(
            subset=["leader_return", "laggard_return"])
        k = int((episode_rows.laggard_return > episode_rows.leader_return).sum())
        assert (row.n_earlier_episodes, row.n_known, row.n_laggard_beat) == \
            (len(earlier), len(episode_rows), k), n
        for prefix, rows in (("base_rate", at), ("leader_record", at[at.leader_record]),
                             ("laggard_below", at[at.laggard_below])):
            known = rows.dropna(subset=["leader_return", "laggard_return"])
            assert getattr(row, f"{prefix}_n_known") == len(known), (n, prefix)
            share = (known.laggard_return > known.leader_return).mean()
            assert getattr(row, f"{prefix}_share") == pytest.approx(share, abs=1e-9)
        assert row.base_rate_first_start_date == pd.Timestamp("2014-09-17")
        assert row.p_value == pytest.approx(_tail(k, len(episode_rows), row.base_rate_share),
                                            abs=1e-12)
        assert row.verdict == _verdict(row.p_value, row.n_known)
        assert row.is_anecdotal == (row.n_known < 20)
    # the sentence: 10 of the 11 earlier divergences saw Bitcoin beat the Russell 2000
    # over the next 365 days
    [year] = mart[mart.horizon_days == 365].itertuples()
    assert (year.n_laggard_beat, year.n_known) == (10, 11)


def test_as_of_counts_equal_the_briefs_divergence_history(wh):
    """On every divergent day the brief tells, its divergence_history and this mart count the
    same earlier episodes and outcomes (the brief can take both from one row)."""
    brief = query(wh, "SELECT brief_date AS date, pair_id, horizon_days, n_episodes, n_known, "
                      "n_laggard_beat FROM marts.mart_daily_brief "
                      "WHERE fact_kind = 'divergence_history'")
    mart = query(wh, "SELECT date, pair_id, horizon_days, n_earlier_episodes AS n_episodes, "
                     "n_known, n_laggard_beat FROM marts.mart_outcome_significance_daily "
                     "WHERE n_earlier_episodes > 0")
    key = ["pair_id", "date", "horizon_days"]
    assert len(brief) > 500
    pd.testing.assert_frame_equal(
        brief.sort_values(key).reset_index(drop=True).astype({"n_episodes": int, "n_known": int,
                                                              "n_laggard_beat": int}),
        mart[brief.columns].sort_values(key).reset_index(drop=True).astype(
            {"n_episodes": int, "n_known": int, "n_laggard_beat": int}))


weekly_returns, lagged_pairs = oracle.weekly_returns, oracle.lagged_pairs


def test_cross_correlations_against_numpy_at_every_lag(wh, bars):
    mart = query(wh, "SELECT * FROM marts.mart_lead_lag")
    for pair, (leader, laggard) in bars.items():
        weekly = weekly_returns(leader, laggard)
        rows = mart[mart.pair_id == pair].set_index("lag_weeks").sort_index()
        assert list(rows.index) == list(range(-MAX_LAG, MAX_LAG + 1))
        for k in range(-MAX_LAG, MAX_LAG + 1):
            x, y = lagged_pairs(weekly, k)
            assert rows.n_weeks[k] == len(x) > 500, (pair, k)
            assert rows.return_corr[k] == pytest.approx(np.corrcoef(x, y)[0, 1], abs=1e-9)
            assert rows.band_95[k] == pytest.approx(Z / np.sqrt(len(x)), abs=1e-12)
            assert rows.is_outside_band[k] == (abs(np.corrcoef(x, y)[0, 1]) > Z / np.sqrt(len(x)))
        peak = rows.return_corr.abs().idxmax()
        assert rows.is_peak[peak] and rows.is_peak.sum() == 1
        # pandas' own lagged correlation agrees (the sign convention: laggard k weeks later)
        assert weekly.leader.corr(weekly.laggard.shift(-2)) == pytest.approx(
            rows.return_corr[2], abs=1e-9)


def test_rolling_cross_correlations_against_numpy(wh, bars):
    """A few 52-week windows (the first, one in the middle, the last) at every lag."""
    leader, laggard = bars["^RUT/BTC-USD"]
    weekly = weekly_returns(leader, laggard)
    mart = query(wh, "SELECT * FROM marts.mart_lead_lag_rolling WHERE pair_id = "
                     "'^RUT/BTC-USD'")
    ends = sorted(mart.window_end_week.unique())
    assert ends[0] == weekly.index[WINDOW - 1] and ends[-1] == weekly.index[-1]
    assert len(ends) == len(weekly) - WINDOW + 1
    for end in (ends[0], ends[len(ends) // 2], ends[-1]):
        window = weekly[(weekly.index > end - pd.Timedelta(weeks=WINDOW)) & (weekly.index <= end)]
        assert len(window) == WINDOW
        rows = mart[mart.window_end_week == end].set_index("lag_weeks")
        assert rows.window_start_week.iloc[0] == window.index[0]
        for k in range(-MAX_LAG, MAX_LAG + 1):
            x, y = lagged_pairs(window, k)
            assert rows.n_weeks[k] == len(x) == WINDOW - abs(k)
            assert rows.return_corr[k] == pytest.approx(np.corrcoef(x, y)[0, 1], abs=1e-9)


def test_lead_lag_summary_and_the_correlation_trend(wh, bars):
    """The peak and its comparison with lag 0 (Fisher z from numpy where the peak is not at
    lag 0), and the share of the last 365 days with a positive 30- and 90-session daily
    correlation, recomputed from the CSVs."""
    summary = query(wh, "SELECT * FROM marts.mart_lead_lag_summary").set_index("pair_id")
    lead_lag = query(wh, "SELECT * FROM marts.mart_lead_lag")
    for pair, (leader, laggard) in bars.items():
        row = summary.loc[pair]
        rows = lead_lag[lead_lag.pair_id == pair].set_index("lag_weeks")
        peak = rows.return_corr.abs().idxmax()
        assert row.peak_lag_weeks == peak
        if peak == 0:
            assert pd.isna(row.fisher_z) and not row.is_peak_distinguishable_from_lag0
            assert row.reading == "moves with the leader (the peak is at lag 0)"
        else:
            z = ((np.arctanh(abs(rows.return_corr[peak])) - np.arctanh(abs(rows.return_corr[0])))
                 / np.sqrt(1 / (rows.n_weeks[peak] - 3) + 1 / (rows.n_weeks[0] - 3)))
            assert row.fisher_z == pytest.approx(z, abs=1e-9)
            assert row.is_peak_distinguishable_from_lag0 == (abs(z) > Z)
        latest = laggard.close.reindex(leader.index).dropna().index[-1]
        trend = oracle.correlation_trend(leader, laggard, latest)
        assert row.trend_first_date == trend["first"] and row.trend_last_date == latest
        for window in (30, 90):
            n, share = trend[window]
            assert row[f"n_corr_{window}_known"] == n > 200, (pair, window)
            assert row[f"share_corr_{window}_positive"] == pytest.approx(share, abs=1e-12)


def test_lead_lag_as_known_on_a_day(wh, bars):
    """mart_lead_lag_summary_daily on a Friday, a Monday and the story's Thursday, against
    numpy on the CSVs cut at that day (the weeks to the last Friday by then, the trend's
    year to the day); on each pair's latest day with both instruments' data, every column
    equals mart_lead_lag_summary's."""
    daily = query(wh, "SELECT * FROM marts.mart_lead_lag_summary_daily")
    summary = query(wh, "SELECT * FROM marts.mart_lead_lag_summary")
    for pair, (leader, laggard) in bars.items():
        for day in (pd.Timestamp("2016-06-24"), pd.Timestamp("2020-03-16"), STORY):
            [row] = daily[(daily.pair_id == pair) & (daily.date == day)].itertuples()
            expected = oracle.lead_lag(leader, laggard, day)
            assert (row.first_week_ending, row.last_week_ending) == \
                (expected["first_week"], expected["last_week"]), (pair, day)
            assert (day - row.last_week_ending).days < 7
            assert (row.peak_lag_weeks, row.peak_n_weeks, row.lag0_n_weeks) == \
                (expected["peak"], expected["n"], expected["n0"]), (pair, day)
            assert row.peak_corr == pytest.approx(expected["r"], abs=1e-9)
            assert row.lag0_corr == pytest.approx(expected["r0"], abs=1e-9)
            assert row.peak_band_95 == pytest.approx(expected["band"], abs=1e-12)
            if expected["z"] is None:
                assert pd.isna(row.fisher_z)
            else:
                assert row.fisher_z == pytest.approx(expected["z"], abs=1e-9)
            assert row.reading == expected["reading"], (pair, day)
            trend = oracle.correlation_trend(leader, laggard, day)
            assert row.trend_first_date == trend["first"]
            for window in (30, 90):
                n, share = trend[window]
                assert row._asdict()[f"n_corr_{window}_known"] == n, (pair, day, window)
                assert row._asdict()[f"share_corr_{window}_positive"] == pytest.approx(
                    share, abs=1e-12)
        [last] = summary[summary.pair_id == pair].to_dict("records")
        [same] = daily[(daily.pair_id == pair)
                       & (daily.date == last["trend_last_date"])].to_dict("records")
        same["trend_last_date"] = same["date"]  # the trend's year ends on the row's day
        for column, value in last.items():
            if column == "comparison_assumptions":
                continue
            if isinstance(value, float) and not pd.isna(value):
                assert same[column] == pytest.approx(value, abs=1e-12), (pair, column)
            else:
                assert same[column] == value or (pd.isna(value) and pd.isna(same[column])), \
                    (pair, column)


def test_randomised_test_reproducible_and_within_its_error_of_all_rotations(wh, bars):
    """mart_outcome_randomised: the same rows again from its seed (read-only), and each
    p-value within 3 Monte-Carlo standard errors of the exact share of ALL rotations,
    enumerated here with numpy over outcomes and episodes recomputed from the CSVs."""
    import duckdb

    from orchestration.lib.randomisation import randomised_outcomes

    table = query(wh, "SELECT * FROM marts.mart_outcome_randomised ORDER BY pair_id, "
                      "horizon_days")
    with duckdb.connect(str(wh), read_only=True) as con:
        again = randomised_outcomes(con)
    pd.testing.assert_frame_equal(
        table.reset_index(drop=True), again.reset_index(drop=True), check_dtype=False)
    assert (table.seed == 20251211).all() and (table.draws == 10_000).all()
    sessions = oracle.nyse_sessions()
    for pair, (leader, laggard) in bars.items():
        outcomes = forward_outcomes(leader, laggard)
        runs = oracle.episodes(oracle.divergent_days(leader, laggard), sessions)
        for n in HORIZONS:
            days = outcomes[outcomes.horizon_days == n].dropna(
                subset=["leader_return", "laggard_return"]).reset_index(drop=True)
            beat = (days.laggard_return > days.leader_return).to_numpy()
            positions = np.flatnonzero(days.start_date.isin(runs.end).to_numpy())
            k = int(beat[positions].sum())
            m = len(beat)
            counts = np.array([beat[(positions + o) % m].sum() for o in range(1, m)])
            exact = float(np.mean(counts >= k))
            [row] = table[(table.pair_id == pair) & (table.horizon_days == n)].itertuples()
            assert (row.n_known, row.n_laggard_beat, row.n_eligible_days) == \
                (len(positions), k, m), (pair, n)
            assert abs(row.p_value - exact) <= 3 * row.p_value_mc_se, (pair, n, exact)
            assert row.null_mean_share == pytest.approx(np.mean(counts) / len(positions),
                                                        abs=0.02)
            assert row.verdict == _verdict(row.p_value, row.n_known)


def test_story_day_row_is_complete_for_the_brief(wh):
    """Everything the issue's sentence needs for 2025-12-11 at 365 days is one row."""
    row = query(wh, "SELECT * FROM marts.mart_outcome_significance_daily WHERE pair_id = "
                    "'^RUT/BTC-USD' AND date = DATE '2025-12-11' AND horizon_days = 365"
                ).iloc[0]
    for column in ("n_known", "n_laggard_beat", "share_laggard_beat", "base_rate_share",
                   "base_rate_n_known", "base_rate_first_start_date", "leader_record_share",
                   "p_value", "method", "verdict", "is_anecdotal"):
        assert not pd.isna(row[column]), column
    assert row.leader_date.date() == date(2025, 12, 11)
    assert row.episode_start_date.date() == date(2025, 12, 4)
