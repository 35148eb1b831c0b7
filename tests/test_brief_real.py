"""The daily brief on the real history: 2025-12-11 fact by fact, and other dates against an
independent pandas computation from the CSV files (tests/brief_oracle.py)."""

from datetime import date

import pandas as pd
import pytest

from orchestration.brief import read_brief, read_rows
from orchestration.lib.warehouse import connect
from tests import brief_oracle as oracle

pytestmark = [pytest.mark.slow, pytest.mark.real_data]

STEMS = {"BTC-USD": "BTC-USD", "^RUT": "RUT", "IWM": "IWM", "^GSPC": "GSPC", "^DJI": "DJI",
         "QQQ": "QQQ", "GC=F": "GC_F", "SI=F": "SI_F"}
PAIRS = {"^RUT/BTC-USD": ("^RUT", "BTC-USD"), "^GSPC/BTC-USD": ("^GSPC", "BTC-USD"),
         "^DJI/BTC-USD": ("^DJI", "BTC-USD")}
# a record day of the leaders, a record-high-only day, a weekend, a day inside the June 2022
# joint bottom's week, an early divergent day, the newest date (stale instruments, unknown
# divergence), a day before Bitcoin's history
DATES = [date(2021, 11, 8), date(2024, 11, 25), date(2025, 12, 13), date(2022, 6, 24),
         date(2015, 3, 2), date(2026, 8, 27), date(2000, 3, 10), date(2025, 12, 11)]


@pytest.fixture(scope="module")
def wh(real_warehouse):
    result, warehouse = real_warehouse
    assert result.success
    return warehouse


@pytest.fixture(scope="module")
def bars(real_data):
    return {s: oracle.load_market(real_data, stem) for s, stem in STEMS.items()}


@pytest.fixture(scope="module")
def sessions():
    return oracle.nyse_sessions()


def _rows(wh, day):
    with connect(wh, read_only=True) as con:
        _, rows = read_rows(con, day)
    return rows


def _kind(rows, kind, **match):
    return [r for r in rows if r["fact_kind"] == kind
            and all(r.get(k) == v for k, v in match.items())]


def test_the_brief_of_2025_12_11_fact_by_fact(wh):
    text = read_brief(wh, date(2025, 12, 11))
    lines = text.splitlines()

    def line_with(*needles):
        found = [line for line in lines if all(n in line for n in needles)]
        assert found, needles
        return found[0]

    assert "SYNTHETIC" not in text
    line_with("Russell 2000 (^RUT)", "record close of 2,590.61", "2,559.61 of 2025-12-10")
    line_with("Dow Jones Industrial Average (^DJI)", "record close of 48,704.01")
    line_with("S&P 500 (^GSPC)", "record close of 6,901.00")
    line_with("Silver front-month future (SI=F)", "record close of 63.93")
    line_with("At a record close:", "^RUT", "^DJI", "^GSPC", "SI=F")
    line_with("Invesco QQQ Trust (QQQ)", "| 1.6 % |", "634.95 on 2025-10-29")
    line_with("Bitcoin (BTC-USD)", "| 25.8 % | 124,752.53 on 2025-10-06",
              "| 26.7 % | 126,198.07 on 2025-10-06")
    assert "2014-09-17" in line_with("BTC-USD: Yahoo's BTC-USD history starts")
    pair = text[text.index("### Russell 2000 / Bitcoin"):text.index("### S&P 500 / Bitcoin")]
    assert "**Divergent**" in pair and "26.7 % below its record intraday high" in pair
    assert ("the first divergence since the episode that ended 2021-01-22, 1,777 days"
            in pair)
    records = [line for line in pair.splitlines() if line.startswith("- Records together")][0]
    assert records.index("2025-10-03 to 2025-10-06") < records.index("2024-11-25") \
        < records.index("2021-11-02 to 2021-11-08")
    assert "on 2025-10-06" in records and "on 2024-11-22" in records and "on 2021-11-08" in records
    line_with("Latest joint bottom", "2,305.11 on 2025-11-20", "80,659.81 on 2025-11-21")
    assert "n = 11" in pair and "anecdote" in pair and "history suggests" not in text
    fed = line_with("Federal funds target range 3.50-3.75 %")
    assert "a 25 bp cut, the third cut of 2025" in fed
    assert "announced 2025-12-10" in fed and "effective 2025-12-11" in fed
    liquidity = line_with("Net liquidity")
    assert "5,728.4 bn" in liquidity and "week of 2025-12-10, published 2025-12-11" in liquidity
    line_with("2-year Treasury yield minus the effective fed funds rate", "proxy")
    line_with("Coming 2025-12-12", "Treasury bills", "as reported")


