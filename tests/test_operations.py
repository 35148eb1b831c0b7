"""Production behaviour: backfills and re-runs are idempotent, a run killed with SIGKILL
leaves the warehouse consistent, is marked failed with the reason (by the next `make run`,
or by the daemon's sensor so the queue of the UI and the schedules moves on) and the next
run completes, a failed blocking check keeps
the marts from building on bad raw data, and each failure of everyday operation says what
happened, fast and short: a mistyped price, an unreadable cell, no network, no FRED key, a
SQL client holding the warehouse open."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from orchestration.partitions import newest_key, range_tags
from orchestration.resources import LockstepResource
from orchestration.sources.fred.assets import FRED_OBSERVATIONS, raw_fred
from orchestration.sources.yahoo.assets import MARKET_PRICES, raw_market
from tests.conftest import PROJECT_ROOT, free_port, lockstep_env, materialize_all


def _materialize_raw(tmp_path, demo_dir, instance, years: tuple[str, str] | None = None):
    """The raw assets over the files in demo_dir: a backfill of the years (first, last), or
    with years=None the daily refresh (the current year's partition)."""
    with lockstep_env(source="files", data_dir=str(demo_dir),
                      warehouse=str(tmp_path / "w.duckdb")):
        result = dg.materialize(
            [raw_market, raw_fred], resources={"lockstep": LockstepResource()},
            instance=instance, partition_key=None if years else newest_key(),
            tags=range_tags(*years) if years else None)
    market = [m for m in result.asset_materializations_for_node("raw_market")
              if m.asset_key.path[-1] == "market_prices"]
    # one materialization per year loaded, each with the step's metadata
    assert sorted(m.partition for m in market) == (
        [str(y) for y in range(int(years[0]), int(years[1]) + 1)] if years else [newest_key()])
    return {k: v.value for k, v in market[0].metadata.items()}


def _prices(tmp_path):
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        return con.execute("SELECT * FROM raw.market_prices ORDER BY symbol, date").df()


def test_backfill_a_range_then_the_rest_then_again(tmp_path, demo_dir):
    instance = dg.DagsterInstance.ephemeral()
    btc = pd.read_csv(demo_dir / "market" / "BTC-USD.csv")
    in_2024 = btc[btc.date.str.startswith("2024")]
    first = _materialize_raw(tmp_path, demo_dir, instance, ("2024", "2024"))
    assert first["date_ranges"]["BTC-USD"]["first"] == "2024-01-01"
    assert first["date_ranges"]["BTC-USD"]["inserted"] == len(in_2024)
    stored = _prices(tmp_path)
    assert stored.date.min() >= pd.Timestamp("2024-01-01")
    assert stored.date.max() <= pd.Timestamp("2024-12-31")
    for key in (MARKET_PRICES, FRED_OBSERVATIONS):  # the partition health the UI shows
        assert instance.get_materialized_partitions(key) == {"2024"}
    # the daily refresh fills in the rest without touching the backfilled rows: the year's
    # backfill left rows of the files unread, so it reads them whole
    rest = _materialize_raw(tmp_path, demo_dir, instance)
    assert rest["rows_updated"] == 0
    assert rest["rows_inserted"] == rest["rows_received"] - first["rows_received"]
    # ... after which the next daily refresh finds every file as it was read
    assert _materialize_raw(tmp_path, demo_dir, instance)["rows_received"] == 0
    assert instance.get_materialized_partitions(MARKET_PRICES) == {"2024", newest_key()}
    full = _prices(tmp_path)
    kept = full[full.date.dt.year == 2024].reset_index(drop=True)
    pd.testing.assert_frame_equal(kept, stored.reset_index(drop=True))
    # re-running a range is idempotent
    again = _materialize_raw(tmp_path, demo_dir, instance, ("2024", "2024"))
    assert (again["rows_inserted"], again["rows_updated"]) == (0, 0)
    pd.testing.assert_frame_equal(_prices(tmp_path), full)


def test_a_range_of_years_is_one_step_and_loads_exactly_its_years(tmp_path, demo_dir):
    instance = dg.DagsterInstance.ephemeral()
    loaded = _materialize_raw(tmp_path, demo_dir, instance, ("2019", "2020"))
    btc = pd.read_csv(demo_dir / "market" / "BTC-USD.csv")
    expected = btc[btc.date.between("2019-01-01", "2020-12-31")]
    assert loaded["date_ranges"]["BTC-USD"] == {
        "first": expected.date.min(), "last": expected.date.max(),
        "inserted": len(expected), "updated": 0}
    assert "outside the requested years 2019-01-01 to 2020-12-31" in loaded["notes"]
    stored = _prices(tmp_path)
    assert stored.date.dt.year.between(2019, 2020).all()
    assert instance.get_materialized_partitions(MARKET_PRICES) == {"2019", "2020"}
    [run] = instance.get_run_records()  # a backfill of two years ran as one run, one step
    steps = {e.step_key for e in instance.all_logs(run.dagster_run.run_id) if e.step_key}
    assert steps == {"raw_market", "raw_fred"}


def test_backfill_range_must_be_ordered_and_inside_the_partitions(capsys):
    from orchestration.cli import main

    assert main(["run", "--start", "2024-12-31", "--end", "2024-01-01"]) == 2
    assert "end 2024-01-01 is before 2024-12-31" in capsys.readouterr().err
    assert main(["run", "--start", "1900-01-01", "--end", "1910-12-31"]) == 2
    assert "the years run from 1927" in capsys.readouterr().err


def _start_run(env):
    return subprocess.Popen(
        [sys.executable, "-m", "orchestration.cli", "run"], cwd=PROJECT_ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )


def _kill_when(process, marker: str, delay: float, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    for line in process.stdout:
        if marker in line:
            break
        assert time.monotonic() < deadline, f"never saw {marker!r}"
    time.sleep(delay)
    os.killpg(process.pid, signal.SIGKILL)  # the run and its dbt subprocess
    process.wait(30)


@pytest.mark.slow  # a run killed mid-way, then a whole run: its own build, by its meaning
@pytest.mark.parametrize("marker, delay", [
    ("lockstep: running", 1.5),   # during demo generation / ingestion
    (" START ", 1.0),             # in the middle of dbt build
])
def test_sigkill_leaves_the_warehouse_consistent_and_the_next_run_completes(
        tmp_path, demo_dir, catalog, dbt_manifest, marker, delay):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "orchestration" / "dagster_instance.yaml", home / "dagster.yaml")
    warehouse = tmp_path / "w.duckdb"
    env = {**os.environ, "DAGSTER_HOME": str(home), "LOCKSTEP_SOURCE": "files",
           "LOCKSTEP_DATA_DIR": str(demo_dir), "LOCKSTEP_WAREHOUSE": str(warehouse),
           "LOCKSTEP_STATE_DIR": str(tmp_path / "state"), "PYTHONUNBUFFERED": "1",
           "VERBOSE": "1"}  # the run's own output on stdout: the markers to kill at
    killed = _start_run(env)
    killed_pid = killed.pid  # the process that runs the run (the CLI itself)
    _kill_when(killed, marker, delay)

    expected = {i.symbol: len(pd.read_csv(demo_dir / "market" / f"{i.file_stem}.csv"))
                for i in catalog.market}
    if warehouse.exists():
        with duckdb.connect(str(warehouse)) as con:  # opens: the WAL replays or is dropped
            tables = {r[0] for r in con.execute(
                "SELECT table_schema || '.' || table_name FROM information_schema.tables"
            ).fetchall()}
            if "raw.market_prices" in tables:
                counts = dict(con.execute("SELECT symbol, count(*) FROM raw.market_prices "
                                          "GROUP BY 1").fetchall())
                # all or nothing: a load is one transaction
                assert counts in ({}, expected)

    rerun = _start_run(env)
    output, _ = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, output[-3000:]
    assert "BTC-USD" in output and "SYNTHETIC DEMO DATA" in output
    with duckdb.connect(str(warehouse), read_only=True) as con:
        counts = dict(con.execute("SELECT symbol, count(*) FROM raw.market_prices GROUP BY 1"
                                  ).fetchall())
        snapshot = con.execute("SELECT count(*) FROM marts.mart_market_snapshot").fetchone()[0]
    assert counts == expected and snapshot == len(expected)
    # the killed run is no zombie: the next `make run` marked it failed, saying why
    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = [r.dagster_run for r in instance.get_run_records()]
        assert all(run.is_finished for run in runs)
        killed = [run for run in runs if run.status == dg.DagsterRunStatus.FAILURE]
        if marker == " START ":  # in dbt: the run existed (killed earlier, it may not have)
            assert len(killed) == 1
        for run in killed:
            _assert_marked_dead(instance, run, killed_pid, "`make run`")
            assert (f"lockstep: run {run.run_id[:8]} (make run) was still marked as running, "
                    f"but its process is gone (PID {killed_pid} on ") in output


def _assert_marked_dead(instance, run, pid: int, by: str) -> None:
    """The reason a person reads on the run's page in the UI: its failure event."""
    [failure] = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
    message = failure.dagster_event.message
    assert message.startswith(f"The process running this run is gone (PID {pid} on "), message
    assert f"it was killed (SIGKILL, the out-of-memory killer, a reboot) before it could " \
           f"record its end. Marked failed by {by} at " in message


def _kill_once_started(process, home, timeout: float = 900) -> None:
    """SIGKILL `make run`'s process once its run is STARTED in the instance at `home`
    (read from the runs database read-only: opening the instance while `make run` creates
    it would race it creating the schema)."""
    import sqlite3

    db = home / "history" / "runs.db"
    deadline = time.monotonic() + timeout
    while True:
        assert time.monotonic() < deadline and process.poll() is None, \
            f"the run never started: {process.stdout.read()[-3000:]}"
        time.sleep(0.5)
        try:
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
                if con.execute("SELECT 1 FROM runs WHERE status = 'STARTED'").fetchall():
                    break
        except sqlite3.OperationalError:  # not created yet
            continue
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(30)


@pytest.mark.slow  # a killed `make run`, then `make dev` runs two whole builds
@pytest.mark.filterwarnings("ignore::DeprecationWarning:gql")  # dagster-graphql's client
def test_a_killed_run_never_holds_up_the_queue_of_the_ui_and_the_schedules(tmp_path,
                                                                          dbt_manifest):
    """`make run` killed with SIGKILL leaves its run STARTED: with max_concurrent_runs 1 the
    daemon then launched nothing ever again ("2 runs are currently in progress. Maximum is
    1"). Here the daemon of `make dev` (on the warehouse's own instance) finds the dead run,
    marks it failed with the reason, and launches a run the UI submits (through the UI's
    GraphQL API, into the queue) and a scheduled run; both succeed."""
    from dagster_graphql import DagsterGraphQLClient

    from orchestration.settings import dagster_home
    from tests.fakes.every_minute import TRIGGER

    # the demo source: its first load is of 2018 onwards, nine years to plan, not a century
    env = {**os.environ, "LOCKSTEP_SOURCE": "demo",
           "LOCKSTEP_WAREHOUSE": str(tmp_path / "w.duckdb"),
           "LOCKSTEP_STATE_DIR": str(tmp_path / "state"), "PYTHONUNBUFFERED": "1"}
    home, _ = dagster_home(env)
    killed = _start_run(env)
    killed_pid = killed.pid
    _kill_once_started(killed, home)

    workspace = tmp_path / "workspace.yaml"  # lockstep, plus a schedule every minute
    workspace.write_text(f"load_from:\n  - python_module:\n      module_name: "
                         f"tests.fakes.every_minute\n      working_directory: {PROJECT_ROOT}\n"
                         f"      location_name: lockstep\n")
    port = free_port()
    log = open(tmp_path / "dev.log", "w")
    dev = subprocess.Popen(  # what `make dev` runs
        [sys.executable, "-m", "orchestration.cli", "dagster", "dev", "-w", str(workspace),
         "-h", "127.0.0.1", "-p", str(port)], cwd=PROJECT_ROOT, env=env, stdout=log,
        stderr=subprocess.STDOUT, start_new_session=True)
    try:
        client = _graphql_client(DagsterGraphQLClient, port, dev, tmp_path / "dev.log")
        ui_run = _submit_when_loaded(client, tags={"dagster/partition": newest_key(),
                                                   "lockstep/trigger": "ui"})
        deadline = time.monotonic() + 900
        while True:
            with dg.DagsterInstance.from_config(str(home)) as instance:
                runs = {r.dagster_run.run_id: r.dagster_run for r in instance.get_run_records()}
                ui = runs[ui_run]
                scheduled = [r for r in runs.values() if r.tags.get("lockstep/trigger") == TRIGGER
                             and r.status == dg.DagsterRunStatus.SUCCESS]
                if ui.status == dg.DagsterRunStatus.SUCCESS and scheduled:
                    break
                assert ui.status not in (dg.DagsterRunStatus.FAILURE,
                                         dg.DagsterRunStatus.CANCELED), ui.status
                assert time.monotonic() < deadline, (
                    {r.run_id[:8]: (r.status.value, r.tags.get("lockstep/trigger"))
                     for r in runs.values()}, (tmp_path / "dev.log").read_text()[-3000:])
            time.sleep(5)
        with dg.DagsterInstance.from_config(str(home)) as instance:
            [dead] = [r.dagster_run for r in instance.get_run_records(dg.RunsFilter(
                tags={"lockstep/trigger": "make run"}))]
            assert dead.status == dg.DagsterRunStatus.FAILURE
            _assert_marked_dead(instance, dead, killed_pid, "the lockstep_dead_runs sensor")
            # the launched run named its own process (its worker), as `make run`'s do
            tags = instance.get_run_by_id(ui_run).tags
            assert tags["lockstep/worker_run"] == ui_run
            assert int(tags["lockstep/worker_pid"]) not in (killed_pid, dev.pid)
    finally:
        os.killpg(dev.pid, signal.SIGTERM)
        try:
            dev.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(dev.pid, signal.SIGKILL)
        log.close()


def _submit_when_loaded(client, tags: dict, timeout: float = 300) -> str:
    """Launch daily_refresh as the UI's Materialize button does, once the UI has loaded the
    code location (it answers before)."""
    from dagster_graphql import DagsterGraphQLClientError

    deadline = time.monotonic() + timeout
    while True:
        try:
            return client.submit_job_execution(
                "daily_refresh", repository_location_name="lockstep",
                repository_name="__repository__", tags=tags)
        except DagsterGraphQLClientError as exc:
            assert "NotFound" in str(exc) and time.monotonic() < deadline, exc
            time.sleep(3)


def _graphql_client(client_class, port: int, server, log, timeout: float = 300):
    """The client of the UI's GraphQL API, once the UI answers."""
    import urllib.request

    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=5)
            return client_class("127.0.0.1", port_number=port)
        except OSError:  # not answering yet
            assert time.monotonic() < deadline and server.poll() is None, \
                log.read_text()[-3000:]
            time.sleep(2)


