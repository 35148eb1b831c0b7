"""`make run`'s command: runs land in the warehouse's own persistent instance, the snapshot
is printed and headed as synthetic for demo data; live without a key fails naming the
variable; a warehouse path it cannot use is one error; `make dev` stops on SIGTERM and
SIGINT."""

import os
import re
import signal
import subprocess
import sys

import dagster as dg
import pytest

from orchestration.partitions import newest_key
from orchestration.resources import LockstepResource, dbt_resource
from tests.conftest import PROJECT_ROOT, free_port, lockstep_env
from tests.fakes.yahoo import FakeYahoo


@pytest.mark.slow  # `make run` twice from scratch: its first load is the point
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
    assert "Loaded (rows of 2018-" in summary  # the years the rows written span
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
        assert run.tags["lockstep/engine"] == "duckdb"
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
            "the last read; source demo, SYNTHETIC)") in " ".join(again.stdout.split())  # wrapped


def test_brief_command_any_date_and_clear_errors(tmp_path, demo_build):
    """`cli brief --date` and `make brief DATE=` read the warehouse LOCKSTEP_WAREHOUSE
    names (the session's demo build, only read); a date outside it or not a date is a
    clear error."""
    result, warehouse = demo_build.first, demo_build.warehouse
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


@pytest.mark.parametrize("engine", ["duckdb", "spark"])
def test_every_run_is_tagged_with_its_source_and_engine(engine):
    """The UI's runs list says which engine built each run (the schedules' and the UI's
    launches; `make run` sets the same tag, test_run_prints_synthetic_snapshot_...)."""
    env = {**os.environ, "LOCKSTEP_SOURCE": "demo", "LOCKSTEP_ENGINE": engine}
    code = ("from orchestration.schedules import RUN_TAGS, SCHEDULE_TAGS; "
            "print(RUN_TAGS['lockstep/engine'], SCHEDULE_TAGS['lockstep/engine'], "
            "RUN_TAGS['lockstep/source'], RUN_TAGS['lockstep/trigger'])")
    out = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == [engine, engine, "demo", "ui"]


def test_make_runs_first_line_names_the_spark_engine_only_when_it_is_used(tmp_path):
    from orchestration.cli import _run_header
    from orchestration.settings import load_settings

    log = tmp_path / "run.log"
    for engine, said in (("duckdb", ""), ("spark", ", dbt on Apache Spark")):
        settings = load_settings({"LOCKSTEP_ENGINE": engine, "LOCKSTEP_SOURCE": "demo",
                                  "LOCKSTEP_WAREHOUSE": str(tmp_path / "w.duckdb")})
        assert _run_header("daily refresh of 2026", "SYNTHETIC demo data", settings, log) == (
            f"lockstep: running the daily refresh of 2026 on SYNTHETIC demo data into "
            f"{tmp_path / 'w.duckdb'}{said} (details: {log})")


