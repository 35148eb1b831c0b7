"""The brief's Markdown from hand-made rows: numbers written the way people write them, and
unknown said as unknown (no warehouse needed)."""

from datetime import date

from orchestration.brief import below, days, format_brief, num, p_value, pct, signed_pct

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
            "is_synthetic": False, "data_as_of": DAY, "sessions_behind": 0, "is_stale": False,
            "quarantined_rows": 0, "latest_quarantined_date": None}
    text = format_snapshot([
        {**base, "symbol": "BTC-USD", "record_close": 125000.0,
         "fraction_below_record_close": 92000 / 125000 - 1},
        {**base, "symbol": "^RUT", "record_close": 2442.74,
         "fraction_below_record_close": 2442.03 / 2442.74 - 1},
    ], catalog)
    assert "26.4 %" in text and "-26.4 %" not in text
    assert "0.03 %" in text and "0.0 %" not in text


def test_a_zero_change_is_never_signed_and_unknown_is_a_dash_in_tables(catalog):
    """No "+0.0 %" and no "+0.00 points" for a zero: the brief's table, its rates line, the
    Dagster UI's snapshot table and the terminal snapshot write numbers alike
    (orchestration/formatting.py), with "-" for an unknown cell and "1 session"."""
    import duckdb

    from orchestration.lib.mart_metadata import snapshot_markdown
    from orchestration.snapshot import format_snapshot

    history = _row("divergence_history", pair_id="X/Y", horizon_days=30, n_episodes=2,
                   n_known=2, n_laggard_beat=1, share_laggard_beat=0.5,
                   median_laggard_return=0.0, median_leader_return=-0.0, record_basis="high",
                   n_record_known=0, n_laggard_record=0, share_laggard_record=None,
                   is_anecdotal=True, min_episodes_for_pattern=20)
    divergence = _row("divergence", pair_id="X/Y", leader="X", laggard="Y",
                      leader_name="Leader", laggard_name="Laggard", fact_rank=1,
                      as_of_date=DAY, is_divergent=False, leader_close=100.0,
                      leader_at_record=True, laggard_close=90.0,
                      laggard_fraction_below_record=-0.1, laggard_basis="high",
                      divergence_threshold=0.2, last_divergent_date=None)
    rates = _row("rates", subject_name="2-year", as_of_date=DAY, days_since_as_of=0,
                 is_stale=False, dgs2=3.64, effr=3.64, spread_2y_effr=0.0, dgs2_as_of=DAY,
                 effr_as_of=DAY)
    text = format_brief(DAY, [divergence, history, rates])
    assert "| 30 days | 2 of 2 | 1 (50.0 %) | 0.0 % | 0.0 % | - |" in text
    assert "effective fed funds rate: 0.00 points (3.64 % - 3.64 %)" in text
    assert "+0.0" not in text and "-0.0" not in text

    con = duckdb.connect()
    con.execute("CREATE SCHEMA marts")
    con.execute("""CREATE TABLE marts.mart_market_snapshot AS SELECT * FROM (VALUES
        ('BTC-USD', DATE '2025-12-11', 92000.0, 0.0, NULL, -0.264, DATE '2025-10-06', FALSE,
         1, TRUE, 0, NULL::DATE, FALSE),
        ('^RUT', DATE '2025-12-11', 2442.03, -0.00001, 0.1234,
         2442.03 / 2442.74 - 1, DATE '2021-11-08', FALSE, 0, FALSE, 0, NULL::DATE, FALSE))
        AS t(symbol, latest_date, latest_close, change_1d, change_ytd,
             fraction_below_record_close, record_close_date, is_record_today, sessions_behind,
             is_stale, quarantined_rows, latest_quarantined_date, is_synthetic)""")
    table = snapshot_markdown(con)
    assert ("| BTC-USD | 2025-12-11 (**stale**: 1 session behind) | 92,000.00 | 0.0 % | - "
            "| 26.4 % | 2025-10-06 |") in table
    assert ("| ^RUT | 2025-12-11 | 2,442.03 | less than -0.01 % | +12.3 % | 0.03 % "
            "| 2021-11-08 |") in table
    base = {"instrument_name": None, "latest_date": DAY, "latest_close": 92000.0,
            "record_close": 125000.0, "record_close_date": None, "is_record_today": False,
            "fraction_below_record_close": -0.264, "source": "files", "is_synthetic": False,
            "data_as_of": DAY, "sessions_behind": 1, "is_stale": True, "quarantined_rows": 0,
            "latest_quarantined_date": None}
    printed = format_snapshot([{**base, "symbol": "BTC-USD"}], catalog)
    [row] = [line for line in printed.splitlines() if line.startswith("BTC-USD")]
    assert row.split() == ["BTC-USD", "-", "2025-12-11", "92,000.00", "125,000.00", "-",
                           "26.4", "%", "stale:", "1", "session", "behind"], row


