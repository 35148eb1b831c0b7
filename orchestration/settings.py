"""Where things live and which source runs, read from the environment (see README, Configuration).

LOCKSTEP_SOURCE     demo | files | live            (default: demo, synthetic and labelled so)
LOCKSTEP_DATA_DIR   directory read by the files source
LOCKSTEP_CATALOG    the catalog file (default: orchestration/catalog.yaml; read in catalog.py)
LOCKSTEP_WAREHOUSE  DuckDB path                     (default: warehouse/lockstep.duckdb)
LOCKSTEP_CREATE_DIRS 1: create the warehouse's directory when it does not exist (default: only
                    the default warehouse's; orchestration/lib/warehouse.py)
LOCKSTEP_STATE_DIR  local state: each warehouse's Dagster home, demo data, yfinance cache
                    (default: .lockstep/)
DAGSTER_HOME        the Dagster instance (default: one per warehouse, derived from its path:
                    <state dir>/warehouses/<stem>-<hash>/dagster_home; set, it wins)
LOCKSTEP_PUBLISH_DIR where the published marts go (default: <warehouse dir>/published)
LOCKSTEP_FULL_REFRESH  1: this run rebuilds dbt's incremental models whole (default: only
                    what changed; README, "Incremental marts")
LOCKSTEP_DUCKDB_MEMORY_LIMIT  DuckDB's memory_limit, lockstep's connections and dbt's
                    (default 60%; read in orchestration/lib/warehouse.py)
LOCKSTEP_DBT        the dbt executable (default: .venv-dbt/bin/dbt, the environment make builds)
FRED_API_KEY        live FRED only; read when the FRED client is built, never logged or stored
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("demo", "files", "live")
DEFAULT_WAREHOUSE = "warehouse/lockstep.duckdb"  # relative to PROJECT_ROOT
DEFAULT_STATE_DIR = ".lockstep"


class SettingsError(ValueError):
    """A setting from the environment is missing or invalid; the message names the variable."""


def _path(value: str) -> Path:
    p = Path(value).expanduser()
    return p if p.is_absolute() else (PROJECT_ROOT / p)


@dataclass(frozen=True)
class Settings:
    source: str
    warehouse: Path
    state_dir: Path
    data_dir: Path | None
    publish_dir: Path
    full_refresh: bool = False

    @property
    def demo_dir(self) -> Path:
        return self.state_dir / "demo_data"

    @property
    def yfinance_cache_dir(self) -> Path:
        return self.state_dir / "yfinance"

    @property
    def is_synthetic(self) -> bool:
        return self.source == "demo"

    @property
    def warehouse_state_dir(self) -> Path:
        """State that belongs to one warehouse (its UI chart, its Dagster instance), never
        shared with another: .lockstep/warehouses/<file stem>-<hash of its absolute path>."""
        return warehouse_state_dir(self.state_dir, self.warehouse)


def load_settings(env: dict[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    source = (env.get("LOCKSTEP_SOURCE") or "demo").strip().lower()
    if source not in SOURCES:
        raise SettingsError(
            f"LOCKSTEP_SOURCE={source!r} is not one of {', '.join(SOURCES)}"
        )
    data_dir_raw = (env.get("LOCKSTEP_DATA_DIR") or "").strip()
    data_dir = _path(data_dir_raw) if data_dir_raw else None
    if source == "files" and data_dir is None:
        raise SettingsError("LOCKSTEP_SOURCE=files needs LOCKSTEP_DATA_DIR (a directory "
                            "with market/<FILE>.csv and fred/<SERIES>.csv)")
    full_refresh_raw = (env.get("LOCKSTEP_FULL_REFRESH") or "").strip().lower()
    if full_refresh_raw not in ("", "0", "1", "false", "true", "no", "yes"):
        raise SettingsError(f"LOCKSTEP_FULL_REFRESH={full_refresh_raw!r} is not 1 or 0")
    return Settings(
        source=source,
        warehouse=warehouse_path(env),
        state_dir=state_dir(env),
        data_dir=data_dir,
        publish_dir=publish_dir(env),
        full_refresh=full_refresh_raw in ("1", "true", "yes"),
    )


def warehouse_path(env: dict[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    return _path(env.get("LOCKSTEP_WAREHOUSE") or DEFAULT_WAREHOUSE)


def state_dir(env: dict[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    return _path(env.get("LOCKSTEP_STATE_DIR") or DEFAULT_STATE_DIR)


def warehouse_state_dir(state: Path, warehouse: Path) -> Path:
    import hashlib

    digest = hashlib.sha256(str(warehouse.resolve()).encode()).hexdigest()[:10]
    return state / "warehouses" / f"{warehouse.stem}-{digest}"


def dagster_home(env: dict[str, str] | None = None) -> tuple[Path, bool]:
    """The Dagster instance's directory, and whether the user chose it: DAGSTER_HOME when set,
    else the warehouse's own (<its state dir>/dagster_home), so the runs, partitions and
    briefs of one warehouse never show in another's UI."""
    env = os.environ if env is None else env
    explicit = (env.get("DAGSTER_HOME") or "").strip()
    if explicit:
        return _path(explicit), True
    return warehouse_state_dir(state_dir(env), warehouse_path(env)) / "dagster_home", False


def create_dirs(env: dict[str, str] | None = None) -> bool:
    """LOCKSTEP_CREATE_DIRS=1: create a warehouse's missing directory (else only the
    default warehouse's directory is created)."""
    env = os.environ if env is None else env
    return (env.get("LOCKSTEP_CREATE_DIRS") or "").strip().lower() in ("1", "true", "yes")


def is_default_warehouse(warehouse: Path) -> bool:
    return Path(warehouse).resolve() == _path(DEFAULT_WAREHOUSE).resolve()


def publish_dir(env: dict[str, str] | None = None) -> Path:
    """Where the published copies go, and where the dashboard reads them: one setting for
    both, LOCKSTEP_PUBLISH_DIR (default: `published` beside the warehouse file)."""
    env = os.environ if env is None else env
    raw = (env.get("LOCKSTEP_PUBLISH_DIR") or "").strip()
    return _path(raw) if raw else warehouse_path(env).parent / "published"


def dbt_executable(env: dict[str, str] | None = None) -> Path:
    """dbt lives in its own environment (.venv-dbt, pyproject's `dbt` group), not in the one
    Dagster runs in: the code location then loads without importing dbt-core."""
    env = os.environ if env is None else env
    raw = (env.get("LOCKSTEP_DBT") or "").strip()
    dbt = _path(raw) if raw else PROJECT_ROOT / ".venv-dbt" / "bin" / "dbt"
    if not dbt.exists():
        hint = "fix LOCKSTEP_DBT" if raw else "run `make setup`, which builds .venv-dbt"
        raise SettingsError(f"no dbt executable at {dbt}: {hint}")
    return dbt


@contextmanager
def environ(**values: str | None) -> Iterator[None]:
    """Set environment variables for the block (None: unset) and put the old values back
    afterwards (dbt reads LOCKSTEP_WAREHOUSE from its process environment; tests set the
    settings)."""
    old = {k: os.environ.get(k) for k in values}
    for k, v in values.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
