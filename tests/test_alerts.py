"""Alerts end to end against a local webhook receiver (tests/fakes/webhook.py): the real
history cut at 2025-12-03, then extended to 2025-12-05, announces the ^RUT/BTC-USD
divergence episode that starts 2025-12-04, once; retries and an unreachable webhook; the
first-run and look-back rules; logged-only without a webhook."""

import json
from datetime import date

import duckdb
import pandas as pd
import pytest

from orchestration.lib import alerts
from tests.conftest import cut_real_history, materialize_all
from tests.fakes.webhook import FakeWebhook

DATA_KINDS = {"record_close", "divergence_started", "divergence_ended", "records_coincide",
              "joint_bottom", "policy_rate_change"}


def _log(warehouse) -> pd.DataFrame:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute("SELECT * FROM ops.alert_log").df()


@pytest.mark.slow
@pytest.mark.real_data
def test_real_history_announces_the_december_2025_split_once(tmp_path, real_data, monkeypatch,
                                                             dbt_manifest):
    data = tmp_path / "data"
    with FakeWebhook() as hook:
        monkeypatch.setenv("LOCKSTEP_ALERT_WEBHOOK", hook.url)
        cut_real_history(real_data, data, "2025-12-03")
        first, warehouse = materialize_all(tmp_path / "run", source="files", data_dir=str(data))
        assert first.success
        # an empty warehouse announces only the events of its newest date, never the history
        first_data = [e for e in hook.events() if e["kind"] in DATA_KINDS]
        assert {e["date"] for e in first_data} <= {"2025-12-03"}
        assert not hook.events("divergence_started")
        history = _log(warehouse)
        assert (history.status == "history").sum() > 1000  # 1928 to 2025-12-02, kept quiet

        cut_real_history(real_data, data, "2025-12-05")
        received_before = len(hook.received)
        second, _ = materialize_all(tmp_path / "run", source="files", data_dir=str(data))
        assert second.success
        new = hook.received[received_before:]
        started = [b for b in new if b["event"]["kind"] == "divergence_started"]
        rut = [b for b in started if b["event"]["subject"] == "^RUT/BTC-USD"]
        assert len(rut) == 1
        assert rut[0]["event"]["date"] == "2025-12-04"
        assert rut[0]["event"]["details"]["start_date"] == "2025-12-04"
        assert "2021-01-22" in rut[0]["text"] and "1,777 days" in rut[0]["text"]
        assert rut[0]["event"]["synthetic"] is False
        records = {(b["event"]["subject"], b["event"]["date"]) for b in new
                   if b["event"]["kind"] == "record_close"}
        assert ("^RUT", "2025-12-04") in records
        assert all(b["event"]["date"] >= "2025-11-28" for b in new
                   if b["event"]["kind"] in DATA_KINDS)  # the look-back: a week

        received_before = len(hook.received)
        third, _ = materialize_all(tmp_path / "run", source="files", data_dir=str(data))
        assert third.success
        assert hook.received[received_before:] == []  # nothing is ever sent twice
    log = _log(warehouse)
    assert log.event_key.is_unique
    sent_keys = [b["event"]["key"] for b in hook.received]
    assert len(sent_keys) == len(set(sent_keys))
    assert set(log[log.status == "sent"].event_key) == set(sent_keys)


