"""Dagster resources: lockstep's settings and the dbt CLI."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource

from orchestration.project import lockstep_dbt_project
from orchestration.settings import Settings, load_settings


class LockstepResource(dg.ConfigurableResource):
    """Which source to read and where the warehouse is.

    Every field defaults to the environment (LOCKSTEP_SOURCE, LOCKSTEP_DATA_DIR,
    LOCKSTEP_WAREHOUSE, LOCKSTEP_STATE_DIR), read when a run starts. Fields set here win.
    The endpoint overrides send the live clients somewhere other than Yahoo and FRED
    (tests point them at local servers). FRED_API_KEY is never a field: the FRED client
    reads it from the environment, so it never reaches run config.
    """

    source: str | None = None
    data_dir: str | None = None
    warehouse: str | None = None
    state_dir: str | None = None
    yahoo_endpoint: str | None = None
    fred_endpoint: str | None = None

    def settings(self) -> Settings:
        env = dict(os.environ)
        for name, value in (
            ("LOCKSTEP_SOURCE", self.source),
            ("LOCKSTEP_DATA_DIR", self.data_dir),
            ("LOCKSTEP_WAREHOUSE", self.warehouse),
            ("LOCKSTEP_STATE_DIR", self.state_dir),
        ):
            if value:
                env[name] = value
        return load_settings(env)


def _dbt_executable() -> str:
    """The dbt of this environment (next to its python), so PATH need not include it."""
    beside = Path(sys.executable).with_name("dbt")
    return str(beside) if beside.exists() else "dbt"


def dbt_resource() -> DbtCliResource:
    return DbtCliResource(
        dbt_executable=_dbt_executable(),
        project_dir=lockstep_dbt_project,
        profiles_dir=str(lockstep_dbt_project.profiles_dir),
    )
