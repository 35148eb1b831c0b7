"""The brief's Markdown from hand-made rows: numbers written the way people write them, and
unknown said as unknown (no warehouse needed)."""

from datetime import date

from orchestration.brief import below, days, format_brief, num, pct, signed_pct

DAY = date(2025, 12, 11)


def _row(kind, **values):
    base = {"brief_date": DAY, "fact_kind": kind, "fact_rank": None, "symbol": None,
            "pair_id": None, "is_synthetic": False, "history_note": None, "is_stale": False}
    return {**base, **values}


def test_numbers_read_as_people_write_them():
    assert num(2590.610107) == "2,590.61"
    assert num(126198.0703) == "126,198.07"
    assert pct(0.267) == "26.7 %" and below(-0.2669354) == "26.7 %"
    assert signed_pct(0.0121) == "+1.2 %" and signed_pct(-0.058) == "-5.8 %"
    assert days(1777) == "1,777 days" and days(1) == "1 day"


def test_unknown_divergence_stale_data_and_anecdote():
    rows = [
        _row("standing", symbol="X", subject_name="Leader", basis="close", fact_rank=1,
             as_of_date=DAY, close=100.0, record_value=100.0, record_date=DAY,
             fraction_below_record=0.0, days_since_record=0, is_at_record=True,
             sessions_behind=0),
        _row("standing", symbol="Y", subject_name="Laggard", basis="close", fact_rank=2,
             as_of_date=date(2025, 11, 3), close=80.0, record_value=100.0,
             record_date=date(2025, 10, 6), fraction_below_record=-0.2,
             days_since_record=28, is_at_record=False, sessions_behind=38, is_stale=True),
        _row("divergence", pair_id="X/Y", leader="X", laggard="Y", leader_name="Leader",
             laggard_name="Laggard", fact_rank=1, as_of_date=DAY, is_divergent=None,
             leader_close=100.0, leader_at_record=True, laggard_close=None,
             laggard_fraction_below_record=None, laggard_basis="high",
             divergence_threshold=0.2, last_divergent_date=None),
        _row("divergence_history", pair_id="X/Y", horizon_days=30, n_episodes=4, n_known=3,
             n_laggard_beat=1, share_laggard_beat=1 / 3, median_laggard_return=0.125,
             median_leader_return=-0.05, record_basis="high", n_record_known=4,
             n_laggard_record=2, share_laggard_record=0.5, is_anecdotal=True,
             min_episodes_for_pattern=20),
    ]
    text = format_brief(DAY, rows)
    assert "# lockstep brief: 2025-12-11 (Thursday)" in text
    assert "**Divergence unknown**: there is no Laggard close for 2025-12-11" in text
    assert "**Stale**: Y's latest close is from 2025-11-03, 38 sessions" in text
    assert "| Laggard (Y) | 2025-11-03 (earlier) | 80.00 | 20.0 % | 100.00 on 2025-10-06 " \
           "(28 days) |" in text
    assert "| 30 days | 3 of 4 | 1 (33.3 %) | +12.5 % | -5.0 % | 2 of 4 (50.0 %) |" in text
    assert "n = 3" in text and "anecdote" in text
    assert "SYNTHETIC" not in text
    synthetic = format_brief(DAY, [{**r, "is_synthetic": True} for r in rows])
    assert synthetic.count("SYNTHETIC DEMO DATA") == 2


def test_small_distances_never_read_as_a_record():
    """2,442.03 against a record close of 2,442.74 is 0.03 % below, not "0.0 %"; a gain of
    0.03 % is "+0.03 %", never "+0.0 %"; zero stays zero."""
    assert below(2442.03 / 2442.74 - 1) == "0.03 %"
    assert below(-0.00004) == "less than 0.01 %"
    assert below(-0.0005) == "0.1 %" and below(-0.264) == "26.4 %" and below(0.0) == "0.0 %"
    assert signed_pct(0.0003) == "+0.03 %" and signed_pct(-0.0003) == "-0.03 %"
    rows = [
        _row("standing", symbol="^RUT", subject_name="Russell 2000", basis="close", fact_rank=1,
             as_of_date=DAY, close=2442.03, record_value=2442.74, record_date=date(2021, 11, 8),
             fraction_below_record=2442.03 / 2442.74 - 1, days_since_record=1113,
             is_at_record=False, sessions_behind=0),
        _row("standing", symbol="^RUT", subject_name="Russell 2000", basis="high", fact_rank=1,
             as_of_date=DAY, close=2442.03, record_value=2442.03, record_date=DAY,
             fraction_below_record=0.0, days_since_record=0, is_at_record=True,
             sessions_behind=0),
        _row("divergence", pair_id="^RUT/BTC-USD", leader="^RUT", laggard="BTC-USD",
             leader_name="Russell 2000", laggard_name="Bitcoin", fact_rank=1, as_of_date=DAY,
             is_divergent=False, leader_close=2442.03, leader_at_record=False,
             laggard_close=93102.3, laggard_fraction_below_record=-0.066, laggard_basis="high",
             divergence_threshold=0.2, last_divergent_date=None),
    ]
    text = format_brief(DAY, rows)
    assert "the Russell 2000 is 0.03 % below its record close." in text
    assert "| 2,442.03 | 0.03 % | 2,442.74 on 2021-11-08 (1,113 days) | at record |" in text
    assert "0.0 %" not in text


