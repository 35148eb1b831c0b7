"""The raw market checks on hand-made bars (orchestration/sources/yahoo/checks.py): spikes,
daily moves and missing sessions, each against what the fixture's own dates say."""

from datetime import date, datetime, timedelta

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
    assert [line for _, line in outcome["_problems"]] == [
        "BBB: 2 sessions missing, 2025-12-04 to 2025-12-09",
        "DDD-USD: 1 session missing, 2025-12-03 to 2025-12-03",
        "EEE: 1 session missing, 2025-12-10 to 2025-12-10"]


def test_one_failure_is_named_in_the_singular(q):
    """"1 symbol with missing sessions", "1 daily move beyond ...": never "1 symbols"."""
    q("DELETE FROM raw.market_prices WHERE symbol IN ('BBB', 'DDD-USD')")
    assert checks.market_prices_no_missing_sessions(q, None)["description"] == (
        "1 symbol with missing sessions")
    q("DELETE FROM raw.market_prices WHERE symbol = 'SPK'")
    moves = checks.market_prices_daily_moves(q, None)
    assert [line for _, line in moves["_problems"]] == ["RAT 2025-12-02: +210.0 %"]
    assert moves["description"].startswith("1 daily move beyond ")  # (the limit is a dbt var)
    spikes = checks.market_prices_no_spikes(q, None)
    assert spikes["description"].startswith("1 close that spikes and reverses (or moves ")


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


# --------------------------------------------- judging only where rows changed = judging all

ROW_RULES = (checks.market_prices_no_spikes, checks.market_prices_daily_moves,
             checks.market_prices_ohlc_consistent)
# closes that often make spikes, reversals and 3x moves next to each other
CLOSES = st.sampled_from([100.0, 101.0, 140.0, 60.0, 310.0, 99.0])


class _Warehouse:
    """An in-memory warehouse whose row rules run as one check step each (a fresh step
    judges again: the per-connection marker goes)."""

    def __init__(self):
        self.con = duckdb.connect(":memory:")
        ensure_raw_schema(self.con)
        for ddl in checks.FLAGS_DDL:
            self.con.execute(ddl)

    def q(self, sql, params=None):
        return self.con.execute(sql, params or []).fetchall()

    def write(self, symbol, day, close, low, at):
        self.con.execute("""
            INSERT OR REPLACE INTO raw.market_prices (symbol, date, open, high, low, close,
                                                      source, ingested_at)
            VALUES (?, ?, ?, ?, ?, ?, 'test', ?)""",
                         [symbol, date(2020, 1, 1) + timedelta(days=day), close, close * 1.01,
                          low, close, at])

    def step(self, whole=False):
        self.q("DROP TABLE IF EXISTS lockstep_flagged")
        if whole:
            self.q("DELETE FROM ops.market_check_state")
        return [[r for r, _ in rule(self.q, None)["_problems"]] for rule in ROW_RULES]


@settings(max_examples=40, deadline=None, derandomize=True)
@given(first=st.dictionaries(st.sampled_from(["A", "B"]),
                             st.lists(CLOSES, min_size=1, max_size=8), min_size=1),
       changes=st.lists(st.tuples(st.sampled_from(["A", "B", "C"]), st.integers(0, 60),
                                  CLOSES, st.booleans()), min_size=1, max_size=6),
       per_step=st.integers(1, 3))
def test_row_rules_judged_where_rows_changed_equal_judging_every_row(first, changes,
                                                                       per_step):
    """Appends, revisions deep in history, backfills into gaps and new symbols, a few per
    refresh: after each refresh the incremental flags equal a whole re-judging."""
    chained, whole = _Warehouse(), _Warehouse()
    at = datetime(2026, 1, 1)
    for symbol, closes in first.items():
        for i, c in enumerate(closes):  # every third day, so backfills land in gaps
            for w in (chained, whole):
                w.write(symbol, 3 * i, c, c * 0.99, at)
    assert chained.step() == whole.step(whole=True)
    for n in range(0, len(changes), per_step):
        at += timedelta(days=1)
        for symbol, day, close, bad_low in changes[n:n + per_step]:
            for w in (chained, whole):
                w.write(symbol, day, close, close * (1.5 if bad_low else 0.99), at)
        assert chained.step() == whole.step(whole=True)


def test_a_daily_refresh_judges_only_the_new_bar_and_the_one_before(q):
    """After one new bar per symbol, the region starts at each symbol's bar before it and
    the window reads from the bar before that."""
    checks.market_prices_no_spikes(q, None)
    q("DROP TABLE lockstep_flagged")
    q("INSERT INTO raw.market_prices (symbol, date, close, source, ingested_at) "
      "VALUES ('SPK', ?, 300, 'test', ?), ('TRD', ?, 125, 'test', ?)",
      [D[5], datetime(2025, 12, 14), D[4], datetime(2025, 12, 14)])
    spikes = checks.market_prices_no_spikes(q, None)
    assert q("SELECT symbol, recheck_from, read_from FROM lockstep_region ORDER BY 1") == [
        ("SPK", D[4], D[3]), ("TRD", D[3], D[2])]
    # SPK's 4th is no longer a reversal's end but the 5th is a 2.9x... below 3x: SPK's 3rd
    # stays flagged (its close after, 103, did not change), nothing new is
    assert [r for r, _ in spikes["_problems"]] == [
        ("RAT", D[2], 10, 31, None), ("SPK", D[3], 101, 140, 103)]
    moves = checks.market_prices_daily_moves(q, None)
    assert ("SPK", D[5], pytest.approx(300 / 103 - 1)) in [r for r, _ in moves["_problems"]]