@pytest.mark.slow
def test_failed_blocking_check_keeps_the_marts_from_building(tmp_path, demo_dir, dbt_manifest):
    """A bad FRED value (basis points where percent belongs) before the first load: the
    blocking check names it, nothing of dbt runs, and nothing is published."""
    bad = tmp_path / "bad_data"
    shutil.copytree(demo_dir, bad)
    effr = pd.read_csv(bad / "fred" / "EFFR.csv")
    effr.loc[effr.index[-1], "value"] = 425.0  # basis points where percent belongs
    effr.to_csv(bad / "fred" / "EFFR.csv", index=False)
    result, warehouse = materialize_all(tmp_path, source="files", data_dir=str(bad))
    assert not result.success
    [check] = [e for e in result.get_asset_check_evaluations()
               if e.check_name == "fred_values_in_range"]
    assert not check.passed and "EFFR" in check.metadata["problems"].value
    assert "425" in check.metadata["problems"].value
    built = {e.asset_key.path[0] for e in result.get_asset_materialization_events()}
    assert built == {"raw"}  # nothing of staging, intermediate or marts ran
    with duckdb.connect(str(warehouse), read_only=True) as con:
        schemas = {r[0] for r in con.execute("SELECT DISTINCT table_schema FROM "
                                             "information_schema.tables").fetchall()}
    assert "marts" not in schemas and "raw" in schemas
    assert not (warehouse.parent / "published").exists()  # a failed build publishes nothing