# ------------------------------------------------------------------ issue 30: the evidence
RUT_BTC = {"pair_id": "^RUT/BTC-USD", "leader": "^RUT", "laggard": "BTC-USD",
           "leader_name": "Russell 2000", "laggard_name": "Bitcoin"}


def _divergent(**values):
    row = dict(fact_rank=1, as_of_date=DAY, is_divergent=True, leader_close=2590.61,
               leader_at_record=True, laggard_close=92511.34,
               laggard_fraction_below_record=-0.267, laggard_basis="high",
               divergence_threshold=0.2, episode_start_date=date(2025, 12, 4),
               divergent_days_so_far=3, previous_episode_end_date=None,
               last_divergent_date=DAY, days_since_last_divergent=0)
    return _row("divergence", **RUT_BTC, **{**row, **values})


def _comparison(horizon, **values):
    """An outcome_comparison row; the issue's illustrative 365-day numbers by default."""
    row = dict(horizon_days=horizon, fact_rank=horizon, n_episodes=16, n_known=11,
               n_laggard_beat=10, share_laggard_beat=10 / 11, base_rate_share=0.781,
               base_rate_n_known=2577, base_rate_first_start_date=date(2014, 9, 17),
               base_rate_last_start_date=date(2024, 12, 11), leader_record_share=0.779,
               leader_record_n_known=122, laggard_below_share=0.789,
               laggard_below_n_known=1300, test_method="exact binomial, one-sided",
               p_value=0.27, verdict="no better than the base rate", is_anecdotal=True,
               min_episodes_for_pattern=20, laggard_basis="high", divergence_threshold=0.2)
    return _row("outcome_comparison", **RUT_BTC, **{**row, **values})


def test_p_values_read_as_people_write_them():
    """Two decimals from 0.1 up; below, three significant digits, so that a p-value just under
    a verdict's threshold (0.0496 < 0.05) never prints as the threshold itself."""
    assert p_value(0.27) == "p = 0.27" and p_value(0.1) == "p = 0.10"
    assert p_value(0.0496) == "p = 0.0496" and p_value(0.03125) == "p = 0.0312"
    assert p_value(0.0004) == "p < 0.001" and p_value(1.0) == "p = 1.00"
    table = format_brief(DAY, [_divergent(), _comparison(365, p_value=0.0004)])
    assert "| 78.9 % (n = 1,300) | < 0.001 | no better than the base rate |" in table


def test_the_comparison_with_the_base_rates_on_a_divergent_day():
    """The issue's sentence for the longest horizon with a known outcome, then a table of
    every horizon; every number is a column of the rows, written as people write numbers."""
    rows = [_divergent(),
            _comparison(30, n_known=15, n_laggard_beat=9, share_laggard_beat=0.6,
                        base_rate_share=0.5512, base_rate_n_known=3950, p_value=0.0496,
                        verdict="suggestive"),
            _comparison(365)]
    text = format_brief(DAY, rows)
    assert ("**Against the base rates.** After the 11 earlier divergences with a known outcome, "
            "Bitcoin beat the Russell 2000 over the next 365 days 10 times (90.9 %). Over any "
            "365 days from 2014-09-17 on, it did 78.1 % of the time (n = 2,577 overlapping "
            "windows); after any Russell 2000 record close, 77.9 % (n = 122); with Bitcoin at "
            "least 20.0 % below its record high, 78.9 % (n = 1,300). Against the base rate, "
            "p = 0.27 (exact binomial, one-sided): no better than the base rate, n = 11 "
            "(anecdote: fewer than 20 known outcomes).") in text
    assert ("| after | after earlier divergences | any day | after a record close of the "
            "Russell 2000 | Bitcoin at least 20.0 % below its record high | p (exact binomial, "
            "one-sided) | reading |") in text
    assert ("| 30 days | 9 of 15 (60.0 %) | 55.1 % (n = 3,950) | 77.9 % (n = 122) | "
            "78.9 % (n = 1,300) | 0.0496 | suggestive |") in text
    assert ("| 365 days | 10 of 11 (90.9 %) | 78.1 % (n = 2,577) | 77.9 % (n = 122) | "
            "78.9 % (n = 1,300) | 0.27 | no better than the base rate |") in text
    assert "randomised" not in text  # no randomised row for this day
    # the words are the verdict column's, whatever the p-value: Python never chooses them
    worded = format_brief(DAY, [_divergent(), _comparison(365, verdict="WORD OF THE RULES",
                                                          is_anecdotal=False)])
    assert "p = 0.27 (exact binomial, one-sided): WORD OF THE RULES, n = 11." in worded
    assert "| 0.27 | WORD OF THE RULES |" in worded


