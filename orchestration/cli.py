"""Command line behind the Makefile.

    python -m orchestration.cli run        materialize every asset (job daily_refresh) in the
                                           persistent Dagster instance, then print the snapshot
    python -m orchestration.cli snapshot   print the market snapshot only
    python -m orchestration.cli demo-data  (re)generate the synthetic demo directory
"""

from __future__ import annotations

import argparse
import sys
import time

from orchestration.catalog import load_catalog
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


def _demo_data(settings) -> None:
    from orchestration.sources.demo import generate_demo_data

    summary = generate_demo_data(settings.demo_dir, load_catalog())
    print(
        f"lockstep: SYNTHETIC demo data written to {settings.demo_dir} "
        f"({summary['rows']['market']} market rows, {summary['rows']['fred']} FRED rows, "
        f"{summary['start']} to {summary['end']})"
    )


def _run(settings) -> int:
    import dagster as dg

    from orchestration.definitions import defs

    instance = dg.DagsterInstance.get()  # DAGSTER_HOME: the same instance `make dev` shows
    job = defs.resolve_job_def("daily_refresh")
    label = "SYNTHETIC demo data" if settings.is_synthetic else f"source {settings.source}"
    print(f"lockstep: running daily_refresh on {label} into {settings.warehouse}", flush=True)
    started = time.monotonic()
    result = job.execute_in_process(
        instance=instance,
        raise_on_error=False,
        tags={"lockstep/trigger": "make run", "lockstep/source": settings.source},
        run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
    )
    elapsed = time.monotonic() - started
    if not result.success:
        print(f"lockstep: run {result.run_id} FAILED after {elapsed:.1f} s; see `make dev` "
              f"(Runs) or the errors above", file=sys.stderr)
        for event in result.all_events:
            if event.is_step_failure:
                error = event.step_failure_data.error
                while error is not None and error.cause is not None:
                    error = error.cause  # the error our code raised, not Dagster's wrapper
                message = error.message.strip() if error is not None else "unknown error"
                print(f"  {event.step_key}: {message}", file=sys.stderr)
        return 1
    print(f"lockstep: run {result.run_id} succeeded in {elapsed:.1f} s", flush=True)
    return _print_snapshot(settings)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lockstep")
    parser.add_argument("command", choices=["run", "snapshot", "demo-data"])
    args = parser.parse_args(argv)
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
    return _run(settings)


if __name__ == "__main__":
    sys.exit(main())