def test_records_together_state_each_basis_with_its_value():
    """Bitcoin's record close (98,997.66) and record high (99,655.50) of 2024-11-22 are two
    numbers; the leader's cluster likewise, with the day of each when the cluster spans
    several days."""
    rows = [
        _row("divergence", pair_id="^DJI/BTC-USD", leader="^DJI", laggard="BTC-USD",
             leader_name="Dow", laggard_name="Bitcoin", fact_rank=1, as_of_date=DAY,
             is_divergent=False, leader_close=1.0, leader_at_record=True, laggard_close=1.0,
             laggard_fraction_below_record=-0.066, laggard_basis="high",
             divergence_threshold=0.2, last_divergent_date=None),
        _row("coinciding_records", pair_id="^DJI/BTC-USD", fact_rank=1,
             event_start_date=date(2024, 3, 20), event_end_date=date(2024, 3, 28),
             leader_record_close=39807.37, leader_record_close_date=date(2024, 3, 28),
             leader_record_high=39889.05, leader_record_high_date=date(2024, 3, 21),
             laggard_record_close=None, laggard_record_high=73750.07,
             laggard_event_date=date(2024, 3, 14), laggard_event_value=73750.07,
             laggard_event="record_high"),
        _row("coinciding_records", pair_id="^DJI/BTC-USD", fact_rank=2,
             event_start_date=date(2024, 11, 25), event_end_date=date(2024, 11, 25),
             leader_record_close=None, leader_record_close_date=None,
             leader_record_high=44815.67, leader_record_high_date=date(2024, 11, 25),
             laggard_record_close=98997.66, laggard_record_high=99655.50,
             laggard_event_date=date(2024, 11, 22), laggard_event_value=98997.66,
             laggard_event="record_close+record_high"),
    ]
    text = format_brief(DAY, rows)
    assert ("2024-03-20 to 2024-03-28 (Dow record close 39,807.37 on 2024-03-28 and record "
            "high 39,889.05 on 2024-03-21; Bitcoin record high 73,750.07 on 2024-03-14)") in text
    assert ("2024-11-25 (Dow record high 44,815.67; Bitcoin record close 98,997.66 and record "
            "high 99,655.50 on 2024-11-22)") in text


def test_joint_bottom_says_its_age_and_a_later_drawdown_without_one():
    rows = [
        _row("divergence", pair_id="X/Y", leader="X", laggard="Y", leader_name="Leader",
             laggard_name="Laggard", fact_rank=1, as_of_date=DAY, is_divergent=False,
             leader_close=1.0, leader_at_record=True, laggard_close=1.0,
             laggard_fraction_below_record=-0.05, laggard_basis="high",
             divergence_threshold=0.2, last_divergent_date=None),
        _row("joint_bottom", pair_id="X/Y", fact_rank=1, coincides=True,
             event_start_date=date(2021, 7, 19), days_since_event=1225,
             leader_trough_close=2130.68, leader_trough_drawdown=-0.097,
             laggard_event_value=29360.96, laggard_event_date=date(2021, 7, 20),
             known_from=date(2021, 7, 26), record_date=date(2021, 3, 15)),
        _row("joint_bottom", pair_id="X/Y", fact_rank=2, coincides=False, n_not_coinciding=1,
             event_start_date=date(2023, 10, 27), days_since_event=395,
             leader_trough_close=1636.94, leader_trough_drawdown=-0.330,
             laggard_event_value=28601.67, laggard_event_date=date(2023, 10, 20),
             known_from=date(2023, 11, 3), record_date=date(2021, 11, 8)),
    ]
    text = format_brief(DAY, rows)
    assert "closed at 2,130.68 on 2021-07-19, 1,225 days before this date" in text
    assert ("Since then, the Leader's drawdown from its record close of 2021-11-08 bottomed at "
            "1,636.94 on 2023-10-27, 395 days before this date (33.0 % below its record "
            "close), with no joint bottom") in text
    many = format_brief(DAY, rows[:2] + [{**rows[2], "n_not_coinciding": 3}])
    assert "Since then, 3 later drawdowns of the Leader bottomed without Laggard" in many