def test_the_comparison_when_nothing_is_known_yet():
    """No earlier episode's window has passed: no sentence, and unknown cells are unknown,
    never 0."""
    rows = [_divergent(),
            _comparison(30, n_known=0, n_laggard_beat=0, share_laggard_beat=None,
                        leader_record_share=None, leader_record_n_known=0, p_value=None,
                        verdict=None)]
    text = format_brief(DAY, rows)
    assert "**Against the base rates.**" not in text
    assert ("| 30 days | - | 78.1 % (n = 2,577) | - | 78.9 % (n = 1,300) | - | - |") in text
    partly = format_brief(DAY, [_divergent(), _comparison(365, leader_record_share=None,
                                                          leader_record_n_known=0)])
    assert "after any Russell 2000 record close, no such day with a known outcome yet;" in partly
    nothing = format_brief(DAY, [_divergent(), _comparison(
        365, base_rate_share=None, base_rate_n_known=0, base_rate_first_start_date=None,
        leader_record_share=None, leader_record_n_known=0, laggard_below_share=None,
        laggard_below_n_known=0, p_value=None, verdict=None)])
    assert ("(90.9 %). No 365 days from any start day had passed yet; after any Russell 2000 "
            "record close, no such day with a known outcome yet;") in nothing
    assert "| 365 days | 10 of 11 (90.9 %) | - | - | - | - | - |" in nothing


def test_the_randomised_test_where_it_was_run_on_the_days_data():
    rows = [_divergent(), _comparison(30, n_known=15, n_laggard_beat=9,
                                      share_laggard_beat=0.6), _comparison(365),
            {"fact_kind": "outcome_randomised", **RUT_BTC, "horizon_days": 365,
             "method": "circular shift of the episode end dates (Monte-Carlo)",
             "draws": 10_000, "seed": 20251211, "p_value": 0.3102, "p_value_mc_se": 0.00463,
             "verdict": "no better than the base rate"}]
    text = format_brief(DAY, rows)
    assert ("| p (exact binomial, one-sided) | reading | p (randomised) | reading |") in text
    assert "| 0.27 | no better than the base rate | 0.31 | no better than the base rate |" in text
    assert "| 30 days | 9 of 15 (60.0 %) |" in text and "| - | - |" in text
    assert ("The randomised test keeps the episodes' spacing and clustering: circular shift "
            "of the episode end dates (Monte-Carlo), 10,000 draws with seed 20251211, "
            "Monte-Carlo standard error 0.005. At 365 days, p = 0.31: no better than the base "
            "rate.") in text
    # parentheses never nest in the brief's sentences
    for line in text.splitlines():
        depth = 0
        for ch in line:
            depth += {"(": 1, ")": -1}.get(ch, 0)
            assert depth <= 1, line


def test_randomised_rows_only_for_the_days_own_data():
    """mart_outcome_randomised runs once, on the whole stored history: a day's comparison gets
    its row only when the test used exactly that day's episodes and start days."""
    import duckdb

    from orchestration.brief import randomised_rows

    con = duckdb.connect()
    con.execute("CREATE SCHEMA marts")
    assert randomised_rows(con, DAY) == []  # the step has not run yet
    con.execute("""CREATE TABLE marts.mart_daily_brief AS SELECT * FROM (VALUES
        (DATE '2025-12-11', 'outcome_comparison', 'P', 365, 11, 10, 2577, DATE '2014-09-17',
         DATE '2024-12-11'),
        (DATE '2025-12-11', 'outcome_comparison', 'P', 30, 15, 9, 3950, DATE '2014-09-17',
         DATE '2025-11-11'),
        (DATE '2025-12-10', 'outcome_comparison', 'P', 365, 11, 10, 2576, DATE '2014-09-17',
         DATE '2024-12-10'))
        AS t(brief_date, fact_kind, pair_id, horizon_days, n_known, n_laggard_beat,
             base_rate_n_known, base_rate_first_start_date, base_rate_last_start_date)""")
    con.execute("""CREATE TABLE marts.mart_outcome_randomised AS SELECT * FROM (VALUES
        ('P', 365, 11, 10, 2577, DATE '2014-09-17', DATE '2024-12-11', 0.31::DOUBLE),
        ('P', 30, 16, 9, 3951, DATE '2014-09-17', DATE '2025-11-12', 0.05::DOUBLE))
        AS t(pair_id, horizon_days, n_known, n_laggard_beat, n_eligible_days,
             first_eligible_date, last_eligible_date, p_value)""")
    [row] = randomised_rows(con, DAY)  # 30 days: a later episode and day are in the test
    assert (row["fact_kind"], row["horizon_days"], row["p_value"]) == \
        ("outcome_randomised", 365, 0.31)
    assert randomised_rows(con, date(2025, 12, 10)) == []  # one start day fewer that day


