"""Every setting lockstep reads from the environment, read here and nowhere else.

`Settings` declares each one: its field, the environment variable and the default as README's
"Configuration" table states it (tests/test_settings.py checks the table against these
declarations, both ways). `load_settings(env)` reads them all from a mapping (the process
environment by default) and names the variable of any bad value; the functions below it read
a single setting, for code that needs one outside a run (the lock timeout of a connection,
the dashboard's published copy). Nothing else in orchestration/ or dashboard/ reads
os.environ: a run's steps get `Settings` from lockstep's resource, once, when the run starts.

Two settings are secrets, FRED_API_KEY and LOCKSTEP_ALERT_WEBHOOK: a printed `Settings` shows
'***' for the key and only the webhook's host.

The one other use of the environment is passing settings on to the programs lockstep starts
(dbt reads LOCKSTEP_WAREHOUSE and LOCKSTEP_DUCKDB_MEMORY_LIMIT in dbt_project/profiles.yml;
Dagster reads DAGSTER_HOME): `environ`, `export` and `child_environment` at the end.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path
from urllib.parse import urlsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("demo", "files", "live")
# the engines dbt builds the models on (docs/spark.md): DuckDB in the warehouse file, or
# Apache Spark (local mode, through dbt-spark's session method) on Parquet exports of raw
ENGINES = ("duckdb", "spark")
# the DuckDB file's name: the default warehouse's, and the published copy's
DB_NAME = "lockstep.duckdb"
DEFAULT_WAREHOUSE = f"warehouse/{DB_NAME}"  # relative to PROJECT_ROOT
DEFAULT_STATE_DIR = ".lockstep"
DEFAULT_CATALOG = "orchestration/catalog.yaml"
DEFAULT_DBT = ".venv-dbt/bin/dbt"
DEFAULT_LOCK_TIMEOUT_S = 1800.0
# below DuckDB's own 80 % of RAM, so the Python process beside it (the pandas frames of a
# first load) has room; beyond it DuckDB spills to <warehouse>.tmp/ next to the file
DEFAULT_MEMORY_LIMIT = "60%"
# the published copy a reader opens: <publish dir>/current/lockstep.duckdb
PUBLISHED_CURRENT = "current"
YES, NO = ("1", "true", "yes"), ("", "0", "false", "no")


class SettingsError(ValueError):
    """A setting from the environment is missing or invalid; the message names the variable."""


@dataclass(frozen=True)
class Variable:
    """An environment variable lockstep reads, and its default in README's words ('-':
    none)."""

    name: str
    default: str = "-"
    secret: bool = False


def _declared(name: str, default: str = "-", secret: bool = False):
    return field(metadata={"variable": Variable(name, default, secret)})


@dataclass(frozen=True, repr=False)
class Settings:
    source: str = _declared("LOCKSTEP_SOURCE", "demo")
    engine: str = _declared("LOCKSTEP_ENGINE", "duckdb")
    data_dir: Path | None = _declared("LOCKSTEP_DATA_DIR")
    catalog: Path = _declared("LOCKSTEP_CATALOG", DEFAULT_CATALOG)
    warehouse: Path = _declared("LOCKSTEP_WAREHOUSE", DEFAULT_WAREHOUSE)
    create_dirs: bool = _declared("LOCKSTEP_CREATE_DIRS")
    state_dir: Path = _declared("LOCKSTEP_STATE_DIR", DEFAULT_STATE_DIR)
    publish_dir: Path = _declared("LOCKSTEP_PUBLISH_DIR", "<warehouse dir>/published")
    lock_timeout_s: float = _declared("LOCKSTEP_LOCK_TIMEOUT", f"{DEFAULT_LOCK_TIMEOUT_S:g}")
    memory_limit: str = _declared("LOCKSTEP_DUCKDB_MEMORY_LIMIT", DEFAULT_MEMORY_LIMIT)
    full_refresh: bool = _declared("LOCKSTEP_FULL_REFRESH")
    alert_webhook: str | None = _declared("LOCKSTEP_ALERT_WEBHOOK", secret=True)
    verbose: bool = _declared("VERBOSE")
    dbt: Path = _declared("LOCKSTEP_DBT", DEFAULT_DBT)
    dagster_home: Path = _declared("DAGSTER_HOME",
                                   "<state dir>/warehouses/<stem>-<hash>/dagster_home")
    fred_api_key: str | None = _declared("FRED_API_KEY", secret=True)

    @property
    def demo_dir(self) -> Path:
        return self.state_dir / "demo_data"

    @property
    def yfinance_cache_dir(self) -> Path:
        return self.state_dir / "yfinance"

    @property
    def spark_dir(self) -> Path:
        """The Spark engine's state for this warehouse (its Parquet export of raw, Spark's
        warehouse directory and Derby metastore): <warehouse state dir>/spark."""
        return spark_dir(self.state_dir, self.warehouse)

    @property
    def is_synthetic(self) -> bool:
        return self.source == "demo"

    @property
    def warehouse_state_dir(self) -> Path:
        """State that belongs to one warehouse (its UI chart, its Dagster instance), never
        shared with another: .lockstep/warehouses/<file stem>-<hash of its absolute path>."""
        return warehouse_state_dir(self.state_dir, self.warehouse)

    @property
    def published_db(self) -> Path:
        """The published copy a reader opens (orchestration/lib/publish.py writes it)."""
        return published_db(self.publish_dir)

    def __repr__(self) -> str:
        shown = []
        for f in fields(self):
            value = getattr(self, f.name)
            if value and f.metadata["variable"].secret:
                value = hidden(value)
            shown.append(f"{f.name}={value!r}")
        return f"Settings({', '.join(shown)})"


VARIABLES: dict[str, Variable] = {f.name: f.metadata["variable"] for f in fields(Settings)}


def variable(setting: str) -> str:
    """The environment variable of a setting (a field of Settings): for messages."""
    return VARIABLES[setting].name


def hidden(secret: str) -> str:
    """What may be shown of a secret: a URL's scheme and host, else nothing."""
    parts = urlsplit(secret)
    return f"{parts.scheme}://{parts.hostname}/***" if parts.scheme and parts.hostname \
        else "***"


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Every setting, from `env` (default: the process environment); a bad value raises
    SettingsError naming its variable."""
    env = _environment(env)
    home, _ = dagster_home(env)
    return Settings(
        source=source(env), engine=engine(env), data_dir=data_dir(env), catalog=catalog_path(env),
        warehouse=warehouse_path(env), create_dirs=create_dirs(env), state_dir=state_dir(env),
        publish_dir=publish_dir(env), lock_timeout_s=lock_timeout(env),
        memory_limit=memory_limit(env), full_refresh=full_refresh(env),
        alert_webhook=alert_webhook(env), verbose=verbose(env), dbt=_dbt_path(env),
        dagster_home=home, fred_api_key=fred_api_key(env),
    )


# ------------------------------------------------------------------------- one setting each
def _environment(env: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if env is None else env


def _raw(env: Mapping[str, str] | None, setting: str) -> str:
    return (_environment(env).get(variable(setting)) or "").strip()


def _path(value: str) -> Path:
    p = Path(value).expanduser()
    return p if p.is_absolute() else (PROJECT_ROOT / p)


def _flag(env: Mapping[str, str] | None, setting: str) -> bool:
    raw = _raw(env, setting).lower()
    if raw not in (*YES, *NO):
        raise SettingsError(f"{variable(setting)}={raw!r} is not 1 or 0")
    return raw in YES


def source(env: Mapping[str, str] | None = None) -> str:
    value = _raw(env, "source").lower() or "demo"
    if value not in SOURCES:
        raise SettingsError(f"{variable('source')}={value!r} is not one of {', '.join(SOURCES)}")
    if value == "files" and data_dir(env) is None:
        raise SettingsError(f"{variable('source')}=files needs {variable('data_dir')} (a "
                            f"directory with market/<FILE>.csv and fred/<SERIES>.csv)")
    return value


def engine(env: Mapping[str, str] | None = None) -> str:
    """LOCKSTEP_ENGINE: where dbt builds the models, DuckDB (default) or Spark."""
    value = _raw(env, "engine").lower() or "duckdb"
    if value not in ENGINES:
        raise SettingsError(f"{variable('engine')}={value!r} is not one of {', '.join(ENGINES)}")
    return value


def data_dir(env: Mapping[str, str] | None = None) -> Path | None:
    raw = _raw(env, "data_dir")
    return _path(raw) if raw else None


def catalog_path(env: Mapping[str, str] | None = None) -> Path:
    """LOCKSTEP_CATALOG when set (your own universe without editing the repo; a relative
    path is taken from the current directory), else orchestration/catalog.yaml."""
    raw = _raw(env, "catalog")
    return Path(raw).expanduser().resolve() if raw else PROJECT_ROOT / DEFAULT_CATALOG


def warehouse_path(env: Mapping[str, str] | None = None) -> Path:
    return _path(_raw(env, "warehouse") or DEFAULT_WAREHOUSE)


def is_default_warehouse(warehouse: Path) -> bool:
    return Path(warehouse).resolve() == _path(DEFAULT_WAREHOUSE).resolve()


def create_dirs(env: Mapping[str, str] | None = None) -> bool:
    """LOCKSTEP_CREATE_DIRS=1: create a warehouse's missing directory (else only the
    default warehouse's directory is created)."""
    return _raw(env, "create_dirs").lower() in YES


