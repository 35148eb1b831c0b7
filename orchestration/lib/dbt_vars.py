"""The dbt project's vars (dbt_project/dbt_project.yml), read by Python where a threshold or
a unit is needed outside dbt: each setting has its one home there, with its reason.

Only the project file's defaults are read; a run that overrides a var with `dbt --vars` is
not seen here (lockstep never does).
"""

from __future__ import annotations

from functools import cache
from typing import Any

import yaml

from orchestration.settings import PROJECT_ROOT

DBT_PROJECT_FILE = PROJECT_ROOT / "dbt_project" / "dbt_project.yml"


@cache
def dbt_vars() -> dict[str, Any]:
    return yaml.safe_load(DBT_PROJECT_FILE.read_text())["vars"]


def dbt_var(name: str) -> Any:
    try:
        return dbt_vars()[name]
    except KeyError:
        raise KeyError(f"{DBT_PROJECT_FILE} declares no var {name!r}") from None


def fred_units() -> dict[str, dict[str, Any]]:
    """{FRED unit: {converts_to, divide_by, sane_min, sane_max}}."""
    return dbt_var("fred_units")
