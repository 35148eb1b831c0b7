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


# The H.4.1 is "typically published on Thursday, generally at 4:30 p.m. ET" (Federal Reserve
# Board, Data Download Program notice of 2009-08-05); when the Board is closed that Thursday
# it comes out on its next business day. These are the weeks of 2015-2025 whose release did
# not fall on the Thursday, with the day the Board published them:
#   Thanksgiving (and New Year's Day, Independence Day, Veterans Day, Juneteenth on a
#   Thursday): the Friday -- as the Board's H.4.1 pages are dated for Thanksgiving
#   (www.federalreserve.gov/releases/h41/20011123/, .../20071123/), the rule for every
#   Thursday holiday;
#   2020-12-23: Monday 2020-12-28 (www.federalreserve.gov/releases/h41/20201228/; Thursday
#   2020-12-24 closed by executive order, Friday Christmas);
#   2025-01-08: Friday 2025-01-10 (Thursday 2025-01-09, national day of mourning: "Federal
#   Reserve offices will be closed", ABA Banking Journal, 2025-01-02);
#   2025-12-24: Monday 2025-12-29 (the Board's H.4.1 "Release Date: December 29, 2025",
#   week ended Dec 24, 2025).
# A holiday on the Wednesday itself moves nothing: the week of 2024-12-25 was released
# Thursday 2024-12-26 (the Board's release of that date); 2015-12-23 on 2015-12-24
# (.../h41/20151224/).
H41_NOT_ON_THURSDAY = {
    "2014-12-31": "2015-01-02", "2015-11-25": "2015-11-27", "2016-11-23": "2016-11-25",
    "2017-11-22": "2017-11-24", "2018-11-21": "2018-11-23", "2019-07-03": "2019-07-05",
    "2019-11-27": "2019-11-29", "2020-11-25": "2020-11-27", "2020-12-23": "2020-12-28",
    "2021-11-10": "2021-11-12", "2021-11-24": "2021-11-26", "2022-11-23": "2022-11-25",
    "2023-11-22": "2023-11-24", "2024-07-03": "2024-07-05", "2024-11-27": "2024-11-29",
    "2025-01-08": "2025-01-10", "2025-06-18": "2025-06-20", "2025-11-26": "2025-11-28",
    "2025-12-24": "2025-12-29", "2025-12-31": "2026-01-02",
}


def test_h41_release_days_of_the_holiday_weeks_2015_2025(wh):
    """Every H.4.1 week of 2015-2025 with a federal holiday (pandas' US federal calendar)
    or a Board closure between its Wednesday and the next: released on the Board's day, never
    the fixed Wednesday + 1 (which had the week of 2025-12-24 "published" on Christmas)."""
    from pandas.tseries.holiday import USFederalHolidayCalendar

    from tests.brief_oracle import BOARD_SPECIAL_CLOSURES

    closed = USFederalHolidayCalendar().holidays("2014-12-01", "2026-01-31").union(
        pd.DatetimeIndex(BOARD_SPECIAL_CLOSURES))
    weeks = query(wh, "SELECT week_ending, available_from FROM "
                      "marts.fct_fed_balance_sheet_weekly WHERE week_ending BETWEEN "
                      "DATE '2014-12-31' AND DATE '2025-12-31' ORDER BY week_ending")
    holiday_weeks = weeks[[((closed >= w) & (closed < w + pd.Timedelta(days=7))).any()
                           for w in weeks.week_ending]]
    assert len(holiday_weeks) > 100  # about eleven a year
    for w, published in zip(holiday_weeks.week_ending, holiday_weeks.available_from,
                            strict=True):
        expected = H41_NOT_ON_THURSDAY.get(w.date().isoformat(),
                                           (w + pd.Timedelta(days=1)).date().isoformat())
        assert published.date().isoformat() == expected, w.date()
    moved = weeks[(weeks.available_from - weeks.week_ending).dt.days != 1]
    assert sorted(moved.week_ending.dt.date.astype(str)) == sorted(H41_NOT_ON_THURSDAY)


def test_no_day_uses_a_week_before_its_release(wh):
    """Between Christmas 2025 and the release of 2025-12-29 the brief and the macro mart
    still use the week of 2025-12-17; on 2025-12-29 the week of 2025-12-24."""
    days = query(wh, "SELECT date, net_liquidity_week_ending FROM marts.mart_crypto_macro_daily "
                     "WHERE date BETWEEN DATE '2025-12-24' AND DATE '2025-12-29' ORDER BY date")
    weeks = [d.date().isoformat() for d in days.net_liquidity_week_ending]
    assert weeks == ["2025-12-17"] * 5 + ["2025-12-24"]
    brief = query(wh, "SELECT brief_date, week_ending, available_from FROM "
                      "marts.mart_daily_brief WHERE fact_kind = 'net_liquidity' AND brief_date "
                      "BETWEEN DATE '2025-11-27' AND DATE '2025-11-28' ORDER BY brief_date")
    assert [d.date().isoformat() for d in brief.week_ending] == ["2025-11-19", "2025-11-26"]
    assert brief.available_from.iloc[1].date() == date(2025, 11, 28)
