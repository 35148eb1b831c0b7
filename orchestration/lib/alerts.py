"""Alerts: every new event announced once, to LOCKSTEP_ALERT_WEBHOOK, from the run itself.

Events come from the marts (marts.fct_events: records, divergence episodes starting and
ending, coinciding records, confirmed joint bottoms, policy-rate moves), from the raw
checks (a blocking check failing, an instrument or series becoming stale and being current
again) and from the ingestion (data held back, rows quarantined). Each has a key; the
warehouse's table ops.alert_log remembers every key it has seen, with its status:

    pending   due, not delivered yet (sent by this or the next run)
    sent      posted to the webhook
    logged    due when no webhook was configured: written to the run's log and the UI only
    history   found but never announced: older than ALERT_LOOKBACK_DAYS before the newest
              data (a backfill, a first run into an empty warehouse)

So a repeated, retried or backfilled run never announces an event twice, and the first run
into an empty warehouse announces only the events of the newest date. A message is
Slack-compatible JSON, {"text": ..., "event": {...}}; delivery retries network errors, 429
and 5xx with backoff (honouring Retry-After), and what still fails stays pending.

The webhook URL is a secret (Slack puts a token in it): a setting (LOCKSTEP_ALERT_WEBHOOK,
orchestration/settings.py), never logged (only its host is), never stored.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from orchestration.formatting import (
    below,
    count,
    days,
    distinct_nums,
    num,
    plural,
    rate_range,
    signed_pct,
    when,
)
from orchestration.lib.retry import Backoff, RetriesExhausted, call_with_retries
from orchestration.settings import Settings, variable

if TYPE_CHECKING:
    import duckdb

WEBHOOK_ENV = variable("alert_webhook")
ALERT_LOOKBACK_DAYS = 7
SYNTHETIC_PREFIX = "[SYNTHETIC DEMO DATA] "
# events the steps find at run time (checks failing, data held back or quarantined, an
# instrument or series going stale or recovering), not in the marts
CHECK_KINDS = ("check_failed", "stale", "recovered", "quarantined")
DELIVERY_POLICY = Backoff(attempts=4, base_delay_s=1.0, max_delay_s=10.0, deadline_s=30.0)

OPS_DDL = [
    "CREATE SCHEMA IF NOT EXISTS ops",
    """
    CREATE TABLE IF NOT EXISTS ops.alert_log (
        event_key     VARCHAR   PRIMARY KEY,
        kind          VARCHAR   NOT NULL,
        event_date    DATE,
        subject       VARCHAR,
        text          VARCHAR   NOT NULL,
        payload       VARCHAR   NOT NULL,
        status        VARCHAR   NOT NULL CHECK (status IN ('pending', 'sent', 'logged',
                                                           'history')),
        first_seen_at TIMESTAMP NOT NULL,
        sent_at       TIMESTAMP,
        attempts      INTEGER   NOT NULL DEFAULT 0,
        last_error    VARCHAR,
        run_id        VARCHAR
    )
    """,
]


@dataclass(frozen=True)
class Event:
    key: str
    kind: str
    date: date | None
    subject: str
    text: str
    details: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    synthetic: bool = False

    def payload(self) -> dict:
        text = (SYNTHETIC_PREFIX if self.synthetic else "") + self.text
        return {"text": text,
                "event": {"key": self.key, "kind": self.kind,
                          "date": self.date.isoformat() if self.date else None,
                          "subject": self.subject, "synthetic": self.synthetic,
                          "details": self.details, "source": "lockstep"}}


def where(webhook: str | None) -> str:
    """What may be said about the webhook in logs: its host, never the URL."""
    return urlsplit(webhook).hostname or "the webhook" if webhook else "no webhook"


def scrub(text: str, webhook: str | None) -> str:
    """Errors quote the URL (its path holds the token): keep only the host."""
    if not webhook:
        return text
    parts = urlsplit(webhook)
    for secret in (webhook, parts.path, parts.query):
        if secret and secret != "/":
            text = text.replace(secret, "/***")
    return text


def fingerprint(*parts: object) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:12]


# ------------------------------------------------------------------------------ the events
# short names for the sentences below; the numbers are written as every view writes them
# (orchestration/formatting.py: a distance below a record without a sign, unknown as "unknown")
_num, _pct, _day = num, below, when


def describe(row: dict) -> str:
    """One sentence per event, from the numbers fct_events holds (nothing computed here)."""
    kind, subject = row["kind"], row["subject_name"]
    if kind == "record_close":
        since, close = "", _num(row["record_close"])
        if row["previous_record_date"]:
            earlier = f"{days(row['days_since_previous_record'])} earlier"
            # enough decimals that a record never reads equal to the one it beat
            close, previous = distinct_nums(row["record_close"], row["previous_record_close"])
            since = (f", equal to {previous} of "
                     f"{_day(row['previous_record_date'])} ({earlier})"
                     if row["gain_over_previous"] == 0 else
                     f", above {previous} of "
                     f"{_day(row['previous_record_date'])} "
                     f"({signed_pct(row['gain_over_previous'])}, {earlier})")
        return (f"{subject} ({row['symbol']}) set a record close of {close} "
                f"on {_day(row['start_date'])}{since}.")
    if kind == "divergence_started":
        previous = (f"; the first since the episode that ended "
                    f"{_day(row['previous_episode_end_date'])}, "
                    f"{days(row['days_since_previous_episode'])} earlier"
                    if row["previous_episode_end_date"] else
                    "; the first in the stored history")
        return (f"{subject}: a divergence episode began on {_day(row['start_date'])} -- the "
                f"leader set a record close ({_num(row['leader_close_at_start'])}) while the "
                f"laggard is {_pct(row['laggard_drawdown_high_at_start'])} below its record "
                f"high{previous}.")
    if kind == "divergence_ended":
        span = (f"of {_day(row['start_date'])}" if row["start_date"] == row["end_date"] else
                f"of {_day(row['start_date'])} to {_day(row['end_date'])}")
        return (f"{subject}: the divergence episode {span} is over "
                f"({plural(row['divergent_days'], 'divergent day')}; the laggard was at most "
                f"{_pct(row['laggard_worst_drawdown_high'])} below its record high).")
    if kind == "records_coincide":
        # fct_events carries one value: the record close when the day is one, else the high
        bases = (row["laggard_record_bases"] or "").split("+")
        record = (f"a laggard record close of {_num(row['laggard_record'])}"
                  + (" (and a record intraday high)" if "high" in bases else "")
                  if "close" in bases else
                  f"a laggard record intraday high of {_num(row['laggard_record'])}")
        return (f"{subject}: the leader's records since {_day(row['start_date'])} coincide "
                f"with {record} on {_day(row['laggard_record_date'])}.")
    if kind == "joint_bottom":
        return (f"{subject}: joint bottom confirmed -- the leader's close of "
                f"{_num(row['leader_trough_close'])} on {_day(row['start_date'])} "
                f"({_pct(row['leader_trough_drawdown'])} below its record close) and the "
                f"laggard's lowest low of {_num(row['laggard_low'])} on "
                f"{_day(row['laggard_low_date'])}.")
    if kind == "policy_rate_change":
        announced = (f", announced {_day(row['announcement_date'])}"
                     if row["announcement_date"] else "")
        return (f"Federal funds target range {rate_range(row['new_lower'], row['new_upper'])} "
                f"from {_day(row['start_date'])}: a {count(abs(row['change_bp']))} bp "
                f"{row['direction']}, no. {row['number_in_year']} of "
                f"{row['start_date'].year}{announced}.")
    return f"{subject}: {kind} on {_day(row['event_date'])}."


def events_from_marts(con: duckdb.DuckDBPyConnection) -> list[Event]:
    """The events of marts.fct_events that ops.alert_log has not seen (`register` would skip
    the others): a daily refresh reads the new day's few, not the whole history's (tens of
    thousands of events for hundreds of symbols)."""
    cursor = con.execute("SELECT e.* FROM marts.fct_events AS e "
                         "ANTI JOIN ops.alert_log AS l ON l.event_key = e.event_key "
                         "ORDER BY e.event_date, e.event_key")
    names = [d[0] for d in cursor.description]
    out = []
    for values in cursor.fetchall():
        row = dict(zip(names, values, strict=True))
        details = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in row.items()
                   if k not in ("event_key", "kind", "event_date", "subject_name",
                                "is_synthetic") and v is not None}
        out.append(Event(key=row["event_key"], kind=row["kind"], date=row["event_date"],
                         subject=row["pair_id"] or row["symbol"] or row["subject_name"],
                         text=describe(row), details=details,
                         synthetic=bool(row["is_synthetic"])))
    return out


# ------------------------------------------------------------------------------ the log
def ensure_ops_schema(con: duckdb.DuckDBPyConnection) -> None:
    for ddl in OPS_DDL:
        con.execute(ddl)


def register(con: duckdb.DuckDBPyConnection, events: Iterable[Event], newest: date | None,
             run_id: str | None = None, always_due: bool = False,
             lookback_days: int = ALERT_LOOKBACK_DAYS) -> list[Event]:
    """Add the events the log has never seen; return those now due (status pending).

    Due: from the first run on, events of the last `lookback_days` before the newest data
    date; on the first run (an empty log) only those of the newest date itself. Older new
    events (a backfill, the history of a new warehouse) are recorded as history, never sent.
    `always_due`: events about now (a failing check, stale data) are due whenever new.
    """
    events = list(events)
    if not events:
        return []
    # the first run announcing the data's events (the checks' own events do not count)
    first_run = con.execute("SELECT count(*) FROM ops.alert_log WHERE kind NOT IN "
                            "(SELECT unnest(?))", [list(CHECK_KINDS)]).fetchone()[0] == 0
    known = {r[0] for r in con.execute(
        "SELECT event_key FROM ops.alert_log WHERE event_key IN (SELECT unnest(?))",
        [[e.key for e in events]]).fetchall()}
    now = datetime.now(UTC).replace(tzinfo=None)
    due = []
    rows = []
    for event in events:
        if event.key in known:
            continue
        if always_due:
            is_due = True
        elif newest is None or event.date is None:
            is_due = False
        elif first_run:
            is_due = event.date == newest
        else:
            is_due = event.date >= newest - timedelta(days=lookback_days)
        if is_due:
            due.append(event)
        rows.append((event.key, event.kind, event.date, event.subject, event.text,
                     json.dumps(event.payload(), default=str),
                     "pending" if is_due else "history", now, run_id))
        known.add(event.key)
    if rows:
        # one INSERT of all the rows: a new warehouse's history is a few thousand events,
        # and executemany inserts them one row at a time
        import pandas as pd

        frame = pd.DataFrame(rows, columns=[
            "event_key", "kind", "event_date", "subject", "text", "payload", "status",
            "first_seen_at", "run_id"]).astype({"run_id": "object"})
        con.register("lockstep_new_alerts", frame)
        try:
            con.execute(
                "INSERT INTO ops.alert_log (event_key, kind, event_date, subject, text, payload, "
                "status, first_seen_at, run_id) SELECT event_key, kind, event_date, subject, "
                "text, payload, status, first_seen_at, run_id FROM lockstep_new_alerts")
        finally:
            con.unregister("lockstep_new_alerts")
    return due


def pending(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, dict]]:
    """(key, text, payload) of every event due and not delivered yet, oldest first."""
    return [(k, t, json.loads(p)) for k, t, p in con.execute(
        "SELECT event_key, text, payload FROM ops.alert_log WHERE status = 'pending' "
        "ORDER BY event_date NULLS LAST, first_seen_at, event_key").fetchall()]


def record_outcome(con: duckdb.DuckDBPyConnection, outcome: dict[str, str | None],
                   status_ok: str) -> None:
    """outcome: key -> None when delivered (or logged), else the error. One UPDATE for them
    all: one per alert has a fixed cost each, and a first run can have thousands (every
    instrument of a big catalog going stale)."""
    if not outcome:
        return
    now = datetime.now(UTC).replace(tzinfo=None)
    con.execute(
        "UPDATE ops.alert_log AS a SET "
        "status = CASE WHEN o.error IS NULL THEN ? ELSE a.status END, "
        "sent_at = CASE WHEN o.error IS NULL THEN ? ELSE a.sent_at END, "
        "attempts = a.attempts + 1, last_error = o.error "
        "FROM (SELECT unnest(?::VARCHAR[]) AS event_key, unnest(?::VARCHAR[]) AS error) o "
        "WHERE a.event_key = o.event_key",
        [status_ok, now, list(outcome),
         [None if error is None else error[:500] for error in outcome.values()]])


# ------------------------------------------------------------------------------ delivery
class TransientWebhookError(RuntimeError):
    def __init__(self, status: int, retry_after: float | None):
        super().__init__(f"HTTP {status} from the webhook")
        self.retry_after = retry_after


def post(webhook: str, payload: dict, timeout: float = 10.0) -> None:
    """One POST; raises TransientWebhookError (429, 5xx) or RuntimeError (other 4xx)."""
    import requests

    response = requests.post(webhook, json=payload, timeout=timeout)
    if response.status_code == 429 or response.status_code >= 500:
        retry_after = response.headers.get("Retry-After")
        raise TransientWebhookError(
            response.status_code, float(retry_after) if retry_after and
            retry_after.replace(".", "", 1).isdigit() else None)
    if response.status_code >= 400:
        raise RuntimeError(f"HTTP {response.status_code} from the webhook: "
                           f"{response.text[:200]}")


def _retryable(exc: BaseException) -> bool:
    import requests

    return isinstance(exc, TransientWebhookError | requests.ConnectionError | requests.Timeout)


def deliver(items: list[tuple[str, str, dict]], webhook: str | None,
            log: Callable[[str], None], policy: Backoff = DELIVERY_POLICY,
            sleep: Callable[[float], None] | None = None) -> dict[str, str | None]:
    """Post each pending alert (or, without a webhook, log them, in one entry); key -> None
    or the error.
    Once one alert cannot be delivered after its retries, the rest wait for the next run
    (the webhook is down: retrying each would only multiply the wait)."""
    import time

    outcome: dict[str, str | None] = {}
    if webhook is None:  # one log entry for them all (Dagster stores each entry as an event)
        if len(items) == 1:
            log(f"alert (no {WEBHOOK_ENV} set, logged only): {items[0][1]}")
        elif items:
            log(f"{len(items):,} alerts (no {WEBHOOK_ENV} set, logged only):\n"
                + "\n".join(f"- {text}" for _, text, _ in items))
        return {key: None for key, _, _ in items}
    down = None
    for key, text, payload in items:
        if down is not None:
            outcome[key] = f"not attempted: {down}"
            continue

        def wait(seconds: float, _sleep=sleep or time.sleep) -> None:
            _sleep(seconds)

        try:
            call_with_retries(lambda p=payload: _post_honouring_retry_after(webhook, p, wait),
                              policy, f"alert to {where(webhook)}", retryable=_retryable,
                              log=lambda m: log(scrub(m, webhook)), sleep=wait)
            outcome[key] = None
            log(f"alert sent to {where(webhook)}: {text}")
        except RetriesExhausted as exc:
            down = scrub(f"{type(exc.last).__name__}: {exc.last}", webhook)[:200]
            outcome[key] = down
    return outcome


def _post_honouring_retry_after(webhook: str, payload: dict, wait) -> None:
    try:
        post(webhook, payload)
    except TransientWebhookError as exc:
        if exc.retry_after:  # the server said when: wait that long (capped) before the retry
            wait(min(exc.retry_after, DELIVERY_POLICY.max_delay_s))
        raise


def delivery(webhook: str | None) -> str:
    """Where the alerts go, in words (the run's summary and the alert step's metadata)."""
    return (f"webhook ({where(webhook)})" if webhook
            else f"logged only ({WEBHOOK_ENV} is not set)")


def announce_now(settings: Settings, events: list[Event], context) -> list[str]:
    """Record events found during a step and post them at once (best effort): a failing
    check or data held back may stop the run before the alert step. What cannot be delivered
    now stays pending; the alert step of the next run sends it. Returns how many were
    announced (sent, or logged without a webhook): the keys, for the step's metadata
    `alerts_announced`, which the run's summary counts."""
    from orchestration.lib.warehouse import connect, writer_lock

    if not events:
        return []
    warehouse, webhook = settings.warehouse, settings.alert_webhook
    keys = {e.key for e in events}
    with writer_lock(warehouse, log=context.log.info):
        with connect(warehouse, log=context.log.warning) as con:
            ensure_ops_schema(con)
            register(con, events, None, run_id=context.run.run_id, always_due=True)
            due = [item for item in pending(con) if item[0] in keys]
    outcome = deliver(due, webhook, log=context.log.info)
    with writer_lock(warehouse, log=context.log.info):
        with connect(warehouse, log=context.log.warning) as con:
            record_outcome(con, outcome, "sent" if webhook else "logged")
    for key, error in outcome.items():
        if error is not None:
            context.log.warning(f"alert {key} not delivered yet ({error}); the next run "
                                f"retries it")
    return [key for key, error in outcome.items() if error is None]
