"""The sensor that keeps the run queue moving: runs whose process died are marked failed.

With `max_concurrent_runs: 1` (orchestration/dagster_instance.yaml) the daemon launches a
queued run only when no other run is in progress. A run whose process was killed (SIGKILL, the
out-of-memory killer, a reboot) stays STARTED for ever, and every later run of the UI and of
the schedules would wait behind it. Dagster's run monitoring cannot see `make run`'s runs (they
run inside the `make run` process, not in a worker the daemon launched), nor a launched run
whose code server died with it. This sensor, which the daemon of `make dev` evaluates, marks
them failed with the reason: the same function `make run` calls before each run
(orchestration/lib/runs.py, `fail_dead_runs`). It starts running; it launches nothing.
"""

from __future__ import annotations

import dagster as dg

INTERVAL_S = 30


@dg.sensor(
    name="lockstep_dead_runs", minimum_interval_seconds=INTERVAL_S,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Marks a run failed when the process that ran it is gone (killed, out of memory, a "
        "reboot), so the queue never waits on a dead run. Launches nothing."),
)
def dead_runs(context: dg.SensorEvaluationContext):
    from orchestration.lib.runs import fail_dead_runs

    dead = fail_dead_runs(context.instance, "the lockstep_dead_runs sensor")
    for run in dead:
        context.log.warning(run.line())
    return dg.SkipReason(
        "; ".join(run.line() for run in dead) if dead
        else "no run whose process is gone")
