"""The dbt project as Dagster sees it. The manifest is prepared ahead (make manifest runs
`dbt parse`), so loading the code location never runs dbt."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from dagster_dbt import DbtProject

from orchestration.settings import PROJECT_ROOT

DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"

lockstep_dbt_project = DbtProject(
    project_dir=DBT_PROJECT_DIR,
    profiles_dir=DBT_PROJECT_DIR,
)


@cache
def dbt_manifest() -> dict[str, Any]:
    """The prepared manifest, parsed once per process: the dbt assets, the dashboard's
    exposure and the dbt version all come from it."""
    return json.loads(lockstep_dbt_project.manifest_path.read_text())


def mart_date_columns(manifest: dict[str, Any] | None = None) -> dict[str, str | None]:
    """Each dbt model's date column as its YAML declares it (`config: meta: date_column:`;
    null: a model with no date of its own), by model name: what the publish step splits and
    compares a mart's rows by, and the date range the UI shows. Models that declare nothing
    are left out."""
    manifest = dbt_manifest() if manifest is None else manifest
    return {node["name"]: node["config"]["meta"]["date_column"]
            for node in manifest["nodes"].values()
            if node["resource_type"] == "model"
            and "date_column" in (node["config"].get("meta") or {})}
