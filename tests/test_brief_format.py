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