def state_dir(env: Mapping[str, str] | None = None) -> Path:
    return _path(_raw(env, "state_dir") or DEFAULT_STATE_DIR)


def warehouse_state_dir(state: Path, warehouse: Path) -> Path:
    digest = hashlib.sha256(str(warehouse.resolve()).encode()).hexdigest()[:10]
    return state / "warehouses" / f"{warehouse.stem}-{digest}"


def spark_dir(state: Path, warehouse: Path) -> Path:
    return warehouse_state_dir(state, warehouse) / "spark"


def publish_dir(env: Mapping[str, str] | None = None, warehouse: Path | None = None) -> Path:
    """Where the published copies go, and where the dashboard reads them: one setting for
    both, LOCKSTEP_PUBLISH_DIR (default: `published` beside the warehouse file, LOCKSTEP_WAREHOUSE
    or the `warehouse` given)."""
    raw = _raw(env, "publish_dir")
    if raw:
        return _path(raw)
    return Path(warehouse or warehouse_path(env)).parent / "published"


def published_db(root: Path) -> Path:
    """The DuckDB file of the current published version under the publish directory `root`."""
    return Path(root) / PUBLISHED_CURRENT / DB_NAME


def lock_timeout(env: Mapping[str, str] | None = None) -> float:
    """Seconds a run waits, in all, for the warehouse (LOCKSTEP_LOCK_TIMEOUT)."""
    raw = _raw(env, "lock_timeout_s")
    try:
        return float(raw) if raw else DEFAULT_LOCK_TIMEOUT_S
    except ValueError:
        raise SettingsError(f"{variable('lock_timeout_s')}={raw!r} is not a number of "
                            f"seconds") from None