@pytest.mark.parametrize("day", DATES, ids=str)
def test_instrument_facts_against_the_csvs(wh, bars, sessions, day):
    rows = _rows(wh, day)
    for symbol, frame in bars.items():
        for basis in ("close", "high"):
            expected = oracle.standing(frame, day, basis)
            got = _kind(rows, "standing", symbol=symbol, basis=basis)
            if expected is None:
                assert got == [], (symbol, basis)
                continue
            [r] = got
            assert pd.Timestamp(r["as_of_date"]) == expected.as_of, (symbol, basis)
            assert r["close"] == pytest.approx(expected.close, abs=1e-9)
            assert r["record_value"] == pytest.approx(expected.record, abs=1e-9)
            assert pd.Timestamp(r["record_date"]) == expected.record_date, (symbol, basis)
            assert r["fraction_below_record"] == pytest.approx(expected.fraction, abs=1e-12)
            assert r["is_at_record"] == expected.at_record
            if symbol == "BTC-USD":
                behind = (pd.Timestamp(day) - expected.as_of).days
            else:
                behind = int(((sessions > expected.as_of) & (sessions <= pd.Timestamp(day)))
                             .sum())
            assert r["sessions_behind"] == behind, (symbol, basis)
            assert r["is_stale"] == (behind > 3)
            record = oracle.records_on(frame, day, basis)
            today = _kind(rows, "record", symbol=symbol, basis=basis)
            if record is None:
                assert today == [], (symbol, basis)
            else:
                [t] = today
                assert t["record_value"] == pytest.approx(record[0], abs=1e-9)
                assert t["previous_record_value"] == pytest.approx(record[1], abs=1e-9)
                assert pd.Timestamp(t["previous_record_date"]) == record[2]


@pytest.mark.parametrize("day", DATES, ids=str)
def test_pair_and_fed_facts_against_the_csvs(wh, bars, sessions, real_data, day):
    rows = _rows(wh, day)
    for pair_id, (leader, laggard) in PAIRS.items():
        lead = bars[leader]
        flags = oracle.divergent_days(lead, bars[laggard])
        [d] = _kind(rows, "divergence", pair_id=pair_id)
        as_of = lead.index[lead.index <= pd.Timestamp(day)][-1]
        assert pd.Timestamp(d["as_of_date"]) == as_of
        assert d["is_divergent"] == flags[as_of], pair_id  # None when unknown
        runs = oracle.episodes(flags[flags.index <= as_of], sessions)
        if flags[as_of] is True:
            current = runs.iloc[-1]
            assert pd.Timestamp(d["episode_start_date"]) == current.start
            assert d["divergent_days_so_far"] == current.days
            if len(runs) > 1:
                previous = runs.iloc[-2]
                assert pd.Timestamp(d["previous_episode_end_date"]) == previous.end
                assert d["days_since_previous_episode"] == (current.start - previous.end).days
                assert d["sessions_since_previous_episode"] == \
                    current.start_session - previous.end_session
    policy = oracle.policy_in_force(real_data, day)
    got = _kind(rows, "policy_rate")
    if policy is None:
        assert got == []
    else:
        [p] = got
        assert pd.Timestamp(p["effective_date"]) == policy["effective"]
        assert p["change_bp"] == policy["bp"]
        assert (p["new_lower"], p["new_upper"]) == (policy["new_lower"], policy["new_upper"])
        assert p["number_in_year"] == policy["number_in_year"]
    if day >= date(2003, 3, 1):
        liquidity = oracle.net_liquidity_known(real_data, day)
        [n] = _kind(rows, "net_liquidity")
        assert pd.Timestamp(n["week_ending"]) == liquidity["week"]
        assert pd.Timestamp(n["available_from"]) == liquidity["published"]
        assert n["net_liquidity"] == pytest.approx(liquidity["net_liquidity"], abs=1e-9)
        assert n["treasuries_change_1w"] == pytest.approx(liquidity["treasuries_change_1w"],
                                                          abs=1e-9)


def test_the_june_2022_joint_bottom_is_known_a_week_later(wh):
    """^RUT's close of 2022-06-16 was its lowest of the 2021-23 episode so far; Bitcoin's
    lowest low came on 2022-06-18. Confirmed on 2022-06-23, the brief names it until ^RUT
    closes lower (2023-10); the episode's final trough (2023-10-27) is not known before."""
    before = _kind(_rows(wh, date(2022, 6, 22)), "joint_bottom", pair_id="^RUT/BTC-USD")
    assert [pd.Timestamp(r["event_start_date"]) for r in before] != [pd.Timestamp("2022-06-16")]
    [after] = _kind(_rows(wh, date(2022, 6, 24)), "joint_bottom", pair_id="^RUT/BTC-USD")
    assert pd.Timestamp(after["event_start_date"]) == pd.Timestamp("2022-06-16")
    assert pd.Timestamp(after["laggard_event_date"]) == pd.Timestamp("2022-06-18")
    assert pd.Timestamp(after["known_from"]) == pd.Timestamp("2022-06-23")


def test_newest_date_says_stale_and_unknown(wh):
    text = read_brief(wh)  # the latest date
    assert text.startswith("# lockstep brief: 2026-08-27")
    assert "**Stale**: BTC-USD's latest close is from 2026-07-22, 36 sessions" in text
    assert "**Stale**: SI=F's latest close is from 2026-02-20" in text
    pair = text[text.index("### Russell 2000 / Bitcoin"):]
    assert "Divergence unknown" in pair.split("###")[1]
    assert "- ^NDX: no stored prices at all." in text
    # the target range and net liquidity are carried to the newest day, from complete weeks
    assert "Federal funds target range 3.50-3.75 %" in text
    assert "the H.4.1 week of 2026-08-19" in text


def test_brief_dates_cover_every_calendar_day(wh):
    with connect(wh, read_only=True) as con:
        first, last, n = con.execute("SELECT min(brief_date), max(brief_date), "
                                     "count(DISTINCT brief_date) FROM marts.mart_daily_brief"
                                     ).fetchone()
    assert first == date(1927, 12, 30) and last == date(2026, 8, 27)
    assert n == (last - first).days + 1
