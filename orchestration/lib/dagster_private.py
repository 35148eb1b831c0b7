"""What lockstep needs from Dagster and dagster-dbt that they do not make public, in one
module; nothing else in orchestration/ or dashboard/ imports `dagster._...` or touches a
private attribute of theirs (tests/test_imports.py checks it).

Each use is here because no public API does it:

- `execute_run_with_origin`: `make run`'s runs. `job.execute_in_process` (and `dagster job
  execute`) create runs without a code-location origin: the UI shows them on the Runs page but
  not on the job's page or the overview timeline, and cannot re-execute them. This creates the
  run with the origin of the code location workspace.yaml declares, so `make run` runs sit
  next to the runs the UI and the schedules launch and re-execute from the UI like them, and
  executes it in this process (no daemon needed).
- `add_run_tags`, `report_run_killed`: naming the process that runs a run, and failing a run
  whose process died with the reason Dagster's own run monitoring gives
  (orchestration/lib/runs.py, "Dead runs").
- `LockstepDbtCliResource`: DbtCliResource without two start-up costs lockstep does not need.
  dagster-dbt runs `dbt --version` in a subprocess on every run to learn the version (seconds
  of every run); the prepared manifest records the version of the dbt that parsed it, which is
  the dbt of .venv-dbt that runs the build. And it opens a dbt adapter inside the Dagster
  process, used only to fetch row counts and column metadata, which lockstep does not request;
  dbt-core is not importable in the Dagster environment, so the stock hook logs a warning
  with a traceback on every run. dagster-dbt has no public setting for either; these override
  its hooks `_cli_version` and `_initialize_dbt_core_adapter`.

They were written against the versions pyproject.toml pins; importing this module checks that
the installed dagster and dagster-dbt are within those pins and fails with a clear error
otherwise (a newer Dagster may have moved what this relies on). Behaviour tests:
tests/test_cli.py (the runs `make run` makes appear where the UI looks), tests/test_operations.py
(dead runs failed with their reason), tests/test_definitions.py (a real build: no probe, the
installed version used, events parsed, no adapter error).
"""

from __future__ import annotations

import importlib.metadata
import sys
import tomllib
import uuid
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path

from dagster_dbt import DbtCliResource
from packaging import version
from packaging.requirements import Requirement

from orchestration.settings import PROJECT_ROOT

WRAPPED = ("dagster", "dagster-dbt")


class DagsterVersionError(RuntimeError):
    """The installed Dagster or dagster-dbt is not the version this module was written for."""


def pinned(pyproject: Path = PROJECT_ROOT / "pyproject.toml") -> dict[str, Requirement]:
    """The pins of the wrapped packages in pyproject.toml's dependencies."""
    dependencies = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    pins = {r.name: r for r in map(Requirement, dependencies) if r.name in WRAPPED}
    missing = sorted(set(WRAPPED) - set(pins))
    if missing:
        raise DagsterVersionError(f"{pyproject} pins no version of {', '.join(missing)}")
    return pins


def check_versions(installed: Mapping[str, str] | None = None,
                   pins: Mapping[str, Requirement] | None = None) -> None:
    """Raise DagsterVersionError unless every wrapped package's installed version (default:
    what is installed) is within its pin."""
    pins = pinned() if pins is None else pins
    for name, pin in pins.items():
        found = (installed or {}).get(name) or importlib.metadata.version(name)
        if not pin.specifier.contains(found, prereleases=True):
            raise DagsterVersionError(
                f"{name} {found} is installed, but orchestration/lib/dagster_private.py uses "
                f"its private API as of {pin} (pyproject.toml): install the pinned version "
                f"(`make setup`), or check each use in that module against {name} {found} and "
                f"then move the pin")


check_versions()


# ------------------------------------------------------------------------------------ runs
def execute_run_with_origin(instance, *, module: str, attribute: str, job: str, location: str,
                            repository: str, run_config: Mapping, tags: Mapping[str, str],
                            run_id: str | None = None):
    """Create a run of `job` (of the Definitions `attribute` of `module`) with the origin of
    the code location `location`, and execute it in this process; returns its
    ExecutionResult. The job's own tags come first, then `tags`."""
    from dagster._core.definitions.reconstruct import ReconstructableRepository
    from dagster._core.execution.api import execute_run
    from dagster._core.remote_origin import (
        ManagedGrpcPythonEnvCodeLocationOrigin,
        RemoteJobOrigin,
        RemoteRepositoryOrigin,
    )
    from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

    recon_job = ReconstructableRepository.for_module(
        module, attribute, working_directory=str(PROJECT_ROOT)
    ).get_reconstructable_job(job)
    job_def = recon_job.get_definition()
    code_location = ManagedGrpcPythonEnvCodeLocationOrigin(
        loadable_target_origin=LoadableTargetOrigin(
            executable_path=sys.executable, module_name=module,
            working_directory=str(PROJECT_ROOT)),
        location_name=location)
    origin = RemoteJobOrigin(
        repository_origin=RemoteRepositoryOrigin(code_location_origin=code_location,
                                                 repository_name=repository),
        job_name=job)
    run = instance.create_run_for_job(
        job_def=job_def, run_id=run_id or str(uuid.uuid4()), run_config=run_config,
        tags={**job_def.tags, **tags}, remote_job_origin=origin,
        job_code_origin=recon_job.get_python_origin())
    return execute_run(recon_job, run, instance, raise_on_error=False)


def add_run_tags(instance, run_id: str, tags: Mapping[str, str]) -> None:
    instance.add_run_tags(run_id, tags)


def report_run_killed(instance, run, reason: str) -> None:
    """Mark `run` failed because its process was killed, with `reason` (the run page shows
    it), as Dagster's run monitoring reports a worker that died."""
    from dagster._core.events import JobFailureData, RunFailureReason

    instance.report_run_failed(run, reason, JobFailureData(
        error=None, failure_reason=RunFailureReason.UNEXPECTED_TERMINATION))


# ------------------------------------------------------------------------------------- dbt
class LockstepDbtCliResource(DbtCliResource):
    """DbtCliResource whose dbt version is the prepared manifest's and which opens no dbt
    adapter in the Dagster process (module docstring)."""

    @cached_property
    def _cli_version(self) -> version.Version:
        from orchestration.project import dbt_manifest

        return version.parse(dbt_manifest()["metadata"]["dbt_version"])

    def _initialize_dbt_core_adapter(self, args):  # noqa: ARG002 - same signature as the base
        return None
