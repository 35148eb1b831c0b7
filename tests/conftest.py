"""Shared fixtures. Every test runs offline: a guard fails any connection outside 127.0.0.1."""

from __future__ import annotations

import ipaddress
import os
import pickle
import shutil
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import settings as hypothesis_settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent
REAL_DATA = (PROJECT_ROOT.parent / "shared" / "data" / "real").resolve()


class NetworkAccessError(RuntimeError):
    pass


def _is_loopback(host) -> bool:
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo


def _guarded_connect(self, address, *args, **kwargs):
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address[0]):
        raise NetworkAccessError(f"test tried to connect to {address[0]}:{address[1]}")
    return _real_connect(self, address, *args, **kwargs)


def _guarded_connect_ex(self, address, *args, **kwargs):
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address[0]):
        raise NetworkAccessError(f"test tried to connect to {address[0]}:{address[1]}")
    return _real_connect_ex(self, address, *args, **kwargs)


def _guarded_getaddrinfo(host, *args, **kwargs):
    if host is not None and not _is_loopback(host if isinstance(host, str) else host.decode()):
        raise NetworkAccessError(f"test tried to resolve {host}")
    return _real_getaddrinfo(host, *args, **kwargs)


def install_network_guard() -> None:
    socket.socket.connect = _guarded_connect
    socket.socket.connect_ex = _guarded_connect_ex
    socket.getaddrinfo = _guarded_getaddrinfo


install_network_guard()

# Hypothesis profiles (HYPOTHESIS_PROFILE=thorough for more; docs/testing.md). A profile sets
# the number of examples of the tests that leave it to the profile: those whose every
# example is a dbt build or several (tests/test_incremental.py). A test whose examples are
# cheap sets its own max_examples. "quick", what `make test` runs: two examples a run, new
# ones each run, and hypothesis' example database (.hypothesis/) keeps any that failed and
# tries them first next time; a failure prints the blob that reproduces it
# (@reproduce_failure). "thorough": ten.
hypothesis_settings.register_profile("quick", max_examples=2, print_blob=True)
hypothesis_settings.register_profile("thorough", max_examples=10, print_blob=True)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or "quick")
# the tests' universe is the repo's catalog, whatever the user's shell points at
os.environ.pop("LOCKSTEP_CATALOG", None)
# tests (and session fixtures) put warehouses in fresh temporary directories; the rule that
# a missing directory is an error has its own tests, which unset this
os.environ["LOCKSTEP_CREATE_DIRS"] = "1"


# what a test needs decides its markers (`make test-fast` leaves these out): the real
# history (real_data), or a pipeline build (slow). A fixture needs what the fixtures it uses
# need (`fixturenames` is the whole closure); a test that builds by itself says so itself.
NEEDS_REAL_DATA = {"real_data", "real_warehouse"}
BUILDS_THE_PIPELINE = {"demo_build", "demo_copy", "real_warehouse"}


# The longest tests, longest first (`make test PYTEST_ARGS=--durations=40`, docs/testing.md).
# Under pytest-xdist each worker starts with its share of them, so that neither is left with
# one of them at the end while the other idles: worksteal first hands each worker a half of
# the collection, in order, then moves tests not yet started from the end of a queue.
LONGEST = (
    "test_spark.py::test_the_demo_on_spark",
    "test_spark.py::test_the_real_history_cut_then_revised_on_spark_equals_duckdbs",
    "test_cli.py::test_a_first_load_into_a_new_warehouse_after_the_demo_is_a_first_load",
    "test_operations.py::test_a_killed_run_never_holds_up_the_queue_of_the_ui_and_the_schedules",
    "test_operations.py::test_sigkill_leaves_the_warehouse_consistent_and_the_next_run_completes",
    "test_cli.py::test_run_prints_synthetic_snapshot_and_records_the_run",
    "test_incremental.py::test_incremental_builds_equal_a_full_rebuild",
    "test_alerts.py::test_real_history_announces_the_december_2025_split_once",
    "test_incremental.py::test_real_history_cut_then_extended_with_a_deep_revision",
    "test_alerts.py::test_retries",
    "test_alerts.py::test_the_summary",
    "test_cli.py::test_make_automation_on_and_off",
)