@pytest.mark.slow
def test_retries_then_an_unreachable_webhook_fails_only_the_alert_step(
        tmp_path, monkeypatch, dbt_manifest):
    with FakeWebhook(statuses=[503, 429, 500], retry_after="0.1") as hook:
        monkeypatch.setenv("LOCKSTEP_ALERT_WEBHOOK", hook.url)
        first, warehouse = materialize_all(tmp_path / "run", source="demo")
        assert first.success
        assert hook.attempts == len(hook.received) + 3  # three failures, each retried
        payload = hook.received[0]
        assert set(payload) == {"text", "event"} and payload["text"].startswith(
            "[SYNTHETIC DEMO DATA] ")
        assert payload["event"]["synthetic"] is True
        # the newest demo date's events and the stale data, each once
        kinds = {e["kind"] for e in hook.events()}
        assert "stale" in kinds and "record_close" in kinds
        assert {e["date"] for e in hook.events("record_close")} == {"2025-12-31"}
        delivered = len(hook.received)
        first_records = len(hook.events("record_close"))

    # the receiver is gone: the data is built and published, the alert step fails
    monkeypatch.setenv("LOCKSTEP_ALERT_WEBHOOK", hook.url)
    with duckdb.connect(str(warehouse)) as con:  # forget one event so the run has news
        con.execute("DELETE FROM ops.alert_log WHERE kind = 'record_close'")
    down, _ = materialize_all(tmp_path / "run", source="demo")
    assert not down.success
    failed = [e.step_key for e in down.all_events if e.is_step_failure]
    assert failed == ["ops__alerts"]
    published = {m.asset_key.to_user_string() for m in down.get_asset_materialization_events()}
    assert "published/marts" in published and "marts/mart_daily_brief" in published
    message = next(e for e in down.all_events if e.is_step_failure
                   ).step_failure_data.error.message
    assert "could not be delivered to 127.0.0.1" in message and "secret-token" not in message
    waiting = _log(warehouse).query("status == 'pending'")
    assert len(waiting) >= 1 and set(waiting.kind) == {"record_close"}

    with FakeWebhook() as back:  # the next run delivers what was pending, once
        monkeypatch.setenv("LOCKSTEP_ALERT_WEBHOOK", back.url)
        again, _ = materialize_all(tmp_path / "run", source="demo")
        assert again.success
        assert sorted(e["key"] for e in back.events()) == sorted(waiting.event_key)
    log = _log(warehouse)
    assert (log.status == "pending").sum() == 0
    # the first run's record closes were forgotten above; everything else was sent once
    assert (log.status == "sent").sum() == delivered - first_records + len(waiting)


@pytest.mark.slow
def test_without_a_webhook_alerts_are_logged_only(demo_build):
    """The session's demo build ran without LOCKSTEP_ALERT_WEBHOOK (tests/conftest.py):
    its first run's alert step and the alert log as that run left it."""
    result = demo_build.first
    warehouse = demo_build.after_first / "warehouse" / "lockstep.duckdb"
    assert result.success
    [step] = [m for m in result.get_asset_materialization_events()
              if m.asset_key.to_user_string() == "ops/alerts"]
    metadata = step.step_materialization_data.materialization.metadata
    assert "logged only" in metadata["delivery"].value
    assert metadata["announced"].value >= 1
    log = _log(warehouse)
    assert set(log.status) <= {"logged", "history"} and (log.status == "logged").any()


# ------------------------------------------------------------------------------ the rules
def _event(key, day, kind="record_close"):
    return alerts.Event(key=key, kind=kind, date=day, subject="X", text=f"event {key}")


@pytest.fixture()
def con():
    connection = duckdb.connect(":memory:")
    alerts.ensure_ops_schema(connection)
    yield connection
    connection.close()


def test_first_run_announces_only_the_newest_date_then_a_week_back(con):
    newest = date(2025, 12, 5)
    history = [_event("a", date(2025, 1, 2)), _event("b", date(2025, 12, 4)),
               _event("c", newest)]
    due = alerts.register(con, history, newest)
    assert [e.key for e in due] == ["c"]
    statuses = dict(con.execute("SELECT event_key, status FROM ops.alert_log").fetchall())
    assert statuses == {"a": "history", "b": "history", "c": "pending"}
    # a later run: new events of the last week are due, older ones (a backfill) are not
    later = [_event("d", date(2025, 12, 9)), _event("e", date(2025, 12, 2)),
             _event("f", date(2025, 11, 1)), *history]
    due = alerts.register(con, later, date(2025, 12, 9))
    assert sorted(e.key for e in due) == ["d", "e"]
    assert alerts.register(con, later, date(2025, 12, 9)) == []  # known keys: nothing


def test_check_events_are_due_when_new_even_on_a_first_run(con):
    stale = _event("stale|BTC-USD|2025-12-31", date(2026, 11, 22), kind="stale")
    assert alerts.register(con, [stale], None, always_due=True) == [stale]
    # and they do not count as the data's first run
    data = [_event("old", date(2025, 1, 1)), _event("new", date(2025, 12, 31))]
    assert [e.key for e in alerts.register(con, data, date(2025, 12, 31))] == ["new"]


