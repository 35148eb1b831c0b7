"""Data-quality checks on raw.market_prices (asset checks; orchestration/lib/raw_checks.py).

Blocking: price spikes that reverse the next day (the typo pattern) or a one-day move of
`extreme_ratio` or 1/`extreme_ratio`. Warnings: freshness against the trading calendar,
sessions missing inside the stored range, inconsistent OHLC (futures settle outside the
session range), daily moves beyond `max_daily_move`. The thresholds are dbt vars
(dbt_project/dbt_project.yml), each with its reason; the descriptions render their values.

The severities were set by counting what each rule flags on the whole real history
(README, "Checks"): the spike rule and the ratio rule flag nothing there, the daily-move
rule flags six real moves (Bitcoin's of March 2020, the silver crash of 2026-01-30, ...),
so only the first two block.
"""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg

from orchestration.lib.dbt_vars import dbt_var
from orchestration.lib.raw_checks import (
    Query,
    Rule,
    expected_last_dates,
    result,
    synthetic_note,
    table_checks,
)
from orchestration.resources import LockstepResource
from orchestration.sources.yahoo.assets import MARKET_PRICES


def _moves(q: Query) -> str:
    """Each bar with the close before and after it (lag/lead per symbol): the spike and the
    daily-move rules read it. A temp table on the step's connection, computed once per step
    (each rule's own window over every bar cost a full pass: 0.4-0.5 s per 4 M bars)."""
    q("""
        CREATE TEMP TABLE IF NOT EXISTS lockstep_moves AS
        SELECT symbol, date, close,
               lag(close) OVER w  AS before,
               lead(close) OVER w AS after
        FROM raw.market_prices
        WINDOW w AS (PARTITION BY symbol ORDER BY date)""")
    return "lockstep_moves"


def market_prices_no_spikes(q: Query, lockstep: LockstepResource) -> dict:
    spike_move, spike_return = float(dbt_var("spike_move")), float(dbt_var("spike_return"))
    extreme_ratio = float(dbt_var("extreme_ratio"))
    rows = q(f"""
        SELECT symbol, date, before, close, after
        FROM {_moves(q)}
        WHERE (abs(close / before - 1) >= {spike_move}
               AND sign(close - before) <> sign(after - close)
               AND abs(after / before - 1) <= {spike_return})
           OR close / before >= {extreme_ratio} OR before / close >= {extreme_ratio}
        ORDER BY symbol, date""")

    def fmt(r) -> str:
        after = f", then {r[4]:,.2f}" if r[4] is not None else " (the newest day)"
        return f"{r[0]} {r[1]}: {r[2]:,.2f} -> {r[3]:,.2f}{after}"

    return result(rows, fmt, f"closes that spike and reverse (or move {extreme_ratio:g}x in "
                   f"a day)", spike_move=spike_move, spike_return=spike_return,
                   extreme_ratio=extreme_ratio)


def market_prices_ohlc_consistent(q: Query, lockstep: LockstepResource) -> dict:
    rows = q("""
        SELECT symbol, count(*), min(date), max(date) FROM raw.market_prices
        WHERE low > least(open, close) OR high < greatest(open, close)
        GROUP BY 1 ORDER BY 1""")
    return result(rows, lambda r: f"{r[0]}: {r[1]} rows, {r[2]} to {r[3]}",
                   "symbols with OHLC outside the high-low range", dg.AssetCheckSeverity.WARN)


def market_prices_daily_moves(q: Query, lockstep: LockstepResource) -> dict:
    limit = float(dbt_var("max_daily_move"))
    rows = q(f"""
        SELECT symbol, date, close / before - 1 AS move FROM {_moves(q)}
        WHERE abs(close / before - 1) > ? ORDER BY date DESC""", [limit])
    return result(rows, lambda r: f"{r[0]} {r[1]}: {r[2] * 100:+.1f} %",
                   f"daily moves beyond {limit * 100:.0f} %", dg.AssetCheckSeverity.WARN,
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
                   "symbols behind their calendar", dg.AssetCheckSeverity.WARN,
                   note=synthetic_note(latest))


def market_prices_no_missing_sessions(q: Query, lockstep: LockstepResource) -> dict:
    # counted first: per symbol, the sessions of its calendar between its first and last
    # stored date against its stored rows on such a session (0.2 s for 4 M bars); only the
    # symbols short of sessions are then listed date by date (the anti join took 0.7 s)
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
    return result(rows, lambda r: f"{r[0]}: {r[1]} sessions missing, {r[2]} to {r[3]}",
                   "symbols with missing sessions", dg.AssetCheckSeverity.WARN)


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
]

market_prices_checks = table_checks(MARKET_PRICES, "market_prices_checks", RULES)