def _longest_first_in_each_half(items: list, workers: int) -> list:
    """`items` reordered for `workers` (2) workers: the LONGEST dealt out in turn (1, 2, 2,
    1, ...) to the front of each worker's half, the others after them in their order."""
    def rank(item) -> int | None:
        name = item.nodeid.split("/")[-1]
        return next((i for i, p in enumerate(LONGEST) if name.startswith(p)), None)

    long = sorted((item for item in items if rank(item) is not None), key=rank)
    rest = [item for item in items if rank(item) is None]
    heads: list[list] = [[] for _ in range(workers)]
    for i, item in enumerate(long):  # snake order: 0, 1, 1, 0, 0, 1, ...
        turn, place = divmod(i, workers)
        heads[place if turn % 2 == 0 else workers - 1 - place].append(item)
    ordered, size = [], -(-len(items) // workers)
    for head in heads:
        take = max(0, size - len(head))
        ordered += head + rest[:take]
        rest = rest[take:]
    return ordered + rest


def pytest_collection_modifyitems(config, items):
    """Mark each test by the fixtures it uses (see above); under xdist, deal the longest
    tests out to the workers first (see LONGEST)."""
    for item in items:
        needs = set(getattr(item, "fixturenames", ()))
        if needs & NEEDS_REAL_DATA:
            item.add_marker(pytest.mark.real_data)
        if needs & BUILDS_THE_PIPELINE:
            item.add_marker(pytest.mark.slow)
    workers = getattr(config, "workerinput", {}).get("workercount", 1)
    if workers > 1:
        items[:] = _longest_first_in_each_half(items, workers)


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path, monkeypatch):
    """No test touches the user's warehouse, state or credentials."""
    monkeypatch.setenv("LOCKSTEP_WAREHOUSE", str(tmp_path / "warehouse" / "lockstep.duckdb"))
    monkeypatch.setenv("LOCKSTEP_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("LOCKSTEP_SOURCE", "demo")
    monkeypatch.setenv("LOCKSTEP_CREATE_DIRS", "1")  # (see above)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)  # each warehouse's own instance
    monkeypatch.delenv("LOCKSTEP_DATA_DIR", raising=False)
    monkeypatch.delenv("LOCKSTEP_CATALOG", raising=False)
    monkeypatch.delenv("FRED_API_KEY", raising=False)
    monkeypatch.setenv("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    monkeypatch.setenv("DAGSTER_TELEMETRY_ENABLED", "false")
    yield


@pytest.fixture(scope="session")
def real_data() -> Path:
    if not (REAL_DATA / "market").is_dir():
        pytest.skip(f"real history not available at {REAL_DATA}")
    return REAL_DATA


@pytest.fixture(scope="session")
def catalog():
    from orchestration.catalog import load_catalog

    return load_catalog()


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory, catalog) -> Path:
    from orchestration.sources.demo.client import generate_demo_data

    target = tmp_path_factory.mktemp("demo_data")
    generate_demo_data(target, catalog)
    return target


@pytest.fixture()
def warehouse(tmp_path) -> Path:
    return Path(os.environ["LOCKSTEP_WAREHOUSE"])


@pytest.fixture(scope="session")
def dbt_manifest(tmp_path_factory) -> Path:
    """The dbt manifest the code location loads (make prepares it; build it if absent)."""
    import subprocess

    from filelock import FileLock

    manifest = PROJECT_ROOT / "dbt_project" / "target" / "manifest.json"
    with FileLock(shared_root(tmp_path_factory) / "dbt_manifest.lock"):  # one parse
        if not manifest.exists():
            from orchestration.settings import dbt_executable

            dbt = dbt_executable()
            subprocess.run([str(dbt), "parse", "--quiet", "--profiles-dir", "."],
                           cwd=PROJECT_ROOT / "dbt_project", check=True)
    return manifest


# ------------------------------------------------------------ built once per pytest run
# `make test` runs the tests in two processes (pytest-xdist's workers, docs/testing.md); a
# session fixture is per process. `build_once` makes a build the whole run's: the first
# worker to need it builds it into a folder every worker sees, holding a file lock; any
# other waits on the lock, then reads what was built. Without xdist it is a plain build.
T = TypeVar("T")


def shared_root(tmp_path_factory) -> Path:
    """A folder every process of this pytest run sees: pytest's base temporary folder, or
    under xdist the one above the workers' own (pytest-of-<user>/pytest-<n>)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def build_once(tmp_path_factory, name: str, build: Callable[[Path], T]) -> T:
    """`build(folder)` once per pytest run, across xdist workers: it writes into `folder`
    (<shared root>/<name>, empty) and returns a picklable value, which every worker gets.
    A build that raised is not repeated: the other workers fail with its error."""
    import traceback

    from filelock import FileLock

    root = shared_root(tmp_path_factory)
    folder, done, failed = root / name, root / f"{name}.pickle", root / f"{name}.failed"
    with FileLock(root / f"{name}.lock"):
        if failed.exists():
            pytest.fail(f"the run's {name} build failed (in another worker):\n"
                        f"{failed.read_text()}", pytrace=False)
        if not done.exists():
            folder.mkdir()
            try:
                value = build(folder)
            except BaseException:
                failed.write_text(traceback.format_exc())
                raise
            done.write_bytes(pickle.dumps(value))
    return pickle.loads(done.read_bytes())


@dataclass(frozen=True)
class StoredRun:
    """A Dagster run's result (ExecuteInProcessResult) in a form another process can read:
    its events and its run, serialized the way Dagster stores them. `result()` gives it
    back (without its job definition, which no test reads)."""

    events: str
    run: str

    @classmethod
    def of(cls, result) -> StoredRun:
        import dagster as dg

        return cls(dg.serialize_value(list(result.all_events)),
                   dg.serialize_value(result.dagster_run))

    def result(self):
        import dagster as dg

        return dg.ExecuteInProcessResult(dg.deserialize_value(self.events),
                                         dg.deserialize_value(self.run), None, job_def=None)


ENVIRONMENT = {"source": "LOCKSTEP_SOURCE", "data_dir": "LOCKSTEP_DATA_DIR",
               "warehouse": "LOCKSTEP_WAREHOUSE", "state_dir": "LOCKSTEP_STATE_DIR",
               "catalog": "LOCKSTEP_CATALOG"}


def lockstep_env(**settings: str):
    """Where a run reads and writes is the environment's (orchestration/settings.py): set
    LOCKSTEP_SOURCE, _DATA_DIR, _WAREHOUSE and _STATE_DIR from source=, data_dir=,
    warehouse=, state_dir= for the block, and put them back afterwards."""
    from orchestration.settings import environ

    return environ(**{ENVIRONMENT[k]: v for k, v in settings.items()})


def materialize_all(tmp_path: Path, dbt_tests: bool = True, dbt_tests_on_marts: bool = True,
                    **fields):
    """Materialize every asset of the code location into tmp_path's warehouse: the daily
    refresh (the current year's partition), which for the files and demo sources loads
    every row of their files. Settings (source=, data_dir=, warehouse=, state_dir=) go to
    the environment; any other field to LockstepResource. dbt_tests=False leaves out dbt's
    data tests (the dbt assets' checks), for a build that only prepares a later one;
    dbt_tests_on_marts=False leaves out those on the marts (schema marts) alone."""
    import dagster as dg

    from orchestration.assets.dbt import lockstep_dbt_assets
    from orchestration.definitions import defs
    from orchestration.partitions import newest_key
    from orchestration.resources import LockstepResource, dbt_resource

    settings = {"warehouse": str(tmp_path / "warehouse" / "lockstep.duckdb"),
                "state_dir": str(tmp_path / "state")}
    settings.update({k: v for k, v in fields.items() if k in ENVIRONMENT})
    resource = {k: v for k, v in fields.items() if k not in ENVIRONMENT}
    with lockstep_env(**settings):
        result = dg.materialize(
            [*defs.assets, *defs.asset_checks], partition_key=newest_key(),
            resources={"lockstep": LockstepResource(**resource), "dbt": dbt_resource()},
            instance=dg.DagsterInstance.ephemeral(),
            raise_on_error=False,
            selection=None if dbt_tests and dbt_tests_on_marts else
            dg.AssetSelection.all() - dg.AssetSelection.checks(
                *(k for k in lockstep_dbt_assets.check_keys
                  if not dbt_tests or k.asset_key.path[0] == "marts")),
        )
    return result, Path(settings["warehouse"])


@pytest.fixture(scope="session")
def real_warehouse(tmp_path_factory, real_data, dbt_manifest):
    """The whole pipeline over ../shared/data/real (files source), built once per run."""
    def build(folder: Path):
        result, warehouse = materialize_all(folder, source="files", data_dir=str(real_data))
        return StoredRun.of(result), warehouse

    stored, warehouse = build_once(tmp_path_factory, "real_warehouse", build)
    return stored.result(), warehouse


# ------------------------------------------------------------------ the demo build, once
# Building the whole pipeline on demo data takes about a minute; most tests that need a demo
# warehouse only read it. `demo_build` builds it once per session (a first run into an
# empty warehouse, then a second run on the same data, as `make demo` twice would); a test
# that writes takes its own copy (`demo_copy`), so it never affects another test.
CLEAN_ENV = ("LOCKSTEP_ALERT_WEBHOOK", "LOCKSTEP_PUBLISH_DIR", "LOCKSTEP_DATA_DIR",
             "LOCKSTEP_CATALOG", "LOCKSTEP_FULL_REFRESH", "LOCKSTEP_INPUTS_CHANGED_FROM",
             "FRED_API_KEY", "DAGSTER_HOME")


@dataclass(frozen=True)
class DemoBuild:
    """The demo pipeline built once: `first` and `second` are the two runs' results (Dagster
    ExecuteInProcessResult); `root` holds warehouse/ (the DuckDB file and published/) and
    state/ (the generated demo files) as the second run left them; `after_first` the same
    folders as the first run left them. Read them; copy them (`copy_demo`) to write."""

    first: Any
    second: Any
    root: Path
    after_first: Path
    dbt_target: Path  # where dagster-dbt put its two dbt invocations' target folders

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse" / "lockstep.duckdb"

    @property
    def demo_data(self) -> Path:
        return self.root / "state" / "demo_data"


def copy_demo(source: Path, target: Path) -> Path:
    """A copy of a demo build's folders (`DemoBuild.root` or `.after_first`) at `target`, for
    a test that writes: the DuckDB file, the published versions (their `current` link is
    relative, so it points into the copy) and the state folder. Returns the copy's
    warehouse path. A run on the copy parses dbt's project once more (a new warehouse path)
    and reads the demo files again (a new data folder); the data are the same."""
    shutil.copytree(source, target, symlinks=True)
    return target / "warehouse" / "lockstep.duckdb"


@pytest.fixture(scope="session")
def demo_build(tmp_path_factory, dbt_manifest) -> DemoBuild:
    """The whole pipeline on demo data, built once per run (see DemoBuild). Its dbt runs
    keep their parse state in a target folder of their own (DBT_TARGET_PATH), which starts
    as the project's (`make setup` parsed it for another warehouse path): another worker's
    build cannot swap it between the two runs, whose parsing a test reads."""
    def build(base: Path):
        root, after_first, target = base / "run", base / "after_first", base / "dbt_target"
        target.mkdir()
        parsed = PROJECT_ROOT / "dbt_project" / "target" / "partial_parse.msgpack"
        if parsed.exists():
            shutil.copy(parsed, target / parsed.name)
        with pytest.MonkeyPatch.context() as env:
            for name in CLEAN_ENV:
                env.delenv(name, raising=False)
            env.setenv("DBT_TARGET_PATH", str(target))
            first, _ = materialize_all(root, source="demo")
            assert first.success, "the session's demo build failed"
            shutil.copytree(root, after_first, symlinks=True)
            second, _ = materialize_all(root, source="demo")
            assert second.success, "the session's second demo run failed"
        return StoredRun.of(first), StoredRun.of(second), root, after_first, target

    first, second, root, after_first, target = build_once(tmp_path_factory, "demo_build",
                                                          build)
    return DemoBuild(first=first.result(), second=second.result(), root=root,
                     after_first=after_first, dbt_target=target)


@pytest.fixture()
def demo_copy(tmp_path, demo_build) -> Path:
    """A private copy of the demo warehouse as the first run left it (warehouse, published
    copy, state) under tmp_path / "run"; the path of its DuckDB file."""
    return copy_demo(demo_build.after_first, tmp_path / "run")


def cut_real_history(real_data: Path, target: Path, last_day: str,
                     gaps: dict[str, tuple[str, str]] | None = None) -> None:
    """The real CSVs up to last_day, in a temporary folder (never in the repository);
    `gaps` takes out the rows of a file (its stem: "GC_F") from one date to another."""
    import pandas as pd

    for kind in ("market", "fred"):
        (target / kind).mkdir(parents=True, exist_ok=True)
        for path in (real_data / kind).glob("*.csv"):
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
            keep = frame.date <= last_day
            if path.stem in (gaps or {}):
                first, last = gaps[path.stem]
                keep &= ~frame.date.between(first, last)
            frame[keep].to_csv(target / kind / path.name, index=False)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (for a server a test starts)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def query(warehouse: Path, sql: str, params=None):
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql, params or []).df()
