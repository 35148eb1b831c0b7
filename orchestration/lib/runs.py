"""lockstep's runs in the Dagster instance: the warehouse's own instance, `make run`'s runs,
and the runs whose process died.

The instance. Each warehouse has its own (orchestration/settings.py, `dagster_home`), so the
runs, partitions and briefs of one warehouse never show in another's UI. `use_instance`
points DAGSTER_HOME at it and writes its dagster.yaml from orchestration/dagster_instance.yaml.

`make run`'s runs. `run_daily_refresh` creates the run with the origin of the code location
`workspace.yaml` declares (module orchestration.definitions, location `lockstep`), so `make run`
runs sit next to the runs the UI and the schedules launch, and re-execute from the UI like
them; it still executes in this process (no daemon needed). Dagster has no public API for it:
orchestration/lib/dagster_private.py wraps the internals it takes.

Dead runs. A run whose process is killed (SIGKILL, the out-of-memory killer, a reboot) never
records its end: Dagster keeps it STARTED for ever, and with `max_concurrent_runs: 1` the
queue then waits on it for ever. Every lockstep run carries the process that runs it as tags
(`worker_tags`: PID, host, the process's start time, so a PID reused by another process is
not mistaken for it): `make run`'s from its creation, the launched ones' from the moment
their worker sets up lockstep's resource. `fail_dead_runs` marks the runs whose process is
gone as failed, with the reason; `make run` calls it before each run, and the daemon through
the `lockstep_dead_runs` sensor (orchestration/sensors.py). Dagster's own run monitoring
(dagster_instance.yaml) covers the runs that never started; its worker health check does not
exist for the DefaultRunLauncher `make dev` uses.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from orchestration.settings import (
    PROJECT_ROOT,
    dagster_home,
    export,
    is_default_warehouse,
    state_dir,
    warehouse_path,
)

MODULE = "orchestration.definitions"
ATTRIBUTE = "defs"
LOCATION = "lockstep"  # workspace.yaml's location_name
REPOSITORY = "__repository__"  # the repository Dagster builds from a Definitions object
JOB = "daily_refresh"
INSTANCE_YAML = PROJECT_ROOT / "orchestration" / "dagster_instance.yaml"

WORKER_RUN = "lockstep/worker_run"  # the run they describe: a re-execution copies tags
WORKER_PID = "lockstep/worker_pid"
WORKER_HOST = "lockstep/worker_host"
WORKER_STARTED = "lockstep/worker_started"  # the process's start, seconds since the epoch
# a process whose start time differs by more than this from the recorded one is another
# process that reuses the PID (the start time is read from the kernel's clock ticks since
# boot, so the same process reads the same to within a tick)
SAME_PROCESS_S = 1.0


def use_instance(env: Mapping[str, str] | None = None, say=None) -> Path:
    """Point DAGSTER_HOME (of this process and of what it starts) at the warehouse's
    instance and make sure it has its dagster.yaml; returns the instance's directory.

    The derived home's dagster.yaml follows orchestration/dagster_instance.yaml (copied when
    missing or older); a DAGSTER_HOME the user set only gets one when it has none. The one
    instance every warehouse shared before (<state dir>/dagster_home) becomes the default
    warehouse's, moved once (`say` is told), so its history and partitions stay."""
    home, explicit = dagster_home(env)
    shared = state_dir(env) / "dagster_home"
    if (not explicit and not home.exists() and shared.is_dir()
            and is_default_warehouse(warehouse_path(env))):
        home.parent.mkdir(parents=True, exist_ok=True)
        shared.rename(home)
        if say is not None:
            say(f"the Dagster instance {shared}, which every warehouse shared, is now the "
                f"default warehouse's own: moved to {home} (other warehouses get their own)")
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists() or (not explicit and
                               config.stat().st_mtime < INSTANCE_YAML.stat().st_mtime):
        shutil.copyfile(INSTANCE_YAML, config)
    export(DAGSTER_HOME=str(home))
    return home