def test_the_lead_lag_line():
    rows = [_divergent(),
            _row("lead_lag", **RUT_BTC, fact_rank=1, as_of_date=DAY,
                 first_week_ending=date(2014, 9, 26), last_week_ending=date(2025, 12, 5),
                 max_lag_weeks=8, peak_lag_weeks=2, peak_corr=0.3123, peak_n_weeks=583,
                 peak_band_95=0.0812, lag0_corr=0.1187, lag0_n_weeks=585, fisher_z=2.614,
                 lead_lag_reading="moves after the leader", trend_days=365,
                 n_corr_30_known=250, share_corr_30_positive=0.736, n_corr_90_known=248,
                 share_corr_90_positive=0.9556)]
    text = format_brief(DAY, rows)
    assert ("- Lead and lag (weekly log returns, weeks ending 2014-09-26 to 2025-12-05; at lag "
            "+k Bitcoin's week comes k weeks after the Russell 2000's): of the lags -8..+8 "
            "weeks, the correlation is largest at lag +2 weeks, r = 0.31 (n = 583 weeks; 95 % "
            "band ±0.08), against r = 0.12 at lag 0 (Fisher z = 2.61): moves after the leader. "
            "Over the last 365 days, the correlation of daily returns was positive: the "
            "30-session one on 73.6 % of 250 days, the 90-session one on 95.6 % of 248 "
            "days.") in text
    at_zero = format_brief(DAY, [_divergent(), {**rows[1], "peak_lag_weeks": 0,
                                                "peak_corr": 0.1187, "fisher_z": None,
                                                "lead_lag_reading": "moves with the leader"}])
    assert "largest at lag 0, r = 0.12 (n = 583 weeks; 95 % band ±0.08): moves with" in at_zero
    assert "against r =" not in at_zero
    # a day that is not divergent states the reading, and no comparison
    calm = format_brief(DAY, [_divergent(is_divergent=False, leader_at_record=False),
                              rows[1]])
    assert "- Lead and lag" in calm and "base rate" not in calm


def test_a_lead_lag_reading_after_one_members_data_stopped_says_its_date():
    """Bitcoin's prices end on 2026-07-22: on 2026-08-27 the brief keeps the reading of the
    last Russell 2000 session with a Bitcoin price, with that date and its age."""
    day = date(2026, 8, 27)
    row = _row("lead_lag", **RUT_BTC, fact_rank=1, brief_date=day,
               as_of_date=date(2026, 7, 22), days_since_as_of=36, is_stale=True,
               first_week_ending=date(2014, 9, 26), last_week_ending=date(2026, 7, 17),
               max_lag_weeks=8, peak_lag_weeks=0, peak_corr=0.2234, peak_n_weeks=617,
               peak_band_95=0.0789, lag0_corr=0.2234, lag0_n_weeks=617, fisher_z=None,
               lead_lag_reading="moves with the leader (the peak is at lag 0)",
               trend_days=365, n_corr_30_known=250, share_corr_30_positive=0.5,
               n_corr_90_known=250, share_corr_90_positive=0.75)
    text = format_brief(day, [_divergent(brief_date=day, as_of_date=day), row])
    assert ("- Lead and lag (as of 2026-07-22, 36 days before this date: the last Russell 2000 "
            "session on which Bitcoin had a price too; weekly log returns, weeks ending "
            "2014-09-26 to 2026-07-17;") in text
    assert "Over the last 365 days, the correlation of daily returns" in text


def test_two_different_values_never_read_alike():
    """A record of 58.4212 over 58.4183 (+0.005 %) is written with three decimals, not
    "58.42 ... above 58.42"; equal values and values apart at two decimals keep two."""
    from orchestration.formatting import distinct_nums

    assert distinct_nums(58.4212, 58.4183) == ("58.421", "58.418")
    assert distinct_nums(58.4201, 58.4199) == ("58.4201", "58.4199")
    assert distinct_nums(2590.61, 2559.61) == ("2,590.61", "2,559.61")
    assert distinct_nums(100.0, 100.0) == ("100.00", "100.00")
    rows = [_row("record", symbol="SI=F", subject_name="Silver", basis="close", fact_rank=1,
                 record_value=58.4212, previous_record_value=58.4183,
                 previous_record_date=date(2025, 12, 1), gain_over_previous=58.4212 / 58.4183 - 1,
                 days_since_previous_record=4)]
    text = format_brief(DAY, rows)
    assert ("a record close of 58.421 (less than +0.01 % over 58.418 of 2025-12-01, 4 days "
            "earlier)") in text
