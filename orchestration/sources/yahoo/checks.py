"""Data-quality checks on raw.market_prices (asset checks; orchestration/lib/raw_checks.py).

Blocking: price spikes that reverse the next day (the typo pattern) or a one-day move of
`extreme_ratio` or 1/`extreme_ratio`. Warnings: freshness against the trading calendar,
sessions missing inside the stored range, inconsistent OHLC (futures settle outside the
session range), daily moves beyond `max_daily_move`. The thresholds are dbt vars
(dbt_project/dbt_project.yml), each with its reason; the descriptions render their values.

The severities were set by counting what each rule flags on the whole real history
(docs/operations.md, "Data-quality checks"): the spike rule and the ratio rule flag nothing
there, the daily-move rule flags six real moves (Bitcoin's of March 2020, the silver crash
of 2026-01-30, ...), so only the first two block.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import dagster as dg

from orchestration.formatting import plural, signed_pct
from orchestration.lib.dbt_vars import dbt_var
from orchestration.lib.raw_checks import (
    Query,
    Rule,
    expected_last_dates,
    quarantine_rule,
    result,
    synthetic_note,
    table_checks,
)
from orchestration.resources import LockstepResource
from orchestration.sources.yahoo.assets import MARKET_PRICES

# ------------------------------------------------- the row rules, checked where rows changed
#
# Three rules judge one bar at a time, with the closes before and after it: the spike, the
# daily-move and the OHLC rule. Their flagged bars are kept in ops.market_check_flags, with
# the newest arrival time checked (ops.market_check_state), so a step re-judges only the bars
# that can have changed since: per symbol, from the bar before its first new or revised one
# (whose close after it changed) on: re-judging every bar is a window over the whole
# history, where a daily refresh changes a day of it. Everything is judged again when
# nothing is recorded, when the rules' SQL or thresholds (the fingerprint) changed, or with
# LOCKSTEP_FULL_REFRESH=1; tests/test_checks_market.py holds the incremental result to a
# whole re-judging after appends, revisions and backfills.

FLAGS_DDL = [
    "CREATE SCHEMA IF NOT EXISTS ops",
    """CREATE TABLE IF NOT EXISTS ops.market_check_flags (
        rule VARCHAR NOT NULL, symbol VARCHAR NOT NULL, date DATE NOT NULL,
        before DOUBLE, close DOUBLE, after DOUBLE)""",
    """CREATE TABLE IF NOT EXISTS ops.market_check_state (
        fingerprint VARCHAR NOT NULL, checked_through TIMESTAMP, recorded_at TIMESTAMP NOT NULL)""",
]

# a bar's close before a first changed bar is looked for this far back before the earliest
# of them (then, for a symbol without two bars there, in its whole history)
_NEAR_DAYS = 31


def _flag_sql() -> str:
    """Each bar of the region with the closes around it, and which rules flag it."""
    spike_move, spike_return = float(dbt_var("spike_move")), float(dbt_var("spike_return"))
    extreme_ratio = float(dbt_var("extreme_ratio"))
    max_move = float(dbt_var("max_daily_move"))
    return f"""
        WITH bars AS (
            SELECT p.symbol, p.date, p.open, p.high, p.low, p.close, r.recheck_from,
                   lag(p.close) OVER w AS before, lead(p.close) OVER w AS after
            FROM raw.market_prices AS p
            JOIN lockstep_region AS r ON p.symbol = r.symbol AND p.date >= r.read_from
            WINDOW w AS (PARTITION BY p.symbol ORDER BY p.date)
        ),
        judged AS (
            SELECT symbol, date, before, close, after,
                   (abs(close / before - 1) >= {spike_move}
                    AND sign(close - before) <> sign(after - close)
                    AND abs(after / before - 1) <= {spike_return})
                   OR close / before >= {extreme_ratio} OR before / close >= {extreme_ratio}
                       AS spike,
                   abs(close / before - 1) > {max_move} AS big_move,
                   low > least(open, close) OR high < greatest(open, close) AS bad_ohlc
            FROM bars WHERE date >= recheck_from
        )
        SELECT 'market_prices_no_spikes', symbol, date, before, close, after
        FROM judged WHERE spike
        UNION ALL
        SELECT 'market_prices_daily_moves', symbol, date, before, close, after
        FROM judged WHERE big_move
        UNION ALL
        SELECT 'market_prices_ohlc_consistent', symbol, date, before, close, after
        FROM judged WHERE bad_ohlc"""


def _flags(q: Query, lockstep: LockstepResource | None) -> str:
    """Bring ops.market_check_flags up to date (once per step's connection) and name it."""
    if q("SELECT count(*) FROM duckdb_tables() WHERE temporary "
         "AND table_name = 'lockstep_flagged'")[0][0]:
        return "ops.market_check_flags"

    sql = _flag_sql()
    fingerprint = hashlib.sha256(sql.encode()).hexdigest()
    for ddl in FLAGS_DDL:
        q(ddl)
    q("BEGIN TRANSACTION")
    recorded = q("SELECT fingerprint, checked_through FROM ops.market_check_state "
                 "ORDER BY recorded_at DESC LIMIT 1")
    whole = (not recorded or recorded[0][0] != fingerprint or recorded[0][1] is None
             or bool(lockstep and lockstep.settings().full_refresh))
    since = None if whole else recorded[0][1]
    through = q("SELECT max(ingested_at) FROM raw.market_prices")[0][0]
    # per changed symbol: its first new or revised bar, and the two bars before it
    q("""CREATE OR REPLACE TEMP TABLE lockstep_changed AS
         SELECT symbol, min(date) AS first FROM raw.market_prices
         WHERE $since IS NULL OR ingested_at > $since GROUP BY 1""", {"since": since})
    near_from = q("SELECT min(first) - $days FROM lockstep_changed", {"days": _NEAR_DAYS})[0][0]
    q("""CREATE OR REPLACE TEMP TABLE lockstep_region AS
         WITH near AS (
             SELECT p.symbol, max(p.date, 2) AS prior
             FROM raw.market_prices AS p JOIN lockstep_changed AS c USING (symbol)
             WHERE p.date >= $near_from AND p.date < c.first GROUP BY 1
         ),
         far AS (
             SELECT p.symbol, max(p.date, 2) AS prior
             FROM raw.market_prices AS p
             JOIN (SELECT c.* FROM lockstep_changed AS c LEFT JOIN near AS n USING (symbol)
                   WHERE coalesce(len(n.prior), 0) < 2) AS c USING (symbol)
             WHERE p.date < c.first GROUP BY 1
         )
         SELECT c.symbol,
                coalesce(list_max(coalesce(f.prior, n.prior)), c.first) AS recheck_from,
                coalesce(list_min(coalesce(f.prior, n.prior)), c.first) AS read_from
         FROM lockstep_changed AS c
         LEFT JOIN near AS n USING (symbol) LEFT JOIN far AS f USING (symbol)""",
      {"near_from": near_from})
    if since is None:
        q("DELETE FROM ops.market_check_flags")
    else:
        q("""DELETE FROM ops.market_check_flags AS f USING lockstep_region AS r
             WHERE f.symbol = r.symbol AND f.date >= r.recheck_from""")
    q(f"INSERT INTO ops.market_check_flags {sql}")
    q("DELETE FROM ops.market_check_state")
    q("INSERT INTO ops.market_check_state VALUES (?, ?, now()::TIMESTAMP)", [fingerprint, through])
    q("COMMIT")
    q("CREATE TEMP TABLE lockstep_flagged AS SELECT 1")
    return "ops.market_check_flags"


def market_prices_no_spikes(q: Query, lockstep: LockstepResource | None) -> dict:
    spike_move, spike_return = float(dbt_var("spike_move")), float(dbt_var("spike_return"))
    extreme_ratio = float(dbt_var("extreme_ratio"))
    rows = q(f"""
        SELECT symbol, date, before, close, after FROM {_flags(q, lockstep)}
        WHERE rule = 'market_prices_no_spikes' ORDER BY symbol, date""")

    def fmt(r) -> str:
        after = f", then {r[4]:,.2f}" if r[4] is not None else " (the newest day)"
        return f"{r[0]} {r[1]}: {r[2]:,.2f} -> {r[3]:,.2f}{after}"

    what = (f"close that spikes and reverses (or moves {extreme_ratio:g}x in a day)",
            f"closes that spike and reverse (or move {extreme_ratio:g}x in a day)")
    return result(rows, fmt, what, spike_move=spike_move, spike_return=spike_return,
                  extreme_ratio=extreme_ratio)


def market_prices_ohlc_consistent(q: Query, lockstep: LockstepResource | None) -> dict:
    rows = q(f"""
        SELECT symbol, count(*), min(date), max(date) FROM {_flags(q, lockstep)}
        WHERE rule = 'market_prices_ohlc_consistent' GROUP BY 1 ORDER BY 1""")
    return result(rows, lambda r: f"{r[0]}: {plural(r[1], 'row')}, {r[2]} to {r[3]}",
                   ("symbol with OHLC outside the high-low range",
                    "symbols with OHLC outside the high-low range"), dg.AssetCheckSeverity.WARN)


def market_prices_daily_moves(q: Query, lockstep: LockstepResource | None) -> dict:
    limit = float(dbt_var("max_daily_move"))
    rows = q(f"""
        SELECT symbol, date, close / before - 1 AS move FROM {_flags(q, lockstep)}
        WHERE rule = 'market_prices_daily_moves' ORDER BY date DESC, symbol""")
    return result(rows, lambda r: f"{r[0]} {r[1]}: {signed_pct(r[2])}",
                   (f"daily move beyond {limit * 100:.0f} %",
                    f"daily moves beyond {limit * 100:.0f} %"), dg.AssetCheckSeverity.WARN,
                   max_daily_move=limit)


def market_prices_fresh(q: Query, lockstep: LockstepResource) -> dict:
    sessions = [r[0] for r in q("SELECT session_date FROM raw.trading_sessions "
                                              "WHERE calendar = 'XNYS' ORDER BY 1")]
    expected = expected_last_dates(datetime.now(UTC), sessions)
    latest = q("""
        SELECT p.symbol, coalesce(i.calendar, 'XNYS'), max(p.date), any_value(p.source)
        FROM raw.market_prices p LEFT JOIN raw.instruments i USING (symbol)
        GROUP BY 1, 2 ORDER BY 1""")
    stale = [(s, last, expected[cal], src) for s, cal, last, src in latest
             if cal in expected and last < expected[cal]]
    return result(stale, lambda r: f"{r[0]}: latest {r[1]}, expected {r[2]}",
                   ("symbol behind its calendar", "symbols behind their calendar"),
                   dg.AssetCheckSeverity.WARN,
                   note=synthetic_note(latest))


def market_prices_no_missing_sessions(q: Query, lockstep: LockstepResource) -> dict:
    # counted first: per symbol, the sessions of its calendar between its first and last
    # stored date against its stored rows on such a session (an aggregate); only the
    # symbols short of sessions are then listed date by date (an anti join over every
    # session would cost several times more)
    bounds = """
        SELECT p.symbol, coalesce(i.calendar, 'XNYS') AS calendar,
               min(p.date) AS first_date, max(p.date) AS last_date, count(*) AS stored
        FROM raw.market_prices p LEFT JOIN raw.instruments i USING (symbol)
        {where} GROUP BY 1, 2"""
    short = [r[0] for r in q(f"""
        WITH bounds AS ({bounds.format(where="")}),
        expected AS (
            SELECT b.symbol, count(*) AS n
            FROM bounds b JOIN raw.trading_sessions s
              ON s.calendar = b.calendar AND s.session_date BETWEEN b.first_date AND b.last_date
            GROUP BY 1
            UNION ALL
            SELECT symbol, date_diff('day', first_date, last_date) + 1
            FROM bounds WHERE calendar = '24/7'),
        present AS (
            SELECT p.symbol, count(*) AS n
            FROM raw.market_prices p JOIN bounds b USING (symbol)
            SEMI JOIN raw.trading_sessions s
              ON s.calendar = b.calendar AND s.session_date = p.date
            GROUP BY 1
            UNION ALL
            SELECT symbol, stored FROM bounds WHERE calendar = '24/7')
        SELECT e.symbol FROM expected e LEFT JOIN present p USING (symbol)
        WHERE e.n > coalesce(p.n, 0)""")]
    rows = q(f"""
        WITH bounds AS ({bounds.format(where="WHERE p.symbol IN (SELECT unnest(?))")}),
        expected AS (
            SELECT b.symbol, s.session_date AS date
            FROM bounds b JOIN raw.trading_sessions s
              ON s.calendar = b.calendar AND s.session_date BETWEEN b.first_date AND b.last_date
            UNION ALL
            SELECT b.symbol, cast(unnest(generate_series(cast(b.first_date AS timestamp),
                   cast(b.last_date AS timestamp), interval 1 day)) AS date)
            FROM bounds b WHERE b.calendar = '24/7'),
        missing AS (
            SELECT e.symbol, e.date FROM expected e
            ANTI JOIN raw.market_prices p ON p.symbol = e.symbol AND p.date = e.date)
        SELECT symbol, count(*), min(date), max(date) FROM missing GROUP BY 1 ORDER BY 1""",
             [short]) if short else []
    return result(rows, lambda r: f"{r[0]}: {plural(r[1], 'session')} missing, {r[2]} to {r[3]}",
                   ("symbol with missing sessions", "symbols with missing sessions"),
                   dg.AssetCheckSeverity.WARN)


def _pct(name: str) -> str:
    return f"{float(dbt_var(name)) * 100:g} %"


RULES = [
    Rule(market_prices_no_spikes, True,
         f"No close moves {_pct('spike_move')} or more and comes back within "
         f"{_pct('spike_return')} of the day before it the next day (the pattern of a "
         f"mistyped price), and none moves {float(dbt_var('extreme_ratio')):g}x or "
         f"1/{float(dbt_var('extreme_ratio')):g} in a day (dbt vars spike_move, spike_return, "
         f"extreme_ratio)."),
    Rule(market_prices_ohlc_consistent, False,
         "low <= min(open, close) and max(open, close) <= high (warning: futures often "
         "settle outside the session range)."),
    Rule(market_prices_daily_moves, False,
         f"Daily close-to-close moves larger than {_pct('max_daily_move')} (dbt var "
         f"max_daily_move) are flagged (kept, not dropped)."),
    Rule(market_prices_fresh, False,
         "Each symbol's latest date reaches the last final bar of its calendar (NYSE: the "
         "last session after 18:00 New York; crypto: yesterday UTC).", stale=True),
    Rule(market_prices_no_missing_sessions, False,
         "No session of the symbol's calendar is missing between its first and last stored "
         "date (crypto: no calendar day)."),
    quarantine_rule(MARKET_PRICES),
]

market_prices_checks = table_checks(MARKET_PRICES, "market_prices_checks", RULES)