def run_daily_refresh(instance, run_config: Mapping, tags: Mapping[str, str]):
    """Create and execute one daily_refresh run with the code location's origin (so it shows
    and re-executes in the UI like the runs the UI launches); returns its ExecutionResult."""
    from orchestration.lib.dagster_private import execute_run_with_origin

    run_id = str(uuid.uuid4())
    return execute_run_with_origin(
        instance, module=MODULE, attribute=ATTRIBUTE, job=JOB, location=LOCATION,
        repository=REPOSITORY, run_config=run_config, run_id=run_id,
        tags={**tags, **worker_tags(run_id)})  # this process runs it


@dataclass(frozen=True)
class Worker:
    """The process that runs a run."""

    pid: int
    host: str
    started: float  # seconds since the epoch

    def describe(self) -> str:
        when = datetime.fromtimestamp(self.started, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        return f"PID {self.pid} on {self.host}, started {when}"


def worker_tags(run_id: str) -> dict[str, str]:
    """The tags of run `run_id` that name this process as the one running it."""
    import socket

    import psutil

    process = psutil.Process(os.getpid())
    return {WORKER_RUN: run_id, WORKER_PID: str(process.pid), WORKER_HOST: socket.gethostname(),
            WORKER_STARTED: f"{process.create_time():.2f}"}


def record_worker(instance, run) -> None:
    """Tag a launched run (the UI's, a schedule's) with the process running it: this one."""
    worker = worker_of(run)
    if worker is None or worker.pid != os.getpid():
        from orchestration.lib.dagster_private import add_run_tags

        add_run_tags(instance, run.run_id, worker_tags(run.run_id))


def worker_of(run) -> Worker | None:
    """The process a run's tags name, if they were written for this run (a re-executed run
    starts with its parent's tags until its own worker records itself)."""
    tags = run.tags
    if tags.get(WORKER_RUN) != run.run_id:
        return None
    try:
        return Worker(int(tags[WORKER_PID]), tags[WORKER_HOST], float(tags[WORKER_STARTED]))
    except (KeyError, ValueError):
        return None


def is_gone(worker: Worker) -> bool | None:
    """True when the worker's process no longer runs (no such PID, a zombie, or the PID now
    belongs to a process that started at another time: after a reboot, or reused); None
    when this machine cannot tell (the run is on another host)."""
    import socket

    import psutil

    if worker.host != socket.gethostname():
        return None
    try:
        process = psutil.Process(worker.pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return True
        return abs(process.create_time() - worker.started) > SAME_PROCESS_S
    except psutil.NoSuchProcess:
        return True
    except psutil.AccessDenied:  # it exists, owned by someone else: the same start time?
        return False


@dataclass(frozen=True)
class DeadRun:
    run_id: str
    trigger: str
    worker: Worker

    def line(self) -> str:
        """What the terminal says about it."""
        return (f"run {self.run_id[:8]} ({self.trigger}) was still marked as running, but its "
                f"process is gone ({self.worker.describe()}): it was killed (SIGKILL, out of "
                f"memory, a reboot). Marked it failed.")


def fail_dead_runs(instance, marked_by: str) -> list[DeadRun]:
    """Mark every unfinished run of the instance whose process is gone as failed, with the
    reason (the run's failure event: the UI's run page shows it). Returns those runs."""
    from dagster import DagsterRunStatus, RunsFilter

    from orchestration.lib.dagster_private import report_run_killed

    unfinished = [DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING,
                  DagsterRunStatus.STARTED]
    dead: list[DeadRun] = []
    for record in instance.get_run_records(RunsFilter(statuses=unfinished)):
        worker = worker_of(record.dagster_run)
        if worker is None or is_gone(worker) is not True:
            continue
        run = instance.get_run_by_id(record.dagster_run.run_id)
        if run is None or run.status not in unfinished:
            continue  # it ended while we looked
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        reason = (f"The process running this run is gone ({worker.describe()}): it was "
                  f"killed (SIGKILL, the out-of-memory killer, a reboot) before it could "
                  f"record its end. Marked failed by {marked_by} at {now}. Each load "
                  f"commits whole or not at all, so the warehouse holds what committed "
                  f"before; the next run completes the rest.")
        report_run_killed(instance, run, reason)
        dead.append(DeadRun(run.run_id, run.tags.get("lockstep/trigger", "?"), worker))
    return dead