def test_outcomes_are_recorded_per_alert(con):
    day = date(2025, 12, 5)
    alerts.register(con, [_event(k, day) for k in ("a", "b", "c", "d")], day)
    # c is not in this outcome: it stays pending and untouched
    alerts.record_outcome(con, {"a": None, "b": "HTTP 500 " + "x" * 600, "d": None}, "sent")

    def rows():
        return {k: (s, sent is not None, n, e) for k, s, sent, n, e in con.execute(
            "SELECT event_key, status, sent_at, attempts, last_error FROM ops.alert_log")
            .fetchall()}

    kept = "HTTP 500 " + "x" * 491  # the error's first 500 characters
    assert rows() == {"a": ("sent", True, 1, None), "b": ("pending", False, 1, kept),
                      "c": ("pending", False, 0, None), "d": ("sent", True, 1, None)}
    alerts.record_outcome(con, {"b": None, "c": "not attempted: down"}, "logged")
    assert rows() == {"a": ("sent", True, 1, None), "b": ("logged", True, 2, None),
                      "c": ("pending", False, 1, "not attempted: down"),
                      "d": ("sent", True, 1, None)}
    alerts.record_outcome(con, {}, "sent")  # nothing to record
    assert [(k, "pending") for k in ("c",)] == con.execute(
        "SELECT event_key, status FROM ops.alert_log WHERE status = 'pending'").fetchall()


def test_delivery_honours_retry_after_and_stops_once_the_webhook_is_down():
    waits = []
    with FakeWebhook(statuses=[429, 200], retry_after="0.25") as hook:
        items = [("k1", "one", {"text": "one", "event": {"key": "k1"}})]
        outcome = alerts.deliver(items, hook.url, log=lambda m: None, sleep=waits.append)
    assert outcome == {"k1": None} and hook.attempts == 2
    assert 0.25 in waits  # the server's Retry-After, before the backoff's own wait
    url = hook.url  # closed now: connection refused
    items = [("a", "a", {"text": "a"}), ("b", "b", {"text": "b"})]
    outcome = alerts.deliver(items, url, log=lambda m: None, sleep=lambda s: None)
    assert outcome["a"].startswith("ConnectionError") and outcome["b"].startswith(
        "not attempted")


def test_without_a_webhook_the_alerts_are_logged_in_one_entry():
    logged = []
    items = [(f"k{i}", f"SYN{i} set a record close", {}) for i in range(1, 1201)]
    outcome = alerts.deliver(items, None, log=logged.append)
    assert outcome == {f"k{i}": None for i in range(1, 1201)}
    assert len(logged) == 1
    lines = logged[0].splitlines()
    assert lines[0] == ("1,200 alerts (no LOCKSTEP_ALERT_WEBHOOK set, logged only):")
    assert lines[1:] == [f"- SYN{i} set a record close" for i in range(1, 1201)]
    logged.clear()
    alerts.deliver(items[:1], None, log=logged.append)
    assert logged == ["alert (no LOCKSTEP_ALERT_WEBHOOK set, logged only): "
                      "SYN1 set a record close"]
    assert alerts.deliver([], None, log=logged.append) == {} and len(logged) == 1


def test_payload_is_slack_compatible_json():
    event = alerts.Event(key="k", kind="stale", date=date(2026, 1, 2), subject="BTC-USD",
                         text="BTC-USD is stale.", details={"latest": "2025-12-31"},
                         synthetic=True)
    body = json.loads(json.dumps(event.payload()))
    assert body["text"] == "[SYNTHETIC DEMO DATA] BTC-USD is stale."
    assert body["event"] == {"key": "k", "kind": "stale", "date": "2026-01-02",
                             "subject": "BTC-USD", "synthetic": True,
                             "details": {"latest": "2025-12-31"}, "source": "lockstep"}
    assert alerts.where("https://hooks.slack.com/services/T/B/secret") == "hooks.slack.com"


def test_alert_texts_read_as_people_write():
    """'1 day earlier', never '1 days'; a gain under 0.05 % is '+0.03 %', never '+0.0 %'; a
    laggard record of both bases names the one value it gives as the close."""
    record = alerts.describe({
        "kind": "record_close", "subject_name": "Russell 2000", "symbol": "^RUT",
        "record_close": 2442.74, "previous_record_close": 2442.03,
        "previous_record_date": date(2024, 11, 22), "gain_over_previous": 2442.74 / 2442.03 - 1,
        "days_since_previous_record": 1, "start_date": date(2024, 11, 25)})
    assert "(+0.03 %, 1 day earlier)" in record
    started = alerts.describe({
        "kind": "divergence_started", "subject_name": "R / B", "start_date": date(2025, 12, 4),
        "leader_close_at_start": 2500.0, "laggard_drawdown_high_at_start": -0.25,
        "previous_episode_end_date": date(2025, 12, 3), "days_since_previous_episode": 1})
    assert "1 day earlier" in started and "1 days" not in started
    both = alerts.describe({
        "kind": "records_coincide", "subject_name": "R / B", "start_date": date(2024, 11, 25),
        "laggard_record": 98997.66, "laggard_record_date": date(2024, 11, 22),
        "laggard_record_bases": "close+high"})
    assert "a laggard record close of 98,997.66 (and a record intraday high) on 2024-11-22" \
        in both


