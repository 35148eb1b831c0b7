"""Data-quality checks on the raw tables (Dagster asset checks), one per rule.

Blocking (severity ERROR): the marts do not build on top of a failure.
    price spikes that reverse the next day (the typo pattern) or a one-day move of 3x or
    1/3; FRED values outside their unit's sane range.
Warnings (severity WARN): reported with the symbol/series and dates, never blocking.
    freshness against the trading calendar, sessions missing inside the stored range,
    inconsistent OHLC (futures settle outside the session range), daily moves beyond
    `max_daily_move`.
Keys, NOT NULL and positive prices are not checks: the raw tables' primary keys and CHECK
constraints refuse such rows when they are written (tests/test_warehouse.py shows it).
dbt's tests on staging, intermediate and marts appear as asset checks too (dagster-dbt).

The severities were set by counting what each rule flags on the whole real history
(README, "Checks"): the spike rule and the 3x rule flag nothing there, the 20 % move rule
flags six real moves (Bitcoin's of March 2020, the silver crash of 2026-01-30, ...), so
only the first two block.

Each check is its own asset check in the UI, but the checks of one table run in one step on
one DuckDB connection (a multi-asset check). Failures and stale data become alerts
(orchestration/lib/alerts.py), announced once each.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg

from orchestration.assets.ingestion import FRED_OBSERVATIONS, MARKET_PRICES
from orchestration.lib.dbt_vars import dbt_var, fred_units
from orchestration.lib.warehouse import connect, ensure_raw_schema, writer_lock
from orchestration.resources import LockstepResource

NEW_YORK = ZoneInfo("America/New_York")
US_CLOSE_HOUR = 18  # bars of a NYSE session are final by 18:00 New York time
LISTED = 5

# The thresholds of the price checks and the sane range of each FRED unit live in the dbt
# project's vars (dbt_project/dbt_project.yml: max_daily_move, spike_move, spike_return,
# extreme_ratio, fred_units), each with its reason; read when a check runs.


Query = Callable[..., list[tuple]]  # (sql, params=None) -> rows, on the step's connection


def _listing(rows: list[tuple], fmt) -> str:
    lines = [fmt(r) for r in rows[:LISTED]]
    if len(rows) > LISTED:
        lines.append(f"... and {len(rows) - LISTED} more")
    return "\n".join(f"- {line}" for line in lines)


def _result(failures: list[tuple], fmt, what: str, severity=dg.AssetCheckSeverity.ERROR,
            **metadata) -> dict:
    """The check's result; `_problems` (popped before it reaches Dagster) keeps each
    problem's formatted line for the alerts and the terminal summary."""
    return dict(
        passed=not failures,
        severity=severity,
        description=(f"{len(failures)} {what}" if failures else f"no {what}"),
        metadata={"problems": dg.MetadataValue.md(_listing(failures, fmt) or "none"),
                  "count": len(failures), **metadata},
        _problems=[(r, fmt(r)) for r in failures],
    )


def expected_last_dates(now: datetime, sessions: list[date]) -> dict[str, date]:
    """Latest date each calendar should have a final bar for, at `now` (UTC).

    24/7: yesterday (UTC) -- today's bar is still moving. XNYS: the latest session whose
    bars are final: today's once it is past 18:00 in New York, else the one before.
    """
    ny = now.astimezone(NEW_YORK)
    cutoff = ny.date() if ny.hour >= US_CLOSE_HOUR else ny.date() - timedelta(days=1)
    done = [s for s in sessions if s <= cutoff]
    out = {"24/7": now.astimezone(UTC).date() - timedelta(days=1)}
    if done:
        out["XNYS"] = max(done)
    return out


def _synthetic_note(latest: list[tuple]) -> str:
    """Freshness checks say why demo data is stale (its last element is the row's source)."""
    if any(r[-1] == "demo" for r in latest):
        return "synthetic demo data ends on a fixed date, so it is stale by design"
    return ""


def market_prices_no_spikes(q: Query, lockstep: LockstepResource) -> dict:
    spike_move, spike_return = float(dbt_var("spike_move")), float(dbt_var("spike_return"))
    extreme_ratio = float(dbt_var("extreme_ratio"))
    rows = q(f"""
        WITH moves AS (
            SELECT symbol, date, close,
                   lag(close) OVER w  AS before,
                   lead(close) OVER w AS after
            FROM raw.market_prices
            WINDOW w AS (PARTITION BY symbol ORDER BY date))
        SELECT symbol, date, before, close, after
        FROM moves
        WHERE (abs(close / before - 1) >= {spike_move}
               AND sign(close - before) <> sign(after - close)
               AND abs(after / before - 1) <= {spike_return})
           OR close / before >= {extreme_ratio} OR before / close >= {extreme_ratio}
        ORDER BY symbol, date""")

    def fmt(r) -> str:
        after = f", then {r[4]:,.2f}" if r[4] is not None else " (the newest day)"
        return f"{r[0]} {r[1]}: {r[2]:,.2f} -> {r[3]:,.2f}{after}"

    return _result(rows, fmt, f"closes that spike and reverse (or move {extreme_ratio:g}x in "
                   f"a day)", spike_move=spike_move, spike_return=spike_return,
                   extreme_ratio=extreme_ratio)