def memory_limit(env: Mapping[str, str] | None = None) -> str:
    """DuckDB's memory_limit (a size such as 12GB, or a share of RAM such as 50%); DuckDB
    itself judges the value when a connection sets it."""
    return _raw(env, "memory_limit") or DEFAULT_MEMORY_LIMIT


def full_refresh(env: Mapping[str, str] | None = None) -> bool:
    return _flag(env, "full_refresh")


def alert_webhook(env: Mapping[str, str] | None = None) -> str | None:
    return _raw(env, "alert_webhook") or None


def verbose(env: Mapping[str, str] | None = None) -> bool:
    """VERBOSE set to anything but 0: the whole output on the terminal."""
    return _raw(env, "verbose") not in ("", "0")


def fred_api_key(env: Mapping[str, str] | None = None) -> str | None:
    return _raw(env, "fred_api_key") or None


def dagster_home(env: Mapping[str, str] | None = None) -> tuple[Path, bool]:
    """The Dagster instance's directory, and whether the user chose it: DAGSTER_HOME when set,
    else the warehouse's own (<its state dir>/dagster_home), so the runs, partitions and
    briefs of one warehouse never show in another's UI."""
    explicit = _raw(env, "dagster_home")
    if explicit:
        return _path(explicit), True
    return warehouse_state_dir(state_dir(env), warehouse_path(env)) / "dagster_home", False


def _dbt_path(env: Mapping[str, str] | None) -> Path:
    raw = _raw(env, "dbt")
    return _path(raw or DEFAULT_DBT)


def dbt_executable(env: Mapping[str, str] | None = None) -> Path:
    """dbt lives in its own environment (.venv-dbt, pyproject's `dbt` group), not in the one
    Dagster runs in: the code location then loads without importing dbt-core."""
    dbt = _dbt_path(env)
    if not dbt.exists():
        hint = f"fix {variable('dbt')}" if _raw(env, "dbt") else \
            "run `make setup`, which builds .venv-dbt"
        raise SettingsError(f"no dbt executable at {dbt}: {hint}")
    return dbt


# ---------------------------------------------------- settings passed on to other programs
def export(**values: str | None) -> dict[str, str | None]:
    """Set environment variables of this process, which the programs it starts inherit
    (None: unset); returns the values they had."""
    old = {k: os.environ.get(k) for k in values}
    for k, v in values.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    return old


@contextmanager
def environ(**values: str | None) -> Iterator[None]:
    """`export` for the block, then the old values back (dbt, which dagster-dbt starts with
    this process's environment, reads LOCKSTEP_WAREHOUSE from it; tests set settings)."""
    old = export(**values)
    try:
        yield
    finally:
        export(**old)


def child_environment(**values: str) -> dict[str, str]:
    """The environment of a program this process starts, with `values` set."""
    return {**os.environ, **values}