def test_each_event_kind_reads_its_own_columns_of_fct_events():
    """Every kind's sentence, whole, from the columns of fct_events that mean one thing each
    (fct_events.yml): the figures typed in by hand, the sentences as people write them."""
    def row(kind: str, **values) -> dict:
        return {"kind": kind, "subject_name": "Russell 2000 / Bitcoin", **values}

    assert alerts.describe(row(
        "record_close", subject_name="Russell 2000", symbol="^RUT", record_close=2590.61,
        previous_record_close=2559.61, previous_record_date=date(2025, 12, 10),
        gain_over_previous=0.0121, days_since_previous_record=1,
        start_date=date(2025, 12, 11))) == (
        "Russell 2000 (^RUT) set a record close of 2,590.61 on 2025-12-11, above 2,559.61 of "
        "2025-12-10 (+1.2 %, 1 day earlier).")
    assert alerts.describe(row(
        "record_close", subject_name="Bitcoin", symbol="BTC-USD", record_close=100.0,
        previous_record_close=100.0, previous_record_date=date(2025, 1, 1),
        gain_over_previous=0.0, days_since_previous_record=3,
        start_date=date(2025, 1, 4))) == (
        "Bitcoin (BTC-USD) set a record close of 100.00 on 2025-01-04, equal to 100.00 of "
        "2025-01-01 (3 days earlier).")
    # two closes that round alike at two decimals get a third (never "58.42 above 58.42")
    assert alerts.describe(row(
        "record_close", subject_name="Silver", symbol="SI=F", record_close=58.4239,
        previous_record_close=58.4171, previous_record_date=date(2025, 12, 1),
        gain_over_previous=58.4239 / 58.4171 - 1, days_since_previous_record=4,
        start_date=date(2025, 12, 5))) == (
        "Silver (SI=F) set a record close of 58.424 on 2025-12-05, above 58.417 of "
        "2025-12-01 (+0.01 %, 4 days earlier).")
    assert alerts.describe(row(
        "divergence_started", start_date=date(2025, 12, 4), leader_close_at_start=2548.0,
        laggard_drawdown_high_at_start=-0.267, previous_episode_end_date=date(2021, 1, 22),
        days_since_previous_episode=1777)) == (
        "Russell 2000 / Bitcoin: a divergence episode began on 2025-12-04 -- the leader set a "
        "record close (2,548.00) while the laggard is 26.7 % below its record high; the first "
        "since the episode that ended 2021-01-22, 1,777 days earlier.")
    assert alerts.describe(row(
        "divergence_started", start_date=date(2014, 10, 1), leader_close_at_start=1.5,
        laggard_drawdown_high_at_start=-0.3, previous_episode_end_date=None,
        days_since_previous_episode=None)).endswith("; the first in the stored history.")
    assert alerts.describe(row(
        "divergence_ended", start_date=date(2021, 1, 4), end_date=date(2021, 1, 22),
        divergent_days=12, laggard_worst_drawdown_high=-0.301)) == (
        "Russell 2000 / Bitcoin: the divergence episode of 2021-01-04 to 2021-01-22 is over "
        "(12 divergent days; the laggard was at most 30.1 % below its record high).")
    assert alerts.describe(row(
        "divergence_ended", start_date=date(2021, 1, 4), end_date=date(2021, 1, 4),
        divergent_days=1, laggard_worst_drawdown_high=-0.2)) == (
        "Russell 2000 / Bitcoin: the divergence episode of 2021-01-04 is over (1 divergent "
        "day; the laggard was at most 20.0 % below its record high).")
    assert alerts.describe(row(
        "records_coincide", start_date=date(2025, 10, 3), laggard_record=126198.07,
        laggard_record_date=date(2025, 10, 6), laggard_record_bases="high")) == (
        "Russell 2000 / Bitcoin: the leader's records since 2025-10-03 coincide with a laggard "
        "record intraday high of 126,198.07 on 2025-10-06.")
    assert alerts.describe(row(
        "joint_bottom", start_date=date(2025, 11, 20), leader_trough_close=2305.11,
        leader_trough_drawdown=-0.085, laggard_low=80659.81,
        laggard_low_date=date(2025, 11, 21))) == (
        "Russell 2000 / Bitcoin: joint bottom confirmed -- the leader's close of 2,305.11 on "
        "2025-11-20 (8.5 % below its record close) and the laggard's lowest low of 80,659.81 "
        "on 2025-11-21.")
    assert alerts.describe(row(
        "policy_rate_change", subject_name="Federal funds target range",
        start_date=date(2025, 12, 11), new_lower=3.5, new_upper=3.75, change_bp=-25,
        direction="cut", number_in_year=3, announcement_date=date(2025, 12, 10))) == (
        "Federal funds target range 3.50-3.75 % from 2025-12-11: a 25 bp cut, no. 3 of 2025, "
        "announced 2025-12-10.")