def market_prices_ohlc_consistent(q: Query, lockstep: LockstepResource) -> dict:
    rows = q("""
        SELECT symbol, count(*), min(date), max(date) FROM raw.market_prices
        WHERE low > least(open, close) OR high < greatest(open, close)
        GROUP BY 1 ORDER BY 1""")
    return _result(rows, lambda r: f"{r[0]}: {r[1]} rows, {r[2]} to {r[3]}",
                   "symbols with OHLC outside the high-low range", dg.AssetCheckSeverity.WARN)


def market_prices_daily_moves(q: Query, lockstep: LockstepResource) -> dict:
    limit = float(dbt_var("max_daily_move"))
    rows = q("""
        WITH moves AS (
            SELECT symbol, date,
                   close / lag(close) OVER (PARTITION BY symbol ORDER BY date) - 1 AS move
            FROM raw.market_prices)
        SELECT symbol, date, move FROM moves WHERE abs(move) > ? ORDER BY date DESC""",
                 [limit])
    return _result(rows, lambda r: f"{r[0]} {r[1]}: {r[2] * 100:+.1f} %",
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
    return _result(stale, lambda r: f"{r[0]}: latest {r[1]}, expected {r[2]}",
                   "symbols behind their calendar", dg.AssetCheckSeverity.WARN,
                   note=_synthetic_note(latest))


def market_prices_no_missing_sessions(q: Query, lockstep: LockstepResource) -> dict:
    rows = q("""
        WITH bounds AS (
            SELECT p.symbol, coalesce(i.calendar, 'XNYS') AS calendar,
                   min(p.date) AS first_date, max(p.date) AS last_date
            FROM raw.market_prices p LEFT JOIN raw.instruments i USING (symbol)
            GROUP BY 1, 2),
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
        SELECT symbol, count(*), min(date), max(date) FROM missing GROUP BY 1 ORDER BY 1""")
    return _result(rows, lambda r: f"{r[0]}: {r[1]} sessions missing, {r[2]} to {r[3]}",
                   "symbols with missing sessions", dg.AssetCheckSeverity.WARN)


def fred_values_in_range(q: Query, lockstep: LockstepResource) -> dict:
    bounds = " OR ".join(
        f"(s.units = '{unit}' AND (o.value < {spec['sane_min']} OR o.value > "
        f"{spec['sane_max']}))"
        for unit, spec in fred_units().items()
    )
    rows = q(f"""
        SELECT o.series_id, s.units, count(*), min(o.date), min(o.value), max(o.value)
        FROM raw.fred_observations o JOIN raw.fred_series s USING (series_id)
        WHERE {bounds}
        GROUP BY 1, 2 ORDER BY 1""")
    return _result(rows, lambda r: f"{r[0]} ({r[1]}): {r[2]} values from {r[3]}, "
                                   f"between {r[4]} and {r[5]}", "series out of range")


def fred_fresh(q: Query, lockstep: LockstepResource) -> dict:
    today = datetime.now(NEW_YORK).date()
    # the latest Wednesday whose H.4.1 is out (published Thursday)
    last_wednesday = today - timedelta(days=(today.weekday() - 2) % 7)
    if last_wednesday + timedelta(days=1) > today:
        last_wednesday -= timedelta(days=7)
    latest = q("""
        SELECT o.series_id, s.frequency, max(o.date), any_value(o.source)
        FROM raw.fred_observations o JOIN raw.fred_series s USING (series_id)
        GROUP BY 1, 2 ORDER BY 1""")
    stale = []
    for series_id, frequency, last, source in latest:
        expected = last_wednesday if frequency == "weekly" else today - timedelta(days=5)
        if last < expected:
            stale.append((series_id, last, expected, source))
    return _result(stale, lambda r: f"{r[0]}: latest {r[1]}, expected {r[2]}",
                   "series behind their schedule", dg.AssetCheckSeverity.WARN,
                   note=_synthetic_note(latest))


# (asset, evaluator (its name is the check name), blocking, description), in the order they run
CHECKS = [
    (MARKET_PRICES, market_prices_no_spikes, True,
     "No close jumps 25 % or more and comes back within 5 % of the day before it the next "
     "day (the pattern of a mistyped price), and none moves 3x or 1/3 in a day."),
    (MARKET_PRICES, market_prices_ohlc_consistent, False,
     "low <= min(open, close) and max(open, close) <= high (warning: "
     "futures often settle outside the session range)."),
    (MARKET_PRICES, market_prices_daily_moves, False,
     "Daily close-to-close moves larger than LockstepResource."
     "max_daily_move are flagged (kept, not dropped)."),
    (MARKET_PRICES, market_prices_fresh, False,
     "Each symbol's latest date reaches the last final bar of its "
     "calendar (NYSE: the last session after 18:00 New York; crypto: "
     "yesterday UTC)."),
    (MARKET_PRICES, market_prices_no_missing_sessions, False,
     "No session of the symbol's calendar is missing between its first "
     "and last stored date (crypto: no calendar day)."),
    (FRED_OBSERVATIONS, fred_values_in_range, True,
     "FRED values lie in the sane range of their unit (percent -5 to "
     "30; millions of USD 0 to 20 million; billions 0 to 20,000)."),
    (FRED_OBSERVATIONS, fred_fresh, False,
     "Weekly series reach the last Wednesday already published "
     "(H.4.1 comes out on Thursday); daily series are at most 5 days old."),
]


def _table_checks(asset_key: dg.AssetKey, name: str) -> dg.AssetChecksDefinition:
    checks = [(fn, blocking, desc) for key, fn, blocking, desc in CHECKS if key == asset_key]

    @dg.multi_asset_check(
        specs=[dg.AssetCheckSpec(fn.__name__, asset=asset_key, blocking=blocking,
                                 description=desc) for fn, blocking, desc in checks],
        name=name,
    )
    def _run(context, lockstep: LockstepResource):
        settings = lockstep.settings()
        with writer_lock(settings.warehouse, log=context.log.info):
            with connect(settings.warehouse, log=context.log.warning) as con:
                ensure_raw_schema(con)

                def q(sql: str, params=None) -> list[tuple]:
                    return con.execute(sql, params or []).fetchall()

                results = []
                for fn, blocking, _ in checks:
                    result = fn(q, lockstep)
                    problems = result.pop("_problems")
                    results.append((fn.__name__, blocking, result, problems))
        _announce(context, settings, asset_key, results)
        for check_name, _, result, _ in results:
            yield dg.AssetCheckResult(check_name=check_name, asset_key=asset_key, **result)

    return _run


STALE_CHECKS = ("market_prices_fresh", "fred_fresh")


def check_events(asset_key: dg.AssetKey, results: list, today: date) -> list:
    """Alert events of a check step: a blocking check that fails (once per distinct set of
    problems) and each symbol or series that goes stale (once per last date it had)."""
    from orchestration.lib.alerts import Event, fingerprint

    table = "raw." + asset_key.path[-1]
    events = []
    for check_name, blocking, result, problems in results:
        if result["passed"]:
            continue
        if blocking:
            lines = [line for _, line in problems]
            listed = "; ".join(lines[:LISTED]) + (
                f"; and {len(lines) - LISTED} more" if len(lines) > LISTED else "")
            events.append(Event(
                key=f"check_failed|{check_name}|{fingerprint(*lines)}", kind="check_failed",
                date=today, subject=table,
                text=(f"Blocking check {check_name} failed on {table}: "
                      f"{result['description']} ({listed}). The marts were not rebuilt; "
                      f"they keep their previous contents until the data is fixed."),
                details={"check": check_name, "problems": lines}))
        elif check_name in STALE_CHECKS:
            note = result["metadata"].get("note") or ""
            for row, _ in problems:
                name, last, expected, source = row
                events.append(Event(
                    key=f"stale|{name}|{last}", kind="stale", date=today, subject=name,
                    text=(f"{name} is stale: its latest data is of {last}, expected {expected}"
                          + (f" ({note})" if note else "") + "."),
                    details={"latest": str(last), "expected": str(expected)},
                    synthetic=source == "demo"))
    return events


def _announce(context, settings, asset_key: dg.AssetKey, results: list) -> None:
    from orchestration.lib.alerts import announce_now

    announce_now(settings.warehouse, check_events(asset_key, results, datetime.now(UTC).date()),
                 context)


raw_checks = [
    _table_checks(MARKET_PRICES, "market_prices_checks"),
    _table_checks(FRED_OBSERVATIONS, "fred_observations_checks"),
]
