"""Command line behind the Makefile.

    python -m orchestration.cli run        materialize every asset (job daily_refresh) in the
                                           persistent Dagster instance, then print the snapshot
    python -m orchestration.cli snapshot   print the market snapshot only
    python -m orchestration.cli brief [--date YYYY-MM-DD]
                                           print the day's brief (default: the latest date)
    python -m orchestration.cli demo-data  (re)generate the synthetic demo directory
    python -m orchestration.cli docs [--port 8080] [--no-serve]
                                           dbt's docs of the warehouse, served on 127.0.0.1
    python -m orchestration.cli run --start 2020-01-01 --end 2021-06-30
                                           backfill (or re-load) the years that range covers
                                           (2020 and 2021: a partition is a year), then rebuild
                                           the marts; re-running a range changes nothing twice
    python -m orchestration.cli dagster ARGS...
                                           `dagster ARGS...` on the warehouse's own instance
                                           (`make dev`, `make automation-on/off`)

Every command that uses the Dagster instance uses the warehouse's own (DAGSTER_HOME when set;
orchestration/lib/runs.py, `use_instance`). Before each run, `run` marks the runs whose
process died as failed, saying so.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path

from orchestration.catalog import CatalogError, load_catalog
from orchestration.settings import SettingsError, load_settings


def _print_snapshot(settings) -> int:
    from orchestration.snapshot import format_snapshot, read_snapshot

    try:
        rows = read_snapshot(settings.warehouse)
    except Exception as exc:  # no warehouse yet, or no marts built
        print(f"lockstep: cannot read the snapshot from {settings.warehouse}: {exc}",
              file=sys.stderr)
        return 1
    print(format_snapshot(rows, load_catalog()))
    return 0


def _print_brief(settings, day: date | None) -> int:
    from orchestration.brief import BriefError, read_brief

    if not settings.warehouse.exists():
        print(f"lockstep: no warehouse at {settings.warehouse}: run `make run` (or `make demo`) "
              f"first, or point LOCKSTEP_WAREHOUSE at one", file=sys.stderr)
        return 1
    try:
        print(read_brief(settings.warehouse, day), end="")
    except BriefError as exc:
        print(f"lockstep: {exc}", file=sys.stderr)
        return 1
    return 0


def _demo_data(settings) -> None:
    from orchestration.formatting import count
    from orchestration.sources.demo.client import generate_demo_data

    summary = generate_demo_data(settings.demo_dir, load_catalog())
    print(
        f"lockstep: SYNTHETIC demo data written to {settings.demo_dir} "
        f"({count(summary['rows']['market'])} market rows, "
        f"{count(summary['rows']['fred'])} FRED rows, {summary['start']} to {summary['end']})"
    )


def _run_header(what: str, label: str, settings, log_file: Path | None) -> str:
    """The line `make run` starts with: what it loads, from where, into which warehouse, on
    which engine when it is not the default, and where the details go."""
    engine = ", dbt on Apache Spark" if settings.engine == "spark" else ""
    return (f"lockstep: running the {what} on {label} into {settings.warehouse}{engine}"
            + (f" (details: {log_file})" if log_file else ""))


@contextmanager
def _output_to(log_file: Path | None):
    """Send everything the run prints (Dagster's log, dbt's) to `log_file`; None: leave it
    on the terminal (VERBOSE=1)."""
    if log_file is None:
        yield
        return
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "a", encoding="utf-8") as handle:
        with redirect_stdout(handle), redirect_stderr(handle):
            yield


@cache
def _instance():
    """The warehouse's Dagster instance (DAGSTER_HOME, which `use_instance` set): the one
    `make dev` shows for the same LOCKSTEP_WAREHOUSE."""
    import dagster as dg

    return dg.DagsterInstance.get()


def _dagster(args: list[str]) -> int:
    """Become `dagster ARGS...` on the warehouse's instance (`make dev`, the automation
    targets). SIGINT and SIGTERM are reset to their defaults first: a process started in
    the background of a script inherits SIGINT ignored, Dagster maps SIGTERM onto SIGINT's
    handler, and `make dev` then ignored both (it needed SIGKILL)."""
    import signal

    from orchestration.lib.runs import use_instance
    from orchestration.lib.warehouse import WarehousePathError, check_writable

    try:  # a warehouse `make run` refuses, `make dev` refuses alike, before Dagster starts
        check_writable(load_settings().warehouse)
    except (SettingsError, WarehousePathError) as exc:
        print(f"lockstep: {exc}", file=sys.stderr)
        return 2
    use_instance(say=lambda line: print(f"lockstep: {line}", file=sys.stderr, flush=True))
    for stop in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop, signal.SIG_DFL)
    os.execv(sys.executable, [sys.executable, "-m", "dagster", *args])
    return 1  # not reached


def _partitions(instance: Callable, settings, start: str | None,
                end: str | None) -> tuple[dict, str]:
    """Which years of the raw assets this run loads, as run tags, and how to say it.

    A backfill: the years START..END cover (whole years: a partition is a year). The first
    load into the warehouse (no warehouse file yet, or no year of raw/market_prices or
    raw/fred_observations recorded in its instance): every year the source can have, so
    the UI's partition health is right from the start. Otherwise the daily refresh: the
    current year, incremental."""
    from orchestration.definitions import partitioned_keys
    from orchestration.partitions import FIRST_YEAR, newest_key, range_tags, years

    if start or end:
        first, last = years(date.fromisoformat(start) if start else FIRST_YEAR,
                            date.fromisoformat(end) if end else None)
        tags = {**range_tags(first, last), "lockstep/backfill": f"{start or ''}..{end or ''}"}
        return tags, f"backfill of the years {first} to {last} (whole years)"
    if not settings.warehouse.exists() or not all(
            instance().get_latest_materialization_event(key) for key in partitioned_keys()):
        if settings.is_synthetic:
            from orchestration.sources.demo.client import START

            first_year = START.year  # the demo generates nothing earlier
        else:
            first_year = FIRST_YEAR
        first, last = years(first_year)
        return range_tags(first, last), f"first load: the years {first} to {last}"
    return {"dagster/partition": newest_key()}, f"daily_refresh of {newest_key()}"


def _run(settings, start: str | None = None, end: str | None = None) -> int:
    from orchestration.lib.runs import fail_dead_runs, run_daily_refresh, use_instance
    from orchestration.lib.warehouse import WarehousePathError, announce_waits_to, check_writable
    from orchestration.summary import report

    label = "SYNTHETIC demo data" if settings.is_synthetic else f"source {settings.source}"
    try:  # what every step would fail on, said once, before a run starts
        check_writable(settings.warehouse)
        load_catalog()
    except (WarehousePathError, CatalogError) as exc:
        print(f"lockstep: {exc}", file=sys.stderr)
        return 2
    use_instance(say=lambda line: print(f"lockstep: {line}", flush=True))
    try:
        partition_tags, what = _partitions(_instance, settings, start, end)
    except ValueError as exc:
        print(f"lockstep: {exc}", file=sys.stderr)
        return 2
    instance = _instance()
    for dead in fail_dead_runs(instance, "`make run`"):
        print(f"lockstep: {dead.line()}", flush=True)
    verbose = settings.verbose
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    log_file = None if verbose else settings.state_dir / "logs" / f"run-{stamp}.log"
    print(_run_header(what, label, settings, log_file), flush=True)
    started = time.monotonic()
    tags = {"lockstep/trigger": "make backfill" if start or end else "make run",
            "lockstep/source": settings.source, "lockstep/engine": settings.engine,
            **partition_tags}
    run_config = {
        "loggers": {"console": {"config": {"log_level": "INFO" if verbose else "WARNING"}}},
    }
    # a wait for the warehouse is said on the terminal too, not only in the log file
    announce_waits_to(sys.stderr if log_file else None)
    try:
        with _output_to(log_file):
            result = run_daily_refresh(instance, run_config, tags)
    finally:
        announce_waits_to(None)
    elapsed = time.monotonic() - started
    log = str(log_file) if log_file else None
    if not result.success:
        summary, _ = report(result.all_events, elapsed, result.run_id, False, log)
        print(summary, file=sys.stderr)
        return 1
    others = []
    if _print_snapshot(settings) != 0:
        others.append("the snapshot could not be read (the message above)")
    elif settings.is_synthetic:
        from orchestration.sources.demo.client import STORY_DATE

        print(f"\nThe demo brief for {STORY_DATE}, the day the synthetic story is about "
              f"(`make brief DATE=...` for any other day):\n", flush=True)
        if _print_brief(settings, STORY_DATE) != 0:
            others.append(f"the demo brief for {STORY_DATE} could not be read (the message "
                          f"above)")
    summary, problems = report(result.all_events, elapsed, result.run_id, True, log, others)
    print("\n" + summary, flush=True)
    # the marts were rebuilt, but something was held back: say so to cron too
    return 1 if problems else 0


def _docs(settings, port: int, serve: bool) -> int:
    """`dbt docs generate` against a copy of the warehouse (taken under lockstep's writer
    lock, so a refresh is never blocked by the docs and the docs never see a half-built
    file), then `dbt docs serve` on 127.0.0.1 only."""
    import shutil
    import subprocess

    from orchestration.lib.warehouse import writer_lock
    from orchestration.project import lockstep_dbt_project
    from orchestration.settings import child_environment, dbt_executable

    if not settings.warehouse.exists():
        print(f"lockstep: no warehouse at {settings.warehouse}: run `make run` (or `make demo`) "
              f"first", file=sys.stderr)
        return 1
    project = lockstep_dbt_project.project_dir
    target = project / "target" / "docs"
    copy = target / "warehouse" / settings.warehouse.name  # same name: same dbt database
    copy.parent.mkdir(parents=True, exist_ok=True)
    with writer_lock(settings.warehouse):
        shutil.copyfile(settings.warehouse, copy)
    dbt = str(dbt_executable())
    env = child_environment(LOCKSTEP_WAREHOUSE=str(copy))
    common = ["--profiles-dir", str(project), "--target-path", str(target), "--quiet"]
    print(f"lockstep: generating dbt's docs of {settings.warehouse} into {target}")
    made = subprocess.run([dbt, "docs", "generate", *common], cwd=project, env=env)
    if made.returncode != 0:
        print("lockstep: dbt docs generate failed (its output is above)", file=sys.stderr)
        return made.returncode
    if not serve:
        return 0
    print(f"lockstep: dbt docs on http://127.0.0.1:{port} (Ctrl-C stops it)", flush=True)
    # this process becomes the server: stopping it (Ctrl-C, a signal) stops the server,
    # never leaving a dbt docs server behind. An ignored signal stays ignored across exec,
    # and whoever started this process may ignore SIGTERM (seen once in a test session: the
    # server outlived the test's SIGTERM), so both are reset to their default first.
    import signal

    for stop in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop, signal.SIG_DFL)
    os.chdir(project)
    os.execve(dbt, [dbt, "docs", "serve", *common, "--host", "127.0.0.1", "--port", str(port),
                    "--no-browser"], env)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["dagster"]:
        return _dagster(argv[1:])
    parser = argparse.ArgumentParser(prog="lockstep")
    parser.add_argument("command", choices=["run", "snapshot", "brief", "demo-data", "docs"])
    parser.add_argument("--port", type=int, default=8080, help="docs only: the port")
    parser.add_argument("--no-serve", action="store_true",
                        help="docs only: generate, do not serve")
    parser.add_argument("--start", help="backfill from the year of this ISO date (run only)")
    parser.add_argument("--end", help="backfill up to the year of this ISO date (run only)")
    parser.add_argument("--date", help="the brief's date, ISO (brief only; default: latest)")
    args = parser.parse_args(argv)
    for value in (args.start, args.end, args.date):
        if value:
            try:
                date.fromisoformat(value)
            except ValueError:
                print(f"lockstep: {value!r} is not an ISO date (YYYY-MM-DD)", file=sys.stderr)
                return 2
    if args.start and args.end and args.end < args.start:
        print(f"lockstep: the backfill's end {args.end} is before {args.start}", file=sys.stderr)
        return 2
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"lockstep: {exc}", file=sys.stderr)
        return 2
    if args.command == "demo-data":
        _demo_data(settings)
        return 0
    if args.command == "snapshot":
        return _print_snapshot(settings)
    if args.command == "docs":
        return _docs(settings, args.port, serve=not args.no_serve)
    if args.command == "brief":
        return _print_brief(settings, date.fromisoformat(args.date) if args.date else None)
    return _run(settings, args.start or None, args.end or None)


if __name__ == "__main__":
    sys.exit(main())