def test_alert_texts_write_unknown_as_every_view_does():
    """An unknown value is "unknown" (orchestration/formatting.py), never "?" or "None"; a
    rate range has two decimals; "1 divergent day", never "1 divergent days"."""
    bottom = alerts.describe({
        "kind": "joint_bottom", "subject_name": "R / B", "leader_trough_close": 2130.68,
        "start_date": date(2022, 6, 16), "leader_trough_drawdown": None, "laggard_low": None,
        "laggard_low_date": None})
    assert "the leader's close of 2,130.68 on 2022-06-16 (unknown below its record close)" \
        in bottom
    assert "lowest low of unknown on unknown." in bottom and "?" not in bottom
    ended = alerts.describe({
        "kind": "divergence_ended", "subject_name": "R / B", "start_date": date(2025, 12, 4),
        "end_date": date(2025, 12, 4), "divergent_days": 1,
        "laggard_worst_drawdown_high": -0.2004})
    assert "(1 divergent day; the laggard was at most 20.0 % below its record high)" in ended
    move = alerts.describe({
        "kind": "policy_rate_change", "subject_name": "Fed", "new_lower": 3.5,
        "new_upper": 3.75, "start_date": date(2025, 12, 11), "change_bp": -25,
        "direction": "cut", "number_in_year": 3, "announcement_date": date(2025, 12, 10)})
    assert move == ("Federal funds target range 3.50-3.75 % from 2025-12-11: a 25 bp cut, "
                    "no. 3 of 2025, announced 2025-12-10.")


# ------------------------------------------------------------------------------ staleness
def _stale_results(rows):
    """What the freshness rule of a check step hands check_events: rows of (name, latest,
    expected, source)."""
    from orchestration.lib.raw_checks import Rule

    rule = Rule(lambda q, lockstep: {}, False, "fresh", stale=True)
    outcome = {"passed": not rows, "metadata": {}}
    return [(rule, outcome, [(r, f"{r[0]}: latest {r[1]}") for r in rows])]