def test_a_pair_without_stored_prices_is_named():
    rows = [_row("no_data", symbol="^NDX", subject_name="Nasdaq 100", fact_rank=6,
                 history_start_date=None),
            _row("no_data", symbol="^NDX", subject_name="Nasdaq 100", fact_rank=4,
                 history_start_date=None,
                 pair_id="^NDX/BTC-USD", leader="^NDX", laggard="BTC-USD",
                 leader_name="Nasdaq 100", laggard_name="Bitcoin")]
    text = format_brief(DAY, rows)
    assert "- Nasdaq 100 (^NDX): no stored prices at all." in text
    assert ("### Nasdaq 100 / Bitcoin\n\nNasdaq 100 (^NDX): no stored prices, so the pair "
            "^NDX/BTC-USD cannot be assessed.") in text


def test_fed_lines_say_as_of_and_name_stopped_series():
    newest = date(2026, 8, 27)
    rows = [
        _row("policy_rate", brief_date=newest, subject_name="Federal funds target range",
             as_of_date=date(2026, 8, 21), days_since_as_of=6, is_stale=False,
             effective_date=date(2025, 12, 11), announcement_date=date(2025, 12, 10),
             change_bp=-25, direction="cut", number_in_year=3, old_lower=3.75, old_upper=4.0,
             new_lower=3.5, new_upper=3.75),
        _row("rates", brief_date=newest, subject_name="2-year", as_of_date=date(2026, 7, 28),
             days_since_as_of=30, is_stale=True, dgs2=None, effr=3.63, spread_2y_effr=None,
             dgs2_as_of=date(2026, 7, 28), effr_as_of=date(2026, 8, 20)),
    ]
    text = format_brief(newest, rows)
    assert "Federal funds target range 3.50-3.75 % (as of 2026-08-21" in text
    assert ("2-year Treasury yield minus the effective fed funds rate: not known on this date: "
            "DGS2 (the 2-year Treasury yield) has no value since 2026-07-28, 30 days before "
            "this date.") in text
    stopped = format_brief(newest, [{**rows[0], "is_stale": True, "as_of_date": date(2026, 7, 1),
                                     "days_since_as_of": 57}])
    assert "3.50-3.75 % (as of 2026-07-01, FRED's latest target observation)" in stopped
    assert ("FRED's target series (DFEDTARL, DFEDTARU) stopped on 2026-07-01, 57 days before "
            "this date: a later move would not show here.") in stopped
    saturday = format_brief(date(2025, 12, 13), [{
        **rows[1], "brief_date": date(2025, 12, 13), "is_stale": False, "dgs2": 3.52,
        "effr": 3.64, "spread_2y_effr": -0.12, "dgs2_as_of": date(2025, 12, 12),
        "effr_as_of": date(2025, 12, 11), "as_of_date": date(2025, 12, 11)}])
    assert "-0.12 points (3.52 % as of 2025-12-12 minus 3.64 % as of 2025-12-11)" in saturday


def test_snapshot_says_how_far_below_without_a_minus(catalog):
    from orchestration.snapshot import format_snapshot

    base = {"instrument_name": "x", "latest_date": DAY, "latest_close": 1.0,
            "record_close_date": DAY, "is_record_today": False, "source": "files",
            "is_synthetic": False, "data_as_of": DAY, "sessions_behind": 0, "is_stale": False}
    text = format_snapshot([
        {**base, "symbol": "BTC-USD", "record_close": 125000.0,
         "fraction_below_record_close": 92000 / 125000 - 1},
        {**base, "symbol": "^RUT", "record_close": 2442.74,
         "fraction_below_record_close": 2442.03 / 2442.74 - 1},
    ], catalog)
    assert "26.4 %" in text and "-26.4 %" not in text
    assert "0.03 %" in text and "0.0 %" not in text
