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

from orchestration.lib.warehouse import connect, ensure_raw_schema, writer_lock
from orchestration.resources import LockstepResource

NEW_YORK = ZoneInfo("America/New_York")
US_CLOSE_HOUR = 18  # bars of a NYSE session are final by 18:00 New York time
LISTED = 5

Query = Callable[..., list[tuple]]  # (sql, params=None) -> rows, on the step's connection


@dataclass(frozen=True)
class Rule:
    """One check: `evaluate(q, lockstep) -> result(...)`, named after the function.
    `stale`: its failures are symbols/series behind their schedule, announced once per
    last date (rows of (name, last date, expected date, source))."""

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
        lines.append(f"... and {len(rows) - LISTED} more")
    return "\n".join(f"- {line}" for line in lines)


def result(failures: list[tuple], fmt, what: str, severity=dg.AssetCheckSeverity.ERROR,
           **metadata) -> dict:
    """The check's result; `_problems` (popped before it reaches Dagster) keeps each
    problem's formatted line for the alerts and the terminal summary."""
    return dict(
        passed=not failures,
        severity=severity,
        description=(f"{len(failures)} {what}" if failures else f"no {what}"),
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
        _announce(context, settings, asset_key, results)
        for rule, outcome, _ in results:
            yield dg.AssetCheckResult(check_name=rule.name, asset_key=asset_key, **outcome)

    return _run


def check_events(asset_key: dg.AssetKey, results: list, today: date) -> list:
    """Alert events of a check step: a blocking check that fails (once per distinct set of
    problems) and each symbol or series that goes stale (once per last date it had)."""
    from orchestration.lib.alerts import Event, fingerprint

    table = "raw." + asset_key.path[-1]
    events = []
    for rule, outcome, problems in results:
        if outcome["passed"]:
            continue
        if rule.blocking:
            lines = [line for _, line in problems]
            listed = "; ".join(lines[:LISTED]) + (
                f"; and {len(lines) - LISTED} more" if len(lines) > LISTED else "")
            events.append(Event(
                key=f"check_failed|{rule.name}|{fingerprint(*lines)}", kind="check_failed",
                date=today, subject=table,
                text=(f"Blocking check {rule.name} failed on {table}: "
                      f"{outcome['description']} ({listed}). The marts were not rebuilt; "
                      f"they keep their previous contents until the data is fixed."),
                details={"check": rule.name, "problems": lines}))
        elif rule.stale:
            note = outcome["metadata"].get("note") or ""
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