def test_staleness_is_announced_when_it_starts_and_when_it_ends_not_on_every_run():
    import dagster as dg

    from orchestration.lib.raw_checks import check_events
    from orchestration.lib.warehouse import ensure_raw_schema

    con = duckdb.connect(":memory:")
    ensure_raw_schema(con)
    key = dg.AssetKey(["raw", "market_prices"])
    today, expected = date(2026, 12, 4), date(2026, 12, 3)

    def step(rows, at=today):
        events = [e for found in check_events(con, key, _stale_results(rows), at).values()
                  for e in found]
        return sorted((e.kind, e.subject, e.key) for e in events)

    def store(symbol, day):
        con.execute("INSERT OR REPLACE INTO raw.market_prices (symbol, date, close, source, "
                    "ingested_at) VALUES (?, ?, 1, 'files', now())", [symbol, day])

    store("BTC-USD", date(2026, 11, 20))
    store("^RUT", date(2026, 11, 21))
    assert step([("BTC-USD", date(2026, 11, 20), expected, "files"),
                 ("^RUT", date(2026, 11, 21), expected, "files")]) == [
        ("stale", "BTC-USD", "stale|BTC-USD|2026-11-20"),
        ("stale", "^RUT", "stale|^RUT|2026-11-21")]
    # the next day both are still stale, though their latest dates moved: nothing to say
    store("BTC-USD", date(2026, 11, 27))
    store("^RUT", date(2026, 11, 24))
    assert step([("BTC-USD", date(2026, 11, 27), date(2026, 12, 4), "files"),
                 ("^RUT", date(2026, 11, 24), date(2026, 12, 4), "files")],
                date(2026, 12, 5)) == []
    # Bitcoin is current again: one "recovered", with its latest date now; ^RUT stays stale
    store("BTC-USD", date(2026, 12, 5))
    assert step([("^RUT", date(2026, 11, 24), date(2026, 12, 5), "files")],
                date(2026, 12, 6)) == [("recovered", "BTC-USD", "recovered|BTC-USD|2026-11-20")]
    [text] = [t for t, in con.execute("SELECT text FROM ops.alert_log WHERE kind = 'recovered'"
                                      ).fetchall()]
    assert text == ("BTC-USD is current again: its latest data is of 2026-12-05 (it was "
                    "stale with data up to 2026-11-20).")
    assert step([("^RUT", date(2026, 11, 24), date(2026, 12, 5), "files")],
                date(2026, 12, 7)) == []
    # stale again later: a new episode, announced once more
    assert step([("BTC-USD", date(2026, 12, 5), date(2026, 12, 10), "files"),
                 ("^RUT", date(2026, 11, 24), date(2026, 12, 10), "files")],
                date(2026, 12, 11)) == [("stale", "BTC-USD", "stale|BTC-USD|2026-12-05")]
    # every event was registered as due, in the transaction that recorded the change
    assert sorted(k for k, in con.execute("SELECT event_key FROM ops.alert_log WHERE status = "
                                           "'pending'").fetchall()) == [
        "recovered|BTC-USD|2026-11-20", "stale|BTC-USD|2026-11-20", "stale|BTC-USD|2026-12-05",
        "stale|^RUT|2026-11-21"]
    con.close()


@pytest.mark.slow
def test_the_summary_counts_every_alert_sent_and_a_moved_date_does_not_repeat_staleness(
        tmp_path, demo_dir, monkeypatch, dbt_manifest):
    """The demo's data ends 2025-12-31, so every instrument and series is stale today: the
    first run posts one staleness alert each, from the check steps; the summary counts them
    with the alert step's. The next run's data is a day newer, all still stale: no staleness
    alert again."""
    from orchestration.summary import summarize

    data = tmp_path / "data"
    cut_real_history(demo_dir, data, "2025-12-30")
    with FakeWebhook() as hook:
        monkeypatch.setenv("LOCKSTEP_ALERT_WEBHOOK", hook.url)
        first, _ = materialize_all(tmp_path / "run", source="files", data_dir=str(data))
        assert first.success
        stale = hook.events("stale")
        n_files = len(list((data / "market").glob("*.csv"))) + len(list(
            (data / "fred").glob("*.csv")))
        assert len(stale) == n_files  # each file's instrument or series, once
        summary = summarize(first.all_events, 1.0, first.run_id, first.success, None)
        assert f"Alerts: {len(hook.received):,} announced ({len(stale):,} by the checks and " \
               f"loads as they ran), webhook (127.0.0.1)" in summary, summary
        # the summary names a few and says how many it leaves out (the trial's "16
        # announced" followed by 6 and no word of the other 10)
        shown = min(6, len(hook.received) - len(stale))  # the alert step's, listed first 6
        assert len(hook.received) > shown
        said = (f"... and {len(hook.received) - shown:,} more; all {len(hook.received):,} in "
                f"the run's log and ops.alert_log" if shown else
                "(listed in the run's log and ops.alert_log)")  # none of the step's to list
        assert said in " ".join(summary.split()), summary

        cut_real_history(demo_dir, data, "2025-12-31")
        before = len(hook.received)
        second, _ = materialize_all(tmp_path / "run", source="files", data_dir=str(data))
        assert second.success
        new = hook.received[before:]
        assert [b for b in new if b["event"]["kind"] in ("stale", "recovered")] == []
        summary = summarize(second.all_events, 1.0, second.run_id, second.success, None)
        assert f"Alerts: {len(new):,} announced, webhook (127.0.0.1)" in summary, summary
