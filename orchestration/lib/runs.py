"""Run the daily_refresh job in this process, as a run the Dagster UI lists under the job.

`job.execute_in_process` (and `dagster job execute`) create runs without a code-location
origin: the UI shows them on the Runs page but not on the job's page or the overview
timeline, and cannot re-execute them. Here the run is created with the origin of the code
location `workspace.yaml` declares (module orchestration.definitions, location `lockstep`),
so `make run` runs sit next to the runs the UI and the schedules launch, and re-execute from
the UI like them. It still executes in this process (no daemon needed).

This uses Dagster's run-creation internals (dagster 1.13, pinned below 1.14 in
pyproject.toml); tests/test_cli.py checks the runs it makes appear where the UI looks.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping

from orchestration.settings import PROJECT_ROOT

MODULE = "orchestration.definitions"
ATTRIBUTE = "defs"
LOCATION = "lockstep"  # workspace.yaml's location_name
REPOSITORY = "__repository__"  # the repository Dagster builds from a Definitions object
JOB = "daily_refresh"


def run_daily_refresh(instance, run_config: Mapping, tags: Mapping[str, str]):
    """Create and execute one daily_refresh run; returns its ExecutionResult."""
    from dagster._core.definitions.reconstruct import ReconstructableRepository
    from dagster._core.execution.api import execute_run
    from dagster._core.remote_origin import (
        ManagedGrpcPythonEnvCodeLocationOrigin,
        RemoteJobOrigin,
        RemoteRepositoryOrigin,
    )
    from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

    recon_job = ReconstructableRepository.for_module(
        MODULE, ATTRIBUTE, working_directory=str(PROJECT_ROOT)
    ).get_reconstructable_job(JOB)
    job_def = recon_job.get_definition()
    location = ManagedGrpcPythonEnvCodeLocationOrigin(
        loadable_target_origin=LoadableTargetOrigin(
            executable_path=sys.executable, module_name=MODULE,
            working_directory=str(PROJECT_ROOT)),
        location_name=LOCATION)
    origin = RemoteJobOrigin(
        repository_origin=RemoteRepositoryOrigin(code_location_origin=location,
                                                 repository_name=REPOSITORY),
        job_name=JOB)
    run = instance.create_run_for_job(
        job_def=job_def, run_config=run_config, tags={**job_def.tags, **tags},
        remote_job_origin=origin, job_code_origin=recon_job.get_python_origin())
    return execute_run(recon_job, run, instance, raise_on_error=False)