def _copy_of(demo_dir, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(demo_dir, data)
    (data / "SYNTHETIC").unlink()  # read as files: the test edits it like a real directory
    return data


@pytest.mark.slow
def test_a_mistyped_price_blocks_the_marts_and_is_named(tmp_path, demo_dir, dbt_manifest):
    """25,950 typed for 2,595: a spike that comes back the next day. The blocking check
    names the symbol and the days; the marts are not built on it."""
    data = _copy_of(demo_dir, tmp_path)
    rut = pd.read_csv(data / "market" / "RUT.csv")
    typo = rut.index[rut.date == "2025-12-10"][0]
    rut.loc[typo, "close"] = rut.loc[typo, "close"] * 10
    rut.to_csv(data / "market" / "RUT.csv", index=False)
    result, warehouse = materialize_all(tmp_path, source="files", data_dir=str(data))
    assert not result.success
    [check] = [e for e in result.get_asset_check_evaluations()
               if e.check_name == "market_prices_no_spikes"]
    assert not check.passed
    problems = check.metadata["problems"].value
    assert "^RUT 2025-12-10" in problems and "^RUT 2025-12-11" in problems
    built = {e.asset_key.path[0] for e in result.get_asset_materialization_events()}
    assert built == {"raw"}
    from orchestration.summary import summarize

    summary = summarize(result.all_events, 1.0, result.run_id, result.success, None)
    assert "Blocking checks that failed (the marts were not rebuilt):" in summary
    assert "market_prices_no_spikes" in summary and "^RUT 2025-12-10" in summary


def _brief_lines(warehouse, day: str) -> list[str]:
    from datetime import date

    from orchestration.brief import read_brief

    return [line for line in read_brief(warehouse, date.fromisoformat(day)).splitlines()
            if "Quarantined" in line]


@pytest.mark.slow
def test_an_unreadable_cell_is_quarantined_and_its_symbol_loads_without_it(
        tmp_path, demo_dir, dbt_manifest):
    """A close of `abc` on IWM's 2025-12-30: IWM's other rows load (the pairs and marts
    keep it), the row waits in raw.quarantined_rows with its file and line, and the
    snapshot, the brief, a warning check and one alert say so -- until the source no longer
    has the row (its line taken out): then nothing flags IWM any more, the brief's earlier
    days included, though no stored price changed."""
    from orchestration.summary import failed_error_checks, summarize

    data = _copy_of(demo_dir, tmp_path)
    text = (data / "market" / "IWM.csv").read_text().splitlines(keepends=True)
    iwm = pd.read_csv(data / "market" / "IWM.csv", dtype=str)
    bad = iwm.index[-2]  # 2025-12-30, the day before the last
    line = bad + 2  # by hand: the header is line 1, no blank lines
    assert iwm.at[bad, "date"] == "2025-12-30"
    iwm.loc[bad, "close"] = "abc"
    iwm.to_csv(data / "market" / "IWM.csv", index=False)
    result, warehouse = materialize_all(tmp_path, source="files", data_dir=str(data))
    assert result.success
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert checks["market_prices_all_loaded"].passed  # nothing was held back
    flagged = checks["market_prices_no_quarantined_rows"]
    assert not flagged.passed and flagged.severity == dg.AssetCheckSeverity.WARN
    assert flagged.metadata["problems"].value == (
        f"- IWM 2025-12-30: close 'abc' is not a number (market/IWM.csv line {line}); "
        f"no row of that date is stored")
    assert failed_error_checks(result.all_events) == 0  # a warning: `make run` exits 0
    summary = summarize(result.all_events, 1.0, result.run_id, result.success, None)
    assert "market_prices_no_quarantined_rows (raw/market_prices)" in summary
    # the freshness checks warn as well (the demo's data ends 2025-12-31): the heading
    # counts every warning, "1 check" for one (orchestration/formatting.py, `plural`)
    warned = [e.check_name for e in result.get_asset_check_evaluations()
              if not e.passed and e.severity == dg.AssetCheckSeverity.WARN]
    assert "market_prices_no_quarantined_rows" in warned
    assert f"Warnings ({len(warned)} check{'' if len(warned) == 1 else 's'}):" in summary, \
        summary
    with duckdb.connect(str(warehouse), read_only=True) as con:
        stored = con.execute("SELECT count(*) FROM raw.market_prices WHERE symbol = 'IWM'"
                             ).fetchone()[0]
        snapshot = con.execute(
            "SELECT latest_date, quarantined_rows, latest_quarantined_date FROM "
            "marts.mart_market_snapshot WHERE symbol = 'IWM'").fetchone()
        alerts = con.execute("SELECT status, text FROM ops.alert_log WHERE kind = "
                             "'quarantined'").fetchall()
    assert stored == len(iwm) - 1
    assert [str(v) for v in snapshot] == ["2025-12-31", "1", "2025-12-30"]
    assert [status for status, _ in alerts] == ["logged"]  # once; no webhook here
    assert f"market/IWM.csv line {line}" in alerts[0][1]
    from orchestration.catalog import load_catalog
    from orchestration.snapshot import format_snapshot, read_snapshot

    printed = format_snapshot(read_snapshot(warehouse), load_catalog())
    assert "1 row quarantined (2025-12-30)" in next(r for r in printed.splitlines()
                                                    if r.startswith("IWM "))
    said = ("- **Quarantined**: iShares Russell 2000 ETF (IWM): the row of 2025-12-30 is not "
            f"stored (close 'abc' is not a number, market/IWM.csv line {line}). Its figures "
            "are without it until a later load replaces or confirms it (raw.quarantined_rows).")
    assert _brief_lines(warehouse, "2025-12-29") == []
    assert _brief_lines(warehouse, "2025-12-30") == _brief_lines(warehouse, "2025-12-31") == [
        said]

    # the source no longer has the row: confirmed, nothing flags IWM any more
    del text[line - 1]
    (data / "market" / "IWM.csv").write_text("".join(text))
    again, _ = materialize_all(tmp_path, source="files", data_dir=str(data))
    assert again.success
    checks = {e.check_name: e for e in again.get_asset_check_evaluations()}
    assert checks["market_prices_no_quarantined_rows"].passed
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("SELECT resolution FROM raw.quarantined_rows").fetchall() == [
            ("confirmed",)]
        assert con.execute("SELECT quarantined_rows FROM marts.mart_market_snapshot "
                           "WHERE symbol = 'IWM'").fetchone() == (0,)
        assert con.execute("SELECT count(*) FROM raw.market_prices WHERE symbol = 'IWM'"
                           ).fetchone()[0] == stored  # no price changed
        assert con.execute("SELECT count(*) FROM marts.mart_daily_brief WHERE fact_kind = "
                           "'quarantined_row'").fetchone()[0] == 0


@pytest.mark.slow
def test_a_quarantined_new_version_of_a_stored_row_says_the_stored_row_is_kept(
        tmp_path, demo_dir, dbt_manifest):
    """A first load stores IWM's 2025-12-30 and a DGS2 value; then the source turns IWM's
    close into `abc` and DGS2's value into `n/a`. The stored rows stay (no data loss), and
    the check, the alert, the snapshot and the brief say so -- "could not be stored ...; the
    row stored earlier (close ...) is kept" -- with the stored numbers (read here from the
    CSV the first load stored), never "is not stored"."""
    from orchestration.catalog import load_catalog
    from orchestration.snapshot import format_snapshot, read_snapshot

    data = _copy_of(demo_dir, tmp_path)
    first, warehouse = materialize_all(tmp_path, source="files", data_dir=str(data))
    assert first.success
    iwm = pd.read_csv(data / "market" / "IWM.csv", dtype=str)
    bad = iwm.index[iwm.date == "2025-12-30"][0]
    line, close = bad + 2, float(iwm.at[bad, "close"])  # the header is line 1
    iwm.loc[bad, "close"] = "abc"
    iwm.to_csv(data / "market" / "IWM.csv", index=False)
    dgs2 = pd.read_csv(data / "fred" / "DGS2.csv", dtype=str)
    fed = dgs2.index[dgs2.value.ne("") & (dgs2.date <= "2025-12-30")][-1]
    fed_day, fed_line, fed_value = dgs2.at[fed, "date"], fed + 2, float(dgs2.at[fed, "value"])
    dgs2.loc[fed, "value"] = "n/a"
    dgs2.to_csv(data / "fred" / "DGS2.csv", index=False)

    again, _ = materialize_all(tmp_path, source="files", data_dir=str(data))
    assert again.success
    kept = f"the row stored earlier (close {close:,.2f}) is kept"
    fed_kept = f"the row stored earlier (value {fed_value:,.2f}) is kept"
    checks = {e.check_name: e for e in again.get_asset_check_evaluations()}
    assert checks["market_prices_no_quarantined_rows"].metadata["problems"].value == (
        f"- IWM 2025-12-30: close 'abc' is not a number (market/IWM.csv line {line}); {kept}")
    assert checks["fred_observations_no_quarantined_rows"].metadata["problems"].value == (
        f"- DGS2 {fed_day}: value 'n/a' is not a number (fred/DGS2.csv line {fed_line}); "
        f"{fed_kept}")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("SELECT close FROM raw.market_prices WHERE symbol = 'IWM' AND "
                           "date = '2025-12-30'").fetchone() == (close,)  # no data loss
        alerts = dict(con.execute("SELECT subject, text FROM ops.alert_log "
                                  "WHERE kind = 'quarantined'").fetchall())
    assert kept in alerts["IWM"] and fed_kept in alerts["DGS2"]
    assert "not stored in" not in alerts["IWM"]
    printed = format_snapshot(read_snapshot(warehouse), load_catalog())
    assert "1 row quarantined (2025-12-30), stored row kept" in next(
        r for r in printed.splitlines() if r.startswith("IWM "))
    assert "the row stored earlier for its date is kept and the figures use it" in printed
    assert "are not in the figures" not in printed
    lines = _brief_lines(warehouse, "2025-12-31")
    assert lines[-1] == (
        "- **Quarantined**: iShares Russell 2000 ETF (IWM): the source's row of 2025-12-30 "
        f"could not be stored (close 'abc' is not a number, market/IWM.csv line {line}); "
        f"{kept}. Its figures use the row stored earlier until a later load replaces or "
        "confirms it (raw.quarantined_rows).")
    assert any(f"the source's row of {fed_day} could not be stored (value 'n/a' is not a "
               f"number, fred/DGS2.csv line {fed_line}); {fed_kept}" in x for x in lines)


@pytest.mark.slow
def test_a_run_that_holds_something_back_finishes_with_problems_not_succeeded(
        tmp_path, demo_dir, dbt_manifest):
    """QQQ's file lost a column: its symbol is held back, the others load and the marts
    rebuild. Before, the summary said "run ... succeeded" and `make run` exited 1; now it
    says "finished with 1 problem" (the failed check) and names the file and the column
    whole."""
    from orchestration.summary import report

    data = _copy_of(demo_dir, tmp_path)
    qqq = pd.read_csv(data / "market" / "QQQ.csv").drop(columns=["volume"])
    qqq.to_csv(data / "market" / "QQQ.csv", index=False)
    result, _ = materialize_all(tmp_path, source="files", data_dir=str(data))
    assert result.success  # the marts were rebuilt on the eight other symbols
    failed = [e.check_name for e in result.get_asset_check_evaluations()
              if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR]
    assert failed == ["market_prices_all_loaded"]
    text, problems = report(result.all_events, 12.0, result.run_id, True, None)
    assert problems == len(failed)  # `make run` exits 1 on it
    lines = text.splitlines()
    assert lines[0] == (f"lockstep: run {result.run_id} finished with 1 problem in 12.0 s "
                        f"(1 failed check)")
    assert "succeeded" not in text
    flat = " ".join(text.split())
    assert f"QQQ: {data / 'market' / 'QQQ.csv'} lacks column(s) volume" in flat, text
    assert "Next: fix the cause above" in text and "Next: `make brief`" not in text


def test_no_network_and_no_fred_key_fail_in_seconds_and_say_so(tmp_path, monkeypatch,
                                                              dbt_manifest):
    """Offline (no host resolves) with LOCKSTEP_SOURCE=live and no FRED_API_KEY: both
    ingestion steps fail at once, before any retry, each naming its cause."""
    import socket

    def offline(host, *args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", offline)
    started = time.monotonic()
    result, warehouse = materialize_all(tmp_path, source="live")
    elapsed = time.monotonic() - started
    assert not result.success
    assert elapsed < 60, elapsed  # it took 208 s of Yahoo retries before
    from orchestration.summary import summarize

    summary = summarize(result.all_events, elapsed, result.run_id, result.success, None)
    assert "raw_market: Yahoo: cannot resolve query2.finance.yahoo.com" in summary
    assert "raw_fred: raw.fred_observations: FRED_API_KEY is not set" in summary
    lines = summary.splitlines()
    assert len(lines) <= 12 and max(len(line) for line in lines) <= 200, summary
    assert not warehouse.exists() or "raw" in {r[0] for r in duckdb.connect(
        str(warehouse), read_only=True).execute(
        "SELECT DISTINCT table_schema FROM information_schema.tables").fetchall()}


def _hold_open(warehouse, seconds: float) -> subprocess.Popen:
    """A SQL client holding the live file open read-only (as a BI tool would)."""
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; "
         "c = duckdb.connect(sys.argv[1], read_only=True); print('open', flush=True); "
         "time.sleep(float(sys.argv[2]))", str(warehouse), str(seconds)],
        stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "open"
    return holder


def test_a_reader_holding_the_warehouse_delays_the_refresh_then_it_completes(
        tmp_path, monkeypatch, demo_build, demo_copy):
    # the first run: the session's demo build, copied here as it left the warehouse
    first, warehouse = demo_build.first, demo_copy
    assert first.success
    monkeypatch.setenv("LOCKSTEP_LOCK_TIMEOUT", "120")
    holder = _hold_open(warehouse, 6)
    started = time.monotonic()
    second, _ = materialize_all(tmp_path / "run", source="demo")
    holder.wait(30)
    assert second.success
    assert time.monotonic() - started >= 4  # it waited for the reader to close


def test_a_reader_that_stays_fails_the_refresh_with_what_to_do(tmp_path, monkeypatch,
                                                              demo_build, demo_copy):
    # the first run: the session's demo build, copied here as it left the warehouse
    first, warehouse = demo_build.first, demo_copy
    assert first.success
    monkeypatch.setenv("LOCKSTEP_LOCK_TIMEOUT", "2")
    holder = _hold_open(warehouse, 60)
    try:
        started = time.monotonic()
        second, _ = materialize_all(tmp_path / "run", source="demo")
        elapsed = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait(10)
    assert not second.success and elapsed < 60
    messages = " ".join(e.step_failure_data.error.to_string() for e in second.all_events
                        if e.is_step_failure)
    assert f"held open by PID {holder.pid}" in messages
    assert "published copy" in messages and "Could not set lock" not in messages
    assert "read-only mode" not in messages  # DuckDB's misleading hint is not passed on


@pytest.mark.slow
def test_make_run_waits_once_for_a_reader_says_so_and_names_it_whole(tmp_path):
    """A SQL client holds the warehouse open for longer than LOCKSTEP_LOCK_TIMEOUT. Before,
    each writing step waited the whole timeout in turn (three or four times it), silently on
    the terminal, and the summary cut the message before the holder's PID and the fix. Now
    the run waits once, says on the terminal whom it waits for, and the summary keeps the
    whole message; its first line counts the failed steps, as the instance records them."""
    timeout = 20
    warehouse = tmp_path / "w.duckdb"
    duckdb.connect(str(warehouse)).close()
    holder = _hold_open(warehouse, 600)
    command = Path(f"/proc/{holder.pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    env = {**os.environ, "LOCKSTEP_WAREHOUSE": str(warehouse), "LOCKSTEP_SOURCE": "demo",
           "LOCKSTEP_STATE_DIR": str(tmp_path / "state"),
           "LOCKSTEP_LOCK_TIMEOUT": str(timeout)}
    try:
        out = subprocess.run([sys.executable, "-m", "orchestration.cli", "run"],
                             cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
                             timeout=900)
    finally:
        holder.kill()
        holder.wait(10)
    assert out.returncode == 1, out.stdout[-3000:] + out.stderr[-3000:]
    said = (f"lockstep: waiting for PID {holder.pid} ({command.strip()}) to close {warehouse}; "
            f"this run waits up to {timeout} s in all (LOCKSTEP_LOCK_TIMEOUT={timeout})")
    assert said in out.stderr.splitlines(), out.stderr[-3000:]
    summary = out.stderr[out.stderr.index("lockstep: run "):]
    flat = " ".join(summary.split())
    assert (f"is held open by PID {holder.pid} ({' '.join(command.split())}), so the refresh "
            f"cannot write it; this run waited {timeout} s in all (LOCKSTEP_LOCK_TIMEOUT). "
            f"Close that client") in flat, summary
    assert "..." not in summary  # nothing cut
    from orchestration.settings import dagster_home

    with dg.DagsterInstance.from_config(str(dagster_home(env)[0])) as instance:
        [run] = instance.get_run_records()
        events = instance.all_logs(run.dagster_run.run_id)
    started = {e.step_key: e.timestamp for e in events
               if e.dagster_event_type == dg.DagsterEventType.STEP_START}
    failed = {e.step_key: e.timestamp for e in events
              if e.dagster_event_type == dg.DagsterEventType.STEP_FAILURE}
    assert len(failed) >= 3  # the writing steps: each found the warehouse held open
    head = summary.splitlines()[0]
    assert head.startswith(f"lockstep: run {run.dagster_run.run_id} FAILED with {len(failed)} "
                           f"problems in ")
    assert head.endswith(f" s ({len(failed)} failed steps)")
    waited = sum(failed[step] - started[step] for step in failed)
    assert timeout <= waited < 1.5 * timeout, waited  # once, not once per step


def _refresh_raw(tmp_path, data):
    """The daily refresh of both raw steps over `data` (errors are results, not raised)."""
    with lockstep_env(source="files", data_dir=str(data), warehouse=str(tmp_path / "w.duckdb"),
                      state_dir=str(tmp_path / "state")):
        return dg.materialize([raw_market, raw_fred], resources={"lockstep": LockstepResource()},
                              instance=dg.DagsterInstance.ephemeral(),
                              partition_key=newest_key(), raise_on_error=False)


def test_a_header_only_file_is_a_failed_check_on_every_run_never_a_failed_step(
        tmp_path, demo_dir):
    """GC=F's and DGS2's files cut to their header line after a first load: their rows
    stay as stored, and on that run AND on a re-run where nothing else changed (every other
    file unchanged, so "stored 0 symbols, 1 failed") the step succeeds and only the
    all-loaded checks fail, naming the files. Before, the re-run failed the step, and
    checks, dbt, publish, alerts and the snapshot did not run."""
    data = _copy_of(demo_dir, tmp_path)
    assert _refresh_raw(tmp_path, data).success
    gold = pd.read_csv(data / "market" / "GC_F.csv", dtype=str)
    dgs2 = pd.read_csv(data / "fred" / "DGS2.csv", dtype=str)
    for path in (data / "market" / "GC_F.csv", data / "fred" / "DGS2.csv"):
        path.write_text(path.read_text().splitlines(keepends=True)[0])
    for attempt in ("the run after the cut", "a re-run, nothing else changed"):
        result = _refresh_raw(tmp_path, data)
        assert result.success, attempt
        checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
        for check, name, path in [
                ("market_prices_all_loaded", "GC=F", data / "market" / "GC_F.csv"),
                ("fred_observations_all_loaded", "DGS2", data / "fred" / "DGS2.csv")]:
            assert not checks[check].passed, (attempt, check)
            label = "symbol" if check.startswith("market") else "series"
            assert checks[check].description == f"1 {label} held back"  # not "symbol(s)"
            assert (f"{name}: {path} has a header and no rows"
                    in checks[check].metadata["problems"].value), attempt
        with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
            kept = con.execute("SELECT count(*) FROM raw.market_prices WHERE symbol = 'GC=F'"
                               ).fetchone()[0]
            kept_fred = con.execute("SELECT count(*) FROM raw.fred_observations "
                                    "WHERE series_id = 'DGS2'").fetchone()[0]
        assert kept == gold.close.ne("").sum(), attempt  # what it had stored
        assert kept_fred == dgs2.value.ne("").sum(), attempt


def test_the_summary_names_the_years_the_rows_written_span(tmp_path, demo_dir):
    """GC=F's file is header-only at the first load, then restored: the current year's run
    stores its whole history, and the summary says "Loaded (rows of <first>-<last>)", the
    years of those rows (read from the file), not "the year <this year>"."""
    from orchestration.summary import summarize

    data = _copy_of(demo_dir, tmp_path)
    path = data / "market" / "GC_F.csv"
    gold = pd.read_csv(path, dtype=str)
    path.write_text(path.read_text().splitlines(keepends=True)[0])
    assert _refresh_raw(tmp_path, data).success
    gold.to_csv(path, index=False)
    restored = _refresh_raw(tmp_path, data)
    assert restored.success
    span = f"{gold.date.min()[:4]}-{gold.date.max()[:4]}"
    assert span[:4] != newest_key()  # more than this year's partition
    assert f"Loaded (rows of {span}):" in summarize(restored.all_events, 1.0, restored.run_id,
                                                    True, None)
