"""lockstep's data sources, one folder each, found by looking (`definitions.py` asks here).

A source folder holds everything about one source:

    client.py      talks to the source (HTTP, files, a library), returns a FetchResult
    tables.py      DDL of the raw tables it writes (`DDL`), and their TableSpec
    validation.py  what makes a row unfit to store, named per symbol/series
    assets.py      its Dagster assets (and their `*_all_loaded` checks); a dict `resources`
                   there adds the source's own Dagster resources (settings of its client)
    checks.py      its data-quality checks on its raw tables

Only client.py is required: `files` and `demo` have no assets of their own, they stand in
for Yahoo and FRED when LOCKSTEP_SOURCE says so. Adding a source is a new folder here, its
entry in orchestration/catalog.yaml and a staging model in dbt_project/models/staging/
<source>/ (docs/adding-a-source.md). The flow stays one-way: sources -> raw -> dbt ->
publish -> BI.
"""

from __future__ import annotations

import importlib
import pkgutil
from importlib.util import find_spec

# nothing heavy here: the code location imports this package when it loads, and pandas
# (orchestration/sources/base.py) is imported only where a step runs

__all__ = ["source_names", "source_definitions", "raw_ddl"]


def source_names() -> list[str]:
    """Every source folder, in name order."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if m.ispkg)


def _module(source: str, name: str):
    full = f"{__name__}.{source}.{name}"
    return importlib.import_module(full) if find_spec(full) else None


def source_definitions():
    """The assets and asset checks of every source folder (its assets.py and checks.py)."""
    import dagster as dg

    modules = [m for s in source_names() for m in (_module(s, "assets"), _module(s, "checks"))
               if m is not None]
    resources = {k: v for m in modules for k, v in getattr(m, "resources", {}).items()}
    return dg.Definitions(assets=dg.load_assets_from_modules(modules),
                          asset_checks=dg.load_asset_checks_from_modules(modules),
                          resources=resources)


def raw_ddl() -> list[str]:
    """The DDL of every source's raw tables (its tables.py), for ensure_raw_schema."""
    return [ddl for s in source_names() if (m := _module(s, "tables")) for ddl in m.DDL]
