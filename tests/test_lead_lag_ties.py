"""The lead/lag peak's tie rule where every correlation ties (warehouse/README.md, "Lead and
lag"): a correlation over two weeks of pairs is exactly +1 or -1, so in the first weeks of a
pair's history every lag with two pairs ties at |r| = 1, up to the last bit of a double,
which depends on the engine's summation order. The tie goes to the lag nearer 0, then to
the negative one, on DuckDB as on Spark (tests/test_spark.py compares the engines)."""

from tests.conftest import query


def test_two_week_correlations_tie_and_the_tie_rule_picks_the_lag(demo_build):
    rows = query(demo_build.warehouse, """
        SELECT pair_id, date, peak_lag_weeks, peak_corr, lag0_n_weeks, lag0_corr
        FROM marts.mart_lead_lag_summary_daily WHERE peak_n_weeks = 2""")
    assert len(rows) >= 10
    # |r| = 1 over two points (numpy agrees to 12 decimals, not to the last bit)
    assert (rows.peak_corr.abs() - 1).abs().max() < 1e-12
    # with n weeks of pairs at lag 0, lags -(n - 2) and +(n - 2) have two pairs each and tie
    # at |r| = 1 above every lag with more pairs (|r| < 1 there): the negative one is the
    # peak; with two weeks, lag 0 itself is the nearest of the tied lags
    for row in rows.itertuples():
        assert row.peak_lag_weeks == -(row.lag0_n_weeks - 2), row
