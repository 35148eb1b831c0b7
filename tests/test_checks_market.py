"""The raw market checks on hand-made bars (orchestration/sources/yahoo/checks.py): spikes,
daily moves and missing sessions, each against what the fixture's own dates say."""

from datetime import date, datetime

import duckdb
import pytest

from orchestration.lib.warehouse import ensure_raw_schema
from orchestration.sources.yahoo import checks

D = {day: date(2025, 12, day) for day in range(1, 13)}
# an XNYS calendar of weekdays with a (made-up) holiday on Monday the 8th
SESSIONS = [D[d] for d in (1, 2, 3, 4, 5, 9, 10, 11, 12)]


@pytest.fixture()
def q():
    con = duckdb.connect(":memory:")
    ensure_raw_schema(con)
    con.executemany("INSERT INTO raw.trading_sessions VALUES ('XNYS', ?)",
                    [[d] for d in SESSIONS])
    con.executemany("INSERT INTO raw.instruments (symbol, name, asset_class, calendar) "
                    "VALUES (?, ?, 'test', ?)",
                    [["AAA", "a", "XNYS"], ["BBB", "b", "XNYS"], ["DDD-USD", "d", "24/7"],
                     ["EEE", "e", "XNYS"], ["FFF", "f", "XLON"], ["SPK", "s", "XNYS"],
                     ["RAT", "r", "XNYS"], ["TRD", "t", "XNYS"]])

    def bars(symbol: str, closes: dict[int, float]) -> None:
        con.executemany("INSERT INTO raw.market_prices (symbol, date, close, source, "
                        "ingested_at) VALUES (?, ?, ?, 'test', ?)",
                        [[symbol, D[d], c, datetime(2025, 12, 13)] for d, c in closes.items()])

    bars("AAA", {d.day: 10.0 for d in SESSIONS})             # every session: nothing missing
    bars("BBB", {2: 10, 3: 10, 5: 10, 8: 10, 10: 10, 11: 10})  # lacks the 4th and the 9th;
    # its bar on the holiday is no session, so it does not make up for one of them
    bars("CCC", {5: 10})                                   # not in the catalog: XNYS, one bar
    bars("DDD-USD", {1: 10, 2: 10, 4: 10, 5: 10, 6: 10, 7: 10})  # 24/7: lacks the 3rd
    bars("EEE", {8: 10, 9: 10, 11: 10})                    # starts on the holiday, lacks the 10th
    bars("FFF", {1: 10, 5: 10})                            # a calendar with no stored sessions
    bars("SPK", {1: 100, 2: 101, 3: 140, 4: 103})          # +38.6 % then back to within 2 %
    bars("RAT", {1: 10, 2: 31})                            # 3.1x on its newest day
    bars("TRD", {1: 100, 2: 110, 3: 121})                  # +10 % a day: nothing to flag
    yield lambda sql, params=None: con.execute(sql, params or []).fetchall()
    con.close()


def test_missing_sessions_are_counted_against_the_symbols_calendar(q):
    outcome = checks.market_prices_no_missing_sessions(q, None)
    assert [r for r, _ in outcome["_problems"]] == [
        ("BBB", 2, D[4], D[9]), ("DDD-USD", 1, D[3], D[3]), ("EEE", 1, D[10], D[10])]
    assert outcome["description"] == "3 symbols with missing sessions"


def test_spikes_and_daily_moves_read_the_same_moves(q):
    spikes = checks.market_prices_no_spikes(q, None)
    assert [r for r, _ in spikes["_problems"]] == [
        ("RAT", D[2], 10, 31, None), ("SPK", D[3], 101, 140, 103)]
    assert not spikes["passed"]
    moves = checks.market_prices_daily_moves(q, None)
    assert [(s, d, round(m, 6)) for (s, d, m), _ in moves["_problems"]] == [
        ("SPK", D[4], round(103 / 140 - 1, 6)), ("SPK", D[3], round(140 / 101 - 1, 6)),
        ("RAT", D[2], 2.1)]
    assert [line for _, line in moves["_problems"]] == [
        "SPK 2025-12-04: -26.4 %", "SPK 2025-12-03: +38.6 %", "RAT 2025-12-02: +210.0 %"]
