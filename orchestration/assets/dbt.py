"""dbt models as Dagster assets (staging -> marts), built with `dbt build` so dbt's tests
run with the models and show up as asset checks."""


import os
from collections.abc import Mapping
from contextlib import contextmanager
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    dbt_assets,
)

from orchestration.lib.warehouse import writer_lock
from orchestration.project import lockstep_dbt_project
from orchestration.resources import LockstepResource


class LockstepTranslator(DagsterDbtTranslator):
    """Groups follow the dbt folder (staging, intermediate, marts); sources keep their
    default keys, which are the raw assets' keys (raw/market_prices, ...)."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn") or []
        if dbt_resource_props.get("resource_type") == "model" and len(fqn) > 2:
            return fqn[1]
        return super().get_group_name(dbt_resource_props)


@contextmanager
def _environ(**values: str):
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@dbt_assets(
    manifest=lockstep_dbt_project.manifest_path,
    project=lockstep_dbt_project,
    dagster_dbt_translator=LockstepTranslator(
        settings=DagsterDbtTranslatorSettings(enable_asset_checks=True)
    ),
)
def lockstep_dbt_assets(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, lockstep: LockstepResource
):
    settings = lockstep.settings()
    # dbt reads the warehouse path from LOCKSTEP_WAREHOUSE (dbt_project/profiles.yml)
    with _environ(
        LOCKSTEP_WAREHOUSE=str(settings.warehouse), DBT_SEND_ANONYMOUS_USAGE_STATS="false"
    ):
        with writer_lock(settings.warehouse, log=context.log.info):
            yield from dbt.cli(["build"], context=context).stream()
