"""Data-quality checks on the raw tables (Dagster asset checks): the machinery each source's
`checks.py` shares. A source lists its rules (`Rule`: an evaluator whose name is the check's
name, whether it blocks, its description) and `table_checks` makes them one multi-asset
check: each rule is its own asset check in the UI, but the rules of one table run in one
step on one DuckDB connection. Failures and stale data become alerts
(orchestration/lib/alerts.py), announced once each.

Blocking rules (severity ERROR) keep the marts from building on top of a failure; the
others are warnings, reported with the symbol/series and dates. Keys, NOT NULL and positive
prices are not checks: the raw tables' primary keys and CHECK constraints refuse such rows
when they are written (tests/test_warehouse.py shows it). dbt's tests on staging,
intermediate and marts appear as asset checks too (dagster-dbt).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg

from orchestration.formatting import count
from orchestration.lib.warehouse import connect, ensure_raw_schema, writer_lock
from orchestration.resources import LockstepResource

NEW_YORK = ZoneInfo("America/New_York")
US_CLOSE_HOUR = 18  # bars of a NYSE session are final by 18:00 New York time
LISTED = 5

Query = Callable[..., list[tuple]]  # (sql, params=None) -> rows, on the step's connection


@dataclass(frozen=True)
class Rule:
    """One check: `evaluate(q, lockstep) -> result(...)`, named after the function.
    `stale`: its failures are symbols/series behind their schedule (rows of (name, last
    date, expected date, source)), announced when one becomes stale and when it is current
    again (ops.stale_subjects), not on every run."""

    evaluate: Callable[[Query, LockstepResource], dict]
    blocking: bool
    description: str
    stale: bool = False

    @property
    def name(self) -> str:
        return self.evaluate.__name__


def listing(rows: list[tuple], fmt) -> str:
    lines = [fmt(r) for r in rows[:LISTED]]
    if len(rows) > LISTED:
        lines.append(f"... and {count(len(rows) - LISTED)} more")
    return "\n".join(f"- {line}" for line in lines)


def result(failures: list[tuple], fmt, what: str | tuple[str, str],
           severity=dg.AssetCheckSeverity.ERROR, **metadata) -> dict:
    """The check's result; `_problems` (popped before it reaches Dagster) keeps each
    problem's formatted line for the alerts and the terminal summary. `what` names the
    failures, as (one, many) when the words differ: "1 symbol behind its calendar",
    "9 symbols behind their calendar"."""
    one, many = (what, what) if isinstance(what, str) else what
    return dict(
        passed=not failures,
        severity=severity,
        description=(f"{count(len(failures))} {one if len(failures) == 1 else many}"
                     if failures else f"no {many}"),
        metadata={"problems": dg.MetadataValue.md(listing(failures, fmt) or "none"),
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


def synthetic_note(latest: list[tuple]) -> str:
    """Freshness checks say why demo data is stale (its last element is the row's source)."""
    if any(r[-1] == "demo" for r in latest):
        return "synthetic demo data ends on a fixed date, so it is stale by design"
    return ""


def table_checks(asset_key: dg.AssetKey, name: str,
                 rules: list[Rule]) -> dg.AssetChecksDefinition:
    """The rules of one raw table as one multi-asset check (one step, one connection)."""

    @dg.multi_asset_check(
        specs=[dg.AssetCheckSpec(r.name, asset=asset_key, blocking=r.blocking,
                                 description=r.description) for r in rules],
        name=name,
    )
    def _run(context, lockstep: LockstepResource):
        from orchestration.lib.alerts import announce_now

        settings = lockstep.settings()
        with writer_lock(settings.warehouse, log=context.log.info):
            with connect(settings.warehouse, log=context.log.warning) as con:
                ensure_raw_schema(con)

                def q(sql: str, params=None) -> list[tuple]:
                    return con.execute(sql, params or []).fetchall()

                results = []
                for rule in rules:
                    outcome = rule.evaluate(q, lockstep)
                    problems = outcome.pop("_problems")
                    results.append((rule, outcome, problems))
                events = check_events(con, asset_key, results, datetime.now(UTC).date(),
                                      run_id=context.run.run_id)
        announced = set(announce_now(settings,
                                     [e for found in events.values() for e in found], context))
        for rule, outcome, _ in results:
            sent = sum(1 for e in events.get(rule.name, []) if e.key in announced)
            if sent:  # the run's summary counts them (orchestration/summary.py)
                outcome["metadata"]["alerts_announced"] = sent
            yield dg.AssetCheckResult(check_name=rule.name, asset_key=asset_key, **outcome)

    return _run


STALE_DDL = [
    "CREATE SCHEMA IF NOT EXISTS ops",
    # what the freshness checks found stale, per raw table, until it is current again: a
    # symbol or series is announced when it becomes stale and when it recovers, not on
    # every run in which its latest date moves
    """CREATE TABLE IF NOT EXISTS ops.stale_subjects (
        raw_table   VARCHAR   NOT NULL,
        name        VARCHAR   NOT NULL,
        latest      DATE      NOT NULL,
        expected    DATE      NOT NULL,
        stale_since TIMESTAMP NOT NULL,
        PRIMARY KEY (raw_table, name))""",
]


def check_events(con, asset_key: dg.AssetKey, results: list, today: date,
                 run_id: str | None = None) -> dict[str, list]:
    """Alert events of a check step, per rule name: a blocking check that fails (once per
    distinct set of problems); a symbol or series that becomes stale, and one that is
    current again (once per change, kept in ops.stale_subjects). The events are recorded in
    ops.alert_log in the transaction that records the change, so a step that dies between
    them neither loses an alert nor sends one twice."""
    from orchestration.lib.alerts import Event, ensure_ops_schema, fingerprint, register

    table = "raw." + asset_key.path[-1]
    events: dict[str, list] = {}
    con.execute("BEGIN TRANSACTION")
    try:
        for rule, outcome, problems in results:
            if rule.stale:
                events[rule.name] = _stale_changes(con, table, asset_key, outcome, problems,
                                                   today)
            elif rule.blocking and not outcome["passed"]:
                lines = [line for _, line in problems]
                listed = "; ".join(lines[:LISTED]) + (
                    f"; and {len(lines) - LISTED} more" if len(lines) > LISTED else "")
                events[rule.name] = [Event(
                    key=f"check_failed|{rule.name}|{fingerprint(*lines)}", kind="check_failed",
                    date=today, subject=table,
                    text=(f"Blocking check {rule.name} failed on {table}: "
                          f"{outcome['description']} ({listed}). The marts were not rebuilt; "
                          f"they keep their previous contents until the data is fixed."),
                    details={"check": rule.name, "problems": lines})]
        found = [e for rule_events in events.values() for e in rule_events]
        if found:
            ensure_ops_schema(con)
            register(con, found, None, run_id=run_id, always_due=True)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return events


def _stale_changes(con, table: str, asset_key: dg.AssetKey, outcome: dict, problems: list,
                   today: date) -> list:
    """The stale rule's news: who became stale since the last check, who is current again."""
    from orchestration.lib.alerts import Event

    for ddl in STALE_DDL:
        con.execute(ddl)
    before = {name: (latest, expected) for name, latest, expected in con.execute(
        "SELECT name, latest, expected FROM ops.stale_subjects WHERE raw_table = ?",
        [table]).fetchall()}
    note = outcome["metadata"].get("note") or ""
    stale = {row[0]: row for row, _ in problems}
    events, now = [], datetime.now(UTC).replace(tzinfo=None)
    for name, (_, last, expected, source) in sorted(stale.items()):
        if name in before:
            continue  # still stale: said when it became so (its latest date may have moved)
        events.append(Event(
            key=f"stale|{name}|{last}", kind="stale", date=today, subject=name,
            text=(f"{name} is stale: its latest data is of {last}, expected {expected}"
                  + (f" ({note})" if note else "") + "."),
            details={"latest": str(last), "expected": str(expected)},
            synthetic=source == "demo"))
        con.execute("INSERT INTO ops.stale_subjects VALUES (?, ?, ?, ?, ?)",
                    [table, name, last, expected, now])
    recovered = sorted(set(before) - set(stale))
    if recovered:
        key = "symbol" if asset_key.path[-1] == "market_prices" else "series_id"
        latest = {name: (last, synthetic) for name, last, synthetic in con.execute(
            f"SELECT {key}, max(date), bool_or(source = 'demo') FROM {table} "
            f"WHERE {key} IN (SELECT unnest(?)) GROUP BY 1", [recovered]).fetchall()}
        for name in recovered:
            was, _ = before[name]
            if name in latest:  # gone from the table: nothing to say about it
                last, synthetic = latest[name]
                events.append(Event(
                    key=f"recovered|{name}|{was}", kind="recovered", date=today, subject=name,
                    text=(f"{name} is current again: its latest data is of {last} (it was "
                          f"stale with data up to {was})."),
                    details={"latest": str(last), "stale_latest": str(was)},
                    synthetic=bool(synthetic)))
        con.execute("DELETE FROM ops.stale_subjects WHERE raw_table = ? "
                    "AND name IN (SELECT unnest(?))", [table, recovered])
    return events


def quarantine_rule(asset_key: dg.AssetKey) -> Rule:
    """A warning while rows meant for the table are quarantined (raw.quarantined_rows,
    orchestration/lib/quarantine.py): the rule `<table>_no_quarantined_rows`."""
    from orchestration.lib.quarantine import describe, stored_join

    table = "raw." + asset_key.path[-1]
    kept, join = stored_join(table)

    def evaluate(q: Query, lockstep: LockstepResource) -> dict:
        rows = q(f"""
            SELECT q.symbol_or_series, q.date, q.column_name, q.raw_value, q.reason, q.file,
                   q.line, {kept}
            FROM raw.quarantined_rows AS q {join}
            WHERE q.raw_table = ? AND q.resolved_at IS NULL
            ORDER BY q.symbol_or_series, q.date NULLS FIRST, q.line""", [table])
        names = ["symbol_or_series", "date", "column_name", "raw_value", "reason", "file",
                 "line", "kept_column", "kept_value"]
        return result(rows, lambda r: f"{r[0]} {describe(dict(zip(names, r, strict=True)))}",
                      (f"quarantined row of {table} (it says whether a row stored earlier is "
                       f"kept)", f"quarantined rows of {table} (each says whether a row stored "
                       f"earlier is kept)"), dg.AssetCheckSeverity.WARN)

    evaluate.__name__ = f"{asset_key.path[-1]}_no_quarantined_rows"
    return Rule(evaluate, False,
                f"No row meant for {table} is quarantined (raw.quarantined_rows: a row "
                f"that failed validation, kept with its file, line, value and reason). A "
                f"quarantined row is resolved when a later load stores a good row for its "
                f"date, or reads the source again without it.")
