"""`make run`'s command: runs land in the persistent instance, the snapshot is printed and
headed as synthetic for demo data; live without a key fails naming the variable."""

import os
import subprocess
import sys

import dagster as dg
import pytest

from orchestration.partitions import newest_key
from orchestration.resources import LockstepResource, dbt_resource
from tests.conftest import PROJECT_ROOT, lockstep_env
from tests.fakes.yahoo import FakeYahoo

pytestmark = pytest.mark.slow


def test_run_prints_synthetic_snapshot_and_records_the_run(tmp_path, dbt_manifest):
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((PROJECT_ROOT / "orchestration" /
                                        "dagster_instance.yaml").read_text())
    env = {**os.environ, "DAGSTER_HOME": str(home), "LOCKSTEP_SOURCE": "demo"}
    out = subprocess.run([sys.executable, "-m", "orchestration.cli", "run"], cwd=PROJECT_ROOT,
                         env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    lines = out.stdout.splitlines()
    # the run's own chatter went to a log file; the terminal gets the summary at the end
    # a first load into this instance asks for every year the demo covers (2018 onwards)
    newest = newest_key()
    assert lines[0].startswith(f"lockstep: running the first load: the years 2018 to {newest} "
                               f"on SYNTHETIC demo data")
    log_file = lines[0].split("(details: ")[1].rstrip(")")
    assert "Done. PASS=" in open(log_file).read()  # dbt's own log, kept in the file
    summary = out.stdout[out.stdout.index("lockstep: run "):]
    assert "market prices: 19,009 rows inserted, 0 updated (9 symbols, source demo, " \
           "SYNTHETIC)" in summary
    # one line per table, for all the years the run loaded (one materialization per year)
    assert f"Loaded (the years 2018 to {newest}):" in summary
    assert summary.count("market prices:") == 1
    assert "market_prices_fresh (raw/market_prices): 9 symbols behind their calendar" in summary
    assert "Alerts: " in summary and "Next: `make brief`" in summary
    assert len(out.stdout.splitlines()) < 200
    assert any(line.startswith("SYNTHETIC DEMO DATA") for line in lines)
    [btc] = [line for line in lines if line.startswith("BTC-USD")]
    assert "125,000.00" in btc and "2025-10-06" in btc and "26.4 %" in btc and "-26.4 %" not in btc
    # then the demo brief, for the day the synthetic story is about, labelled synthetic
    brief = out.stdout[out.stdout.index("The demo brief for 2025-12-11"):]
    assert "# lockstep brief: 2025-12-11 (Thursday)" in brief
    assert brief.count("SYNTHETIC DEMO DATA") == 2
    assert "**Russell 2000 (^RUT)** set a record close of 2,595.00" in brief
    assert "the third cut of 2025" in brief
    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_run_records()
        assert len(runs) == 1 and runs[0].dagster_run.job_name == "daily_refresh"
        run = runs[0].dagster_run
        assert run.tags["lockstep/trigger"] == "make run"
        assert run.tags["lockstep/source"] == "demo" and run.tags["lockstep/job"] == \
            "daily_refresh"
        # listed where the UI's job page and timeline look: the code location's origin
        assert run.remote_job_origin.location_name == "lockstep"
        on_job_page = instance.get_runs(dg.RunsFilter(
            job_name="daily_refresh", tags={".dagster/repository": "__repository__@lockstep"}))
        assert [r.run_id for r in on_job_page] == [run.run_id]
        materialized = instance.get_latest_materialization_event(
            dg.AssetKey(["marts", "mart_market_snapshot"]))
        assert materialized is not None
        # the partition health the UI shows: every year loaded; the next `make run` is the
        # daily refresh of the current year only
        years = {str(y) for y in range(2018, int(newest) + 1)}
        for key in (["raw", "market_prices"], ["raw", "fred_observations"]):
            assert instance.get_materialized_partitions(dg.AssetKey(key)) == years
        from orchestration.cli import _partitions
        from orchestration.settings import load_settings

        tags, what = _partitions(lambda: instance, load_settings(env), None, None)
        assert tags == {"dagster/partition": newest}
        assert what == f"daily_refresh of {newest}"
    # the daily refresh that follows finds every demo file as it read it
    again = subprocess.run([sys.executable, "-m", "orchestration.cli", "run"],
                           cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
                           timeout=300)
    assert again.returncode == 0, again.stderr[-3000:]
    assert ("market prices: 0 rows inserted, 0 updated (9 symbols, 9 of them unchanged since "
            "the last read; source demo, SYNTHETIC)") in again.stdout


def test_brief_command_any_date_and_clear_errors(tmp_path, dbt_manifest):
    """`cli brief --date` and `make brief DATE=` read the warehouse LOCKSTEP_WAREHOUSE
    names; a date outside it or not a date is a clear error."""
    from tests.conftest import materialize_all

    result, warehouse = materialize_all(tmp_path, source="demo")
    assert result.success
    env = {**os.environ, "LOCKSTEP_WAREHOUSE": str(warehouse), "LOCKSTEP_SOURCE": "demo"}

    def brief(*args):
        return subprocess.run([sys.executable, "-m", "orchestration.cli", "brief", *args],
                              cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
                              timeout=120)

    latest = brief()
    assert latest.returncode == 0, latest.stderr
    assert latest.stdout.startswith("# lockstep brief: 2025-12-31 (Wednesday)")
    weekend = brief("--date", "2025-12-13")
    assert weekend.returncode == 0
    assert "# lockstep brief: 2025-12-13 (Saturday)" in weekend.stdout
    assert "| Russell 2000 (^RUT) | 2025-12-12 (earlier) |" in weekend.stdout
    outside = brief("--date", "2031-01-01")
    assert outside.returncode == 1
    assert ("no brief for 2031-01-01: the warehouse's dates run from 2018-01-02 to "
            "2025-12-31") in outside.stderr
    assert brief("--date", "2025-13-01").returncode == 2
    missing = subprocess.run([sys.executable, "-m", "orchestration.cli", "brief"],
                             cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60,
                             env={**env, "LOCKSTEP_WAREHOUSE": str(tmp_path / "none.duckdb")})
    assert missing.returncode == 1 and "no warehouse at" in missing.stderr
    made = subprocess.run(["make", "--no-print-directory", "brief", "DATE=2025-12-11"],
                          cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert made.returncode == 0, made.stderr[-2000:]
    assert "# lockstep brief: 2025-12-11 (Thursday)" in made.stdout


def test_bad_source_name_is_a_clear_error():
    env = {**os.environ, "LOCKSTEP_SOURCE": "yahoo"}
    out = subprocess.run([sys.executable, "-m", "orchestration.cli", "snapshot"],
                         cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert "LOCKSTEP_SOURCE='yahoo' is not one of demo, files, live" in out.stderr


def test_live_without_fred_key_fails_naming_it_and_never_falls_back(tmp_path, real_data,
                                                                     catalog, dbt_manifest):
    from orchestration.definitions import defs

    calendars = {i.symbol: i.calendar for i in catalog.market}
    warehouse = tmp_path / "w.duckdb"
    with FakeYahoo(real_data, calendars) as yahoo, lockstep_env(
            source="live", warehouse=str(warehouse), state_dir=str(tmp_path / "state")):
        result = dg.materialize(
            list(defs.assets), partition_key=newest_key(),
            resources={"lockstep": LockstepResource(yahoo_endpoint=yahoo.url,
                                                    retry_attempts=2, retry_base_delay_s=0.01),
                       "dbt": dbt_resource()},
            instance=dg.DagsterInstance.ephemeral(),
            raise_on_error=False,
        )
    assert not result.success
    failures = [e for e in result.all_events if e.is_step_failure]
    messages = " ".join(e.step_failure_data.error.to_string() for e in failures)
    assert "FRED_API_KEY" in messages
    [loaded] = [e for e in result.get_asset_check_evaluations()
                if e.check_name == "market_prices_all_loaded"]
    assert not loaded.passed  # the symbol Yahoo had nothing for is named, the rest stored
    assert "^NDX" in loaded.metadata["problems"].value
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        sources = con.execute("SELECT DISTINCT source FROM raw.market_prices").fetchall()
        n_btc = con.execute("SELECT count(*) FROM raw.market_prices WHERE symbol = 'BTC-USD'"
                            ).fetchone()[0]
    assert sources == [("live",)] and n_btc == 4327  # what succeeded was stored
    assert not (tmp_path / "state" / "demo_data").exists()


def test_make_automation_on_and_off(tmp_path, dbt_manifest):
    """The README's way to start the schedules and the automation sensor (they start
    stopped) turns all three on in the instance, and off again."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((PROJECT_ROOT / "orchestration" /
                                        "dagster_instance.yaml").read_text())
    env = {**os.environ, "DAGSTER_HOME": str(home)}

    def states():
        with dg.DagsterInstance.from_config(str(home)) as instance:
            return {s.name: s.status.value for s in instance.all_instigator_state()}

    for target, status in (("automation-on", "RUNNING"), ("automation-off", "STOPPED")):
        out = subprocess.run(["make", "--no-print-directory", target], cwd=PROJECT_ROOT,
                             env=env, capture_output=True, text=True, timeout=600)
        assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
        assert states() == {"daily_refresh_weekdays": status, "daily_refresh_weekends": status,
                            "default_automation_condition_sensor": status}
