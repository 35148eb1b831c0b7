"""Dagster resources: lockstep's settings and the dbt CLI."""

from __future__ import annotations

import dagster as dg
from dagster_dbt import DbtCliResource
from pydantic import PrivateAttr

from orchestration.lib.dagster_private import LockstepDbtCliResource
from orchestration.lib.retry import Backoff
from orchestration.project import lockstep_dbt_project
from orchestration.settings import Settings, dbt_executable, load_settings


class LockstepResource(dg.ConfigurableResource):
    """How lockstep's steps reach their sources; where things are comes from elsewhere.

    Which source runs and where the warehouse, the data directory and the local state are
    is the environment's to say (LOCKSTEP_SOURCE, LOCKSTEP_DATA_DIR, LOCKSTEP_WAREHOUSE,
    LOCKSTEP_STATE_DIR; orchestration/settings.py): read once, when the run starts
    (`settings()`), and handed from there to every step of the run and to dbt. They are not
    fields here, so a run's config can never point one step at another warehouse than the
    rest. The endpoint overrides send the live clients somewhere other than Yahoo and FRED
    (tests point them at local servers). FRED_API_KEY is never a field: the FRED client
    reads it from the environment, so it never reaches run config.
    """

    yahoo_endpoint: str | None = None
    fred_endpoint: str | None = None
    # live sources: per-request timeout, and retries with exponential backoff and jitter
    request_timeout_s: float = 30.0
    retry_attempts: int = 5
    retry_base_delay_s: float = 2.0
    retry_deadline_s: float = 300.0
    # FRED asks clients to stay near 2 requests per second
    fred_requests_per_s: float = 2.0
    # a rate-limit episode that outlasts the client's retries: Dagster retries the whole
    # ingestion step this many times, waiting wait_s, then 2x, 4x ... (with jitter)
    rate_limit_step_retries: int = 3
    rate_limit_step_wait_s: float = 300.0

    _settings: Settings | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._settings = load_settings()
        if context.instance is not None and context.run is not None:
            from orchestration.lib.runs import record_worker

            # a run the daemon launched names its process, so a dead one is found
            # (orchestration/lib/runs.py, "Dead runs"); `make run`'s runs already do
            record_worker(context.instance, context.run)

    def backoff(self) -> Backoff:
        return Backoff(attempts=self.retry_attempts, base_delay_s=self.retry_base_delay_s,
                       deadline_s=self.retry_deadline_s)

    def settings(self) -> Settings:
        """The run's settings, read from the environment once when the run starts."""
        if self._settings is None:
            self._settings = load_settings()
        return self._settings


def dbt_resource() -> DbtCliResource:
    return LockstepDbtCliResource(
        dbt_executable=str(dbt_executable()),
        project_dir=lockstep_dbt_project,
        profiles_dir=str(lockstep_dbt_project.profiles_dir),
    )