def test_bad_source_name_is_a_clear_error():
    env = {**os.environ, "LOCKSTEP_SOURCE": "yahoo"}
    out = subprocess.run([sys.executable, "-m", "orchestration.cli", "snapshot"],
                         cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert "LOCKSTEP_SOURCE='yahoo' is not one of demo, files, live" in out.stderr


@pytest.mark.slow
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


@pytest.mark.slow  # `make` sets up and starts the code location twice
def test_make_automation_on_and_off(tmp_path, dbt_manifest):
    """The README's way to start the schedules and the automation sensor (they start
    stopped) turns all three on in the warehouse's own instance, and off again."""
    from orchestration.settings import dagster_home

    env = {**os.environ, "LOCKSTEP_STATE_DIR": str(tmp_path / "state")}
    home, chosen = dagster_home(env)
    assert not chosen and not home.exists()

    def states():
        with dg.DagsterInstance.from_config(str(home)) as instance:
            return {s.name: s.status.value for s in instance.all_instigator_state()}

    for target, status in (("automation-on", "RUNNING"), ("automation-off", "STOPPED")):
        out = subprocess.run(["make", "--no-print-directory", target], cwd=PROJECT_ROOT,
                             env=env, capture_output=True, text=True, timeout=600)
        assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
        assert states() == {"daily_refresh_weekdays": status, "daily_refresh_weekends": status,
                            "default_automation_condition_sensor": status}


@pytest.mark.parametrize("where, says", [
    ("{tmp}/nonexistent/dir/x.duckdb",
     "lockstep: LOCKSTEP_WAREHOUSE={path}: its directory {parent} does not exist. Create it "
     "(mkdir -p {parent}) or set LOCKSTEP_CREATE_DIRS=1 to have lockstep create it, or fix the "
     "path."),
    ("/proc/x.duckdb",
     "lockstep: LOCKSTEP_WAREHOUSE={path}: cannot create files in /proc (No such file or "
     "directory); point LOCKSTEP_WAREHOUSE at a file in a directory you can write."),
])
def test_a_warehouse_path_make_run_cannot_use_is_one_error_before_any_run(tmp_path, where,
                                                                          says):
    """Before: /nonexistent/dir was created at the filesystem's root, and /proc/x.duckdb
    failed every writing step with the lock file's FileNotFoundError."""
    if where.startswith("/proc") and not os.path.exists("/proc/self"):
        pytest.skip("needs Linux's /proc")
    path = where.format(tmp=tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "LOCKSTEP_CREATE_DIRS"}
    out = subprocess.run([sys.executable, "-m", "orchestration.cli", "run"], cwd=PROJECT_ROOT,
                         env={**env, "LOCKSTEP_WAREHOUSE": path}, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 2
    assert out.stderr.splitlines() == [says.format(path=path, parent=os.path.dirname(path))]
    assert out.stdout == ""  # no run started
    assert not (tmp_path / "nonexistent").exists()
    assert not (tmp_path / "state").exists()  # no Dagster instance either
    # `make dev` (the `dagster` command on the warehouse's instance) refuses it alike,
    # before Dagster starts (before: it started the UI without complaint)
    dev = subprocess.run([sys.executable, "-m", "orchestration.cli", "dagster", "dev",
                          "-w", "workspace.yaml", "-p", str(free_port())], cwd=PROJECT_ROOT,
                         env={**env, "LOCKSTEP_WAREHOUSE": path}, capture_output=True,
                         text=True, timeout=60)
    assert dev.returncode == 2
    assert dev.stderr.splitlines() == [says.format(path=path, parent=os.path.dirname(path))]
    assert not (tmp_path / "nonexistent").exists()


def test_each_warehouse_has_its_own_dagster_instance_unless_dagster_home_is_set(tmp_path):
    """The instance's directory comes from the warehouse's path (two warehouses of the same
    file name in two directories are two instances; the same file named two ways is one);
    a DAGSTER_HOME the user sets wins."""
    from orchestration.lib.runs import use_instance
    from orchestration.settings import dagster_home

    state = tmp_path / "state"
    env = {"LOCKSTEP_STATE_DIR": str(state)}
    demo, chosen = dagster_home({**env, "LOCKSTEP_WAREHOUSE": str(tmp_path / "demo" / "w.duckdb")})
    real, _ = dagster_home({**env, "LOCKSTEP_WAREHOUSE": str(tmp_path / "real" / "w.duckdb")})
    again, _ = dagster_home({**env, "LOCKSTEP_WAREHOUSE":
                             str(tmp_path / "real" / ".." / "real" / "w.duckdb")})
    assert not chosen and demo != real and real == again
    for home in (demo, real):
        assert home.name == "dagster_home" and home.parent.parent == state / "warehouses"
        assert home.parent.name.startswith("w-")  # the file's stem, then the path's hash
    mine = tmp_path / "my_home"
    assert dagster_home({**env, "DAGSTER_HOME": str(mine)}) == (mine, True)
    # make run / make dev point DAGSTER_HOME at it and give it lockstep's dagster.yaml
    config = (PROJECT_ROOT / "orchestration" / "dagster_instance.yaml").read_text()
    from orchestration.settings import environ

    with environ(DAGSTER_HOME=None, LOCKSTEP_STATE_DIR=str(state),
                 LOCKSTEP_WAREHOUSE=str(tmp_path / "real" / "w.duckdb")):
        assert use_instance() == real and os.environ["DAGSTER_HOME"] == str(real)
    assert (real / "dagster.yaml").read_text() == config
    mine.mkdir()
    (mine / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    with environ(DAGSTER_HOME=str(mine)):
        assert use_instance() == mine
    assert (mine / "dagster.yaml").read_text() == "telemetry:\n  enabled: false\n"  # theirs
    # the instance every warehouse shared before becomes the default warehouse's, once
    shared = state / "dagster_home"
    (shared / "history").mkdir(parents=True)
    (shared / "history" / "runs.db").write_text("the old runs")
    told = []
    with environ(DAGSTER_HOME=None, LOCKSTEP_STATE_DIR=str(state), LOCKSTEP_WAREHOUSE=None):
        default = use_instance(say=told.append)
    assert default.parent.name.startswith("lockstep-") and not shared.exists()
    assert (default / "history" / "runs.db").read_text() == "the old runs"
    assert told == [f"the Dagster instance {shared}, which every warehouse shared, is now the "
                    f"default warehouse's own: moved to {default} (other warehouses get their "
                    f"own)"]


@pytest.mark.slow  # `make demo`, then `make run` of the real history: two first loads
@pytest.mark.real_data
# two whole first loads: about 8 minutes on a shared 2-core machine, past the default guard
@pytest.mark.timeout(1500)
def test_a_first_load_into_a_new_warehouse_after_the_demo_is_a_first_load(tmp_path,
                                                                          real_data,
                                                                          dbt_manifest):
    """After `make demo`, `make run` of the real history into a new warehouse is that
    warehouse's first load: every year from the history's first, each year recorded as a
    partition in that warehouse's instance; the demo's instance is untouched. (With one
    instance for every warehouse it was "the daily_refresh of 2026", and the partitions
    page showed the years before the demo's as missing.)"""
    import pandas as pd

    from orchestration.settings import dagster_home

    first_year = min(int(pd.read_csv(path, usecols=["date"]).date.min()[:4])
                     for path in (real_data / "market").glob("*.csv"))
    newest = newest_key()
    years = {str(y) for y in range(first_year, int(newest) + 1)}
    base = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    base["LOCKSTEP_STATE_DIR"] = str(tmp_path / "state")
    demo_env = {**base, "LOCKSTEP_SOURCE": "demo",
                "LOCKSTEP_WAREHOUSE": str(tmp_path / "demo" / "lockstep.duckdb")}
    real_env = {**base, "LOCKSTEP_SOURCE": "files", "LOCKSTEP_DATA_DIR": str(real_data),
                "LOCKSTEP_WAREHOUSE": str(tmp_path / "real" / "lockstep.duckdb")}

    def make(target, env):
        return subprocess.run(["make", "--no-print-directory", target], cwd=PROJECT_ROOT,
                              env=env, capture_output=True, text=True, timeout=1200)

    def recorded(env):
        home, _ = dagster_home(env)
        with dg.DagsterInstance.from_config(str(home)) as instance:
            return ([r.dagster_run.run_id for r in instance.get_run_records()],
                    {str(k): instance.get_materialized_partitions(k) for k in (
                        dg.AssetKey(["raw", "market_prices"]),
                        dg.AssetKey(["raw", "fred_observations"]))})

    demo = make("demo", demo_env)
    assert demo.returncode == 0, demo.stdout[-2000:] + demo.stderr[-2000:]
    # the demo's files, counted for people (19,009, not 19009)
    assert re.search(r"SYNTHETIC demo data written to .* \(\d{1,3}(,\d{3})+ market rows, "
                     r"\d{1,3}(,\d{3})+ FRED rows, 2018-01-02 to ", demo.stdout), demo.stdout[:2000]
    demo_runs, demo_partitions = recorded(demo_env)
    real = make("run", real_env)
    # (make may first say it prepares dbt's manifest for the new warehouse path)
    head = next((line for line in real.stdout.splitlines()
                 if line.startswith("lockstep: running")), real.stdout[:200])
    assert head.startswith(f"lockstep: running the first load: the years {first_year} to "
                           f"{newest} on source files into {real_env['LOCKSTEP_WAREHOUSE']}"), \
        real.stdout[-3000:] + real.stderr[-3000:]
    assert f"Loaded (rows of {first_year}-" in real.stdout + real.stderr
    real_runs, real_partitions = recorded(real_env)
    assert len(real_runs) == 1 and not set(real_runs) & set(demo_runs)
    assert all(got == years for got in real_partitions.values()), real_partitions
    assert dagster_home(real_env) != dagster_home(demo_env)
    assert recorded(demo_env) == (demo_runs, demo_partitions)  # the demo's, untouched
    assert len(demo_runs) == 1


def _group(pgid: int) -> list[str]:
    """The live processes of a process group (a zombie left to a parent that is gone is
    not running)."""
    import psutil

    alive = []
    for process in psutil.process_iter(["pid", "status", "cmdline"]):
        try:
            if os.getpgid(process.pid) == pgid and process.status() != psutil.STATUS_ZOMBIE:
                alive.append(" ".join(process.info["cmdline"] or [])[:150])
        except (ProcessLookupError, psutil.NoSuchProcess):
            continue
    return alive


@pytest.mark.slow  # starts `make dev` (the UI, the daemon, the code server)
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_make_dev_stops_on_sigterm_and_sigint_to_its_process_group(tmp_path, dbt_manifest,
                                                                   stop):
    """`make dev &` in a script (or any start that ignores SIGINT, which a background job
    of a non-interactive shell inherits): Dagster maps SIGTERM onto SIGINT's handler, so
    the UI, the daemon and the code server ignored both and needed SIGKILL."""
    import time
    import urllib.request

    port = free_port()
    log = open(tmp_path / "dev.log", "w")
    dev = subprocess.Popen(
        ["make", "--no-print-directory", "dev", f"DEV_PORT={port}"], cwd=PROJECT_ROOT,
        env={**os.environ, "LOCKSTEP_STATE_DIR": str(tmp_path / "state")},
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=5)
                break
            except OSError:
                assert time.monotonic() < deadline and dev.poll() is None, \
                    (tmp_path / "dev.log").read_text()[-3000:]
                time.sleep(1)
        time.sleep(3)  # the daemon and the code server are up too
        assert len(_group(dev.pid)) >= 4  # make, uv, dagster dev, its servers
        sent = time.monotonic()
        os.killpg(dev.pid, stop)
        dev.wait(60)
        while _group(dev.pid):
            assert time.monotonic() - sent < 60, _group(dev.pid)
            time.sleep(0.5)
    finally:
        try:
            os.killpg(dev.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        log.close()
