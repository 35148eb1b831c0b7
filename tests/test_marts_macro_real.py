"""Fed liquidity and policy-rate marts on the real history (skipped when it is absent)."""

from datetime import date

import pandas as pd
import pytest

from tests.conftest import query

pytestmark = [pytest.mark.slow, pytest.mark.real_data]


@pytest.fixture(scope="module")
def wh(real_warehouse):
    result, warehouse = real_warehouse
    assert result.success
    return warehouse


def test_2025_cuts(wh):
    cuts = query(wh, "SELECT * FROM marts.fct_policy_rate_changes WHERE year = 2025 "
                     "ORDER BY effective_date")
    assert cuts.effective_date.dt.date.tolist() == [date(2025, 9, 18), date(2025, 10, 30),
                                                    date(2025, 12, 11)]
    assert cuts.change_bp.tolist() == [-25, -25, -25]
    assert cuts.direction.tolist() == ["cut"] * 3
    assert cuts.old_upper.tolist() == [4.50, 4.25, 4.00]
    assert cuts.new_upper.tolist() == [4.25, 4.00, 3.75]
    assert cuts.number_in_year.iloc[-1] == 3


def test_every_target_change_against_the_files(wh, real_data):
    upper = pd.read_csv(real_data / "fred" / "DFEDTARU.csv", parse_dates=["date"])
    moved = upper[upper.value.diff().fillna(0) != 0]
    ours = query(wh, "SELECT effective_date, new_upper FROM marts.fct_policy_rate_changes "
                     "ORDER BY effective_date")
    assert ours.effective_date.tolist() == moved.date.tolist()
    assert ours.new_upper.tolist() == moved.value.tolist()


def test_net_liquidity_on_2025_12_10(wh):
    week = query(wh, "SELECT * FROM marts.fct_fed_balance_sheet_weekly "
                     "WHERE week_ending = DATE '2025-12-10'").iloc[0]
    assert week.total_assets == pytest.approx(6539.303)
    assert week.tga == pytest.approx(805.827) and week.tga_series == "WDTGAL"
    assert week.reverse_repo == pytest.approx(5.045)
    assert week.net_liquidity == pytest.approx(5728.431)
    assert week.available_from.date() == date(2025, 12, 11)


def test_treasury_holdings_rise_in_december_2025(wh):
    weeks = query(wh, "SELECT week_ending, treasuries_change_1w, treasuries_rose FROM "
                      "marts.fct_fed_balance_sheet_weekly WHERE week_ending IN "
                      "(DATE '2025-12-17', DATE '2025-12-24') ORDER BY week_ending")
    assert weeks.treasuries_rose.all()
    assert weeks.treasuries_change_1w.round(1).tolist() == [15.2, 23.4]


def test_weekly_levels_against_the_files(wh, real_data):
    ours = query(wh, "SELECT week_ending, total_assets, reserves, tga, net_liquidity, "
                     "reverse_repo FROM marts.fct_fed_balance_sheet_weekly").set_index(
                         "week_ending")
    walcl = pd.read_csv(real_data / "fred" / "WALCL.csv", parse_dates=["date"]).set_index("date")
    tga = pd.read_csv(real_data / "fred" / "WDTGAL.csv", parse_dates=["date"]).set_index("date")
    rrp = pd.read_csv(real_data / "fred" / "RRPONTSYD.csv", parse_dates=["date"]).set_index(
        "date")
    common = walcl.index.intersection(tga.index)
    assert ours.loc[common, "total_assets"].tolist() == pytest.approx(
        (walcl.loc[common, "value"] / 1000).tolist())
    # net liquidity wherever the reverse repo was reported on the Wednesday itself
    wed = common.intersection(rrp.index)
    expected = walcl.loc[wed, "value"] / 1000 - tga.loc[wed, "value"] / 1000 - rrp.loc[wed, "value"]
    assert ours.loc[wed, "net_liquidity"].tolist() == pytest.approx(expected.tolist())


def test_macro_mart_never_uses_a_week_before_it_is_published(wh):
    days = query(wh, "SELECT date, net_liquidity, net_liquidity_week_ending, target_upper, "
                     "is_divergent, laggard_close, leader_close_date "
                     "FROM marts.mart_crypto_macro_daily "
                     "WHERE date BETWEEN DATE '2025-12-09' AND DATE '2025-12-13' ORDER BY date"
                 ).set_index("date")
    assert days.loc["2025-12-10", "net_liquidity_week_ending"].date() == date(2025, 12, 3)
    assert days.loc["2025-12-11", "net_liquidity"] == pytest.approx(5728.431)
    assert days.loc["2025-12-10", "target_upper"] == 4.00
    assert days.loc["2025-12-11", "target_upper"] == 3.75
    assert days.loc["2025-12-11", "is_divergent"]
    assert days.loc["2025-12-13", "leader_close_date"].date() == date(2025, 12, 12)  # Saturday
    assert round(days.loc["2025-12-11", "laggard_close"], 2) == 92511.34
    everything = query(wh, "SELECT count(*) AS n FROM marts.mart_crypto_macro_daily "
                           "WHERE net_liquidity_week_ending + 1 > date").n.iloc[0]
    assert everything == 0


def test_newest_days_carry_rates_and_complete_weeks(wh):
    """The target range and EFFR carry over the newest days (at most 7 days old), the
    balance sheet ends on its latest complete week, and net liquidity never goes null on
    the newest days."""
    newest = query(wh, "SELECT * FROM marts.mart_crypto_macro_daily ORDER BY date DESC LIMIT 7")
    assert newest.date.iloc[0].date() == date(2026, 8, 27)
    assert newest.target_upper.notna().all() and newest.effr.notna().all()
    assert newest.net_liquidity.notna().all()
    assert (newest.net_liquidity_week_ending.dt.date == date(2026, 8, 19)).all()
    weeks = query(wh, "SELECT week_ending, is_complete FROM marts.fct_fed_balance_sheet_weekly "
                      "ORDER BY week_ending DESC LIMIT 1")
    # WDTGAL has 2026-08-26, WALCL not: that partial week is not served as the latest
    assert weeks.week_ending.iloc[0].date() == date(2026, 8, 19) and weeks.is_complete.iloc[0]
    unknown = query(wh, "SELECT count(*) AS n FROM marts.mart_crypto_macro_daily "
                        "WHERE laggard_close IS NULL AND in_divergence_episode IS NOT NULL")
    assert unknown.n.iloc[0] == 0


def test_every_change_since_2015_has_its_fomc_announcement(wh):
    """The seed's announcement days follow the rule the issue states: the same day in
    2015-16, the day before from 2017 on (the unscheduled 2020 moves included)."""
    changes = query(wh, "SELECT effective_date, announcement_date FROM "
                        "marts.fct_policy_rate_changes WHERE effective_date >= DATE '2015-01-01'")
    assert len(changes) == 31 and changes.announcement_date.notna().all()
    lag = (changes.effective_date - changes.announcement_date).dt.days
    early = changes.effective_date.dt.year <= 2016
    assert (lag[early] == 0).all() and (lag[~early] == 1).all()
    emergencies = changes[changes.effective_date.dt.date.isin([date(2020, 3, 4),
                                                               date(2020, 3, 16)])]
    assert emergencies.announcement_date.dt.date.tolist() == [date(2020, 3, 3),
                                                              date(2020, 3, 15)]
