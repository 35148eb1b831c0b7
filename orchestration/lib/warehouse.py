"""The DuckDB warehouse: one writer at a time, the raw schema, idempotent upserts.

DuckDB lets one process open a file read-write. Every writer (ingestion assets, dbt) takes
an exclusive advisory lock on `<warehouse>.lock` first and waits for it, so two runs never
write at once; a reader should use the published copy instead of the live file.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from orchestration.settings import (
    create_dirs,
    is_default_warehouse,
    lock_timeout,
    memory_limit,
    publish_dir,
    published_db,
)

if TYPE_CHECKING:  # imported where used: the code location loads without them
    import duckdb
    import pandas as pd

READER_TIMEOUT_S = 30.0  # a reader waits this long for a writer to finish, then says so
DUCKDB_LOCK_ERROR = "Could not set lock on file"


@dataclass(frozen=True)
class TableSpec:
    name: str
    key: tuple[str, str]
    values: tuple[str, ...]

    @property
    def group(self) -> str:
        return self.key[0]

    @property
    def revisions(self) -> str:
        """Every version of a row that a later load replaced (raw.<table>_revisions)."""
        return f"{self.name}_revisions"

    @property
    def as_of(self) -> str:
        """The table macro that returns what the table held at a past moment."""
        return f"{self.name}_as_of"


def revision_ddl(spec: TableSpec) -> list[str]:
    """Kept revisions of a raw table: `<table>_revisions` holds every version of a row that
    a load replaced (its values, source, when it arrived and when it was replaced), and the
    table macro `<table>_as_of(moment)` returns the rows as the warehouse held them then.
    The current table stays one row per key, the latest version (what staging reads); a
    re-read that changes nothing writes nothing to either."""
    cols = ", ".join([*spec.key, *spec.values, "source"])
    return [
        # the same column types as the table, without its constraints: a replaced version
        # was valid when stored and is never re-checked
        f"""
        CREATE TABLE IF NOT EXISTS {spec.revisions} AS
        SELECT {cols}, ingested_at AS received_at, ingested_at AS replaced_at
        FROM {spec.name} LIMIT 0
        """,
        f"""
        CREATE OR REPLACE MACRO {spec.as_of}(moment) AS TABLE
        SELECT {cols}, ingested_at AS received_at
        FROM {spec.name} WHERE ingested_at <= CAST(moment AS TIMESTAMP)
        UNION ALL
        SELECT {cols}, received_at
        FROM {spec.revisions}
        WHERE received_at <= CAST(moment AS TIMESTAMP)
          AND replaced_at > CAST(moment AS TIMESTAMP)
        """,
    ]


class WarehouseLockTimeout(RuntimeError):
    pass


class WarehouseBusy(RuntimeError):
    """Another process holds the DuckDB file open and did not let go in time."""


class WarehousePathError(RuntimeError):
    """The warehouse's directory does not exist, or no file can be created in it."""


class MixedSourceError(RuntimeError):
    """Refuses to mix synthetic (demo) rows with real rows in one warehouse."""


def lock_path(warehouse: Path) -> Path:
    return Path(str(warehouse) + ".lock")


def ensure_directory(warehouse: Path) -> None:
    """The warehouse's directory must exist: a mistyped LOCKSTEP_WAREHOUSE would otherwise
    create directories anywhere (even at the filesystem's root). Only the default warehouse's
    directory is created, or any with LOCKSTEP_CREATE_DIRS=1."""
    parent = Path(warehouse).parent
    if parent.is_dir():
        return
    if parent.exists():
        raise WarehousePathError(f"LOCKSTEP_WAREHOUSE={warehouse}: {parent} is not a directory")
    if is_default_warehouse(warehouse) or create_dirs():
        parent.mkdir(parents=True, exist_ok=True)
        return
    raise WarehousePathError(
        f"LOCKSTEP_WAREHOUSE={warehouse}: its directory {parent} does not exist. Create it "
        f"(mkdir -p {parent}) or set LOCKSTEP_CREATE_DIRS=1 to have lockstep create it, or "
        f"fix the path.")


def check_writable(warehouse: Path) -> None:
    """Fail now, once and clearly, if a run could not write next to `warehouse` (its
    directory is missing, or read-only like /proc): every writer creates its lock file."""
    ensure_directory(warehouse)
    _open_lock(Path(warehouse))


def _open_lock(warehouse: Path) -> int:
    try:
        return os.open(lock_path(warehouse), os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise WarehousePathError(
            f"LOCKSTEP_WAREHOUSE={warehouse}: cannot create files in {warehouse.parent} "
            f"({exc.strerror}); point LOCKSTEP_WAREHOUSE at a file in a directory you can "
            f"write.") from None


# How long each run has waited for the warehouse so far, by Dagster run id: a run waits
# LOCKSTEP_LOCK_TIMEOUT in all, however many of its steps find the warehouse busy (each
# step waiting the whole timeout made a run with three writing steps wait three times it).
_WAITED: dict[str, float] = {}
# where waits are announced besides the step's log: the terminal of `make run`, whose
# output otherwise goes to the run's log file (orchestration/cli.py sets it)
_TERMINAL: list = []


def announce_waits_to(stream) -> None:
    """Also print "waiting for PID ..." lines on `stream` (None: only to the step's log)."""
    _TERMINAL[:] = [] if stream is None else [stream]


def _current_run_id() -> str | None:
    """The Dagster run this code executes in (None outside a run)."""
    import sys

    if "dagster" not in sys.modules:
        return None
    import dagster as dg

    for kind in (dg.AssetExecutionContext, dg.AssetCheckExecutionContext):
        try:
            return kind.get().op_execution_context.run_id
        except Exception:  # noqa: BLE001 - not this kind of context, or none
            continue
    return None


class _Wait:
    """One wait for the warehouse, charged to its run's budget of LOCKSTEP_LOCK_TIMEOUT (or,
    outside a run, a wait of `timeout` on its own)."""

    def __init__(self, timeout: float, log, what: str, per_run: bool = True):
        self.timeout, self.log, self.what = timeout, log, what
        self.run_id = _current_run_id() if per_run else None
        self.before = _WAITED.get(self.run_id, 0.0) if self.run_id else 0.0
        self.started: float | None = None
        self.ended: float | None = None
        self.announced = False

    @property
    def waited(self) -> float:
        if self.started is None:
            return self.before
        return self.before + (self.ended or time.monotonic()) - self.started

    def over(self) -> bool:
        if self.started is None:
            self.started = time.monotonic()
        return self.waited > self.timeout

    def announce(self, holder: str) -> None:
        if self.announced:
            return
        self.announced = True
        left = max(0.0, self.timeout - self.before)
        budget = ("this run waits " if self.run_id else "waiting ") + (
            f"up to {self.timeout:.0f} s in all" + (f" ({left:.0f} s left)" if self.before
                                                    else ""))
        message = (f"waiting for {holder} to {self.what}; {budget} "
                   f"(LOCKSTEP_LOCK_TIMEOUT={self.timeout:g})")
        (self.log or _stderr)(message)
        for stream in _TERMINAL:
            print(f"lockstep: {message}", file=stream, flush=True)

    def close(self) -> None:
        """The wait is over (the lock taken, or given up): charge it to the run."""
        if self.started is None or self.ended is not None:
            return
        self.ended = time.monotonic()
        if self.run_id:
            _WAITED[self.run_id] = self.waited


def _lock_file_holder(fd: int) -> str:
    """Who holds the writer lock, from what the holder wrote into the lock file."""
    try:
        text = os.pread(fd, 4096, 0).decode(errors="replace").strip()
    except OSError:
        text = ""
    pid, _, command = text.partition(" ")
    return f"PID {pid} ({command})" if pid.isdigit() else "another run"


def _own_command() -> str:
    import sys

    return " ".join([os.path.basename(sys.executable), *sys.argv])


@contextmanager
def writer_lock(warehouse: Path, timeout: float | None = None, log=None) -> Iterator[None]:
    """Exclusive, waiting lock for writers of `warehouse` (released if the process dies).
    The holder writes its PID and command into the lock file, for whoever waits."""
    timeout = lock_timeout() if timeout is None else timeout
    warehouse = Path(warehouse)
    ensure_directory(warehouse)
    fd = _open_lock(warehouse)
    wait = _Wait(timeout, log, f"finish writing {warehouse}")
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = _lock_file_holder(fd)
                if wait.over():
                    raise WarehouseLockTimeout(
                        f"another run, {holder}, has been writing {warehouse} for as long as "
                        f"this run waits, {timeout:.0f} s in all (LOCKSTEP_LOCK_TIMEOUT); gave "
                        f"up waiting for {lock_path(warehouse)}") from None
                wait.announce(holder)
                time.sleep(0.2)
        wait.close()
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {_own_command()}\n".encode(), 0)
        yield
    finally:
        wait.close()
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


def lock_holder(message: str) -> str:
    """Who holds the file, from DuckDB's lock error: the program and PID it names, and that
    process's command line when this machine can read it (whole: it is how a person finds
    the process)."""
    import re

    found = re.search(r"held in (.+?) \(PID (\d+)\)", message)
    if not found:
        return "another process"
    program, pid = found.groups()
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        cmdline = ""
    return f"PID {pid} ({cmdline or program})"


@contextmanager
def connect(warehouse: Path, read_only: bool = False, timeout: float | None = None,
            log=None) -> Iterator[duckdb.DuckDBPyConnection]:
    """Short-lived connection; writers must hold `writer_lock`.

    DuckDB refuses to open a file another process holds (a SQL client, even read-only, keeps
    a writer out). Instead of failing at once, wait for it: a writer as long as its run may
    still wait (LOCKSTEP_LOCK_TIMEOUT for the whole run), a reader up to READER_TIMEOUT_S,
    naming the holder once in `log` (and on `make run`'s terminal); then fail with a message
    that says what to do.
    """
    warehouse = Path(warehouse)
    if not read_only:
        ensure_directory(warehouse)
    import duckdb

    timeout = (READER_TIMEOUT_S if read_only else lock_timeout()) if timeout is None else timeout
    wait = _Wait(timeout, log, f"close {warehouse}", per_run=not read_only)
    try:
        while True:
            try:
                con = duckdb.connect(str(warehouse), read_only=read_only)
                break
            except duckdb.IOException as exc:
                if DUCKDB_LOCK_ERROR not in str(exc):
                    raise
                holder = lock_holder(str(exc))
                if wait.over():
                    raise WarehouseBusy(busy_message(warehouse, holder, timeout,
                                                     read_only)) from None
                wait.announce(holder)
                time.sleep(0.5)
    finally:
        wait.close()
    try:
        try:
            con.execute("SET memory_limit = ?", [memory_limit()])
        except duckdb.Error as exc:
            raise ValueError(f"LOCKSTEP_DUCKDB_MEMORY_LIMIT={memory_limit()!r} is not a memory "
                             f"limit DuckDB accepts (e.g. 12GB or 50%): {exc}") from None
        yield con
    finally:
        con.close()


def busy_message(warehouse: Path, holder: str, timeout: float, read_only: bool) -> str:
    published = published_db(publish_dir(warehouse=warehouse))
    if read_only:
        return (f"{warehouse} is being written by {holder} (a refresh); waited {timeout:.0f} s. "
                f"Try again when it ends, or read the published copy ({published}).")
    return (f"{warehouse} is held open by {holder}, so the refresh cannot write it; this run "
            f"waited {timeout:.0f} s in all (LOCKSTEP_LOCK_TIMEOUT). Close that client (SQL "
            f"and BI tools should read the published copy, {published}, which never blocks a "
            f"refresh), then run again.")


def wait_until_writable(warehouse: Path, log=None) -> None:
    """Wait until no other process holds the file (before handing it to dbt, which fails at
    once on a lock). The caller holds `writer_lock`, so no lockstep writer can take it."""
    if Path(warehouse).exists():
        with connect(warehouse, log=log):
            pass


def _stderr(message: str) -> None:
    import sys

    print(f"lockstep: {message}", file=sys.stderr, flush=True)


def ensure_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    """The raw schema and every source's raw tables (each source declares its own, in
    orchestration/sources/<source>/tables.py), and the rows they quarantined
    (raw.quarantined_rows, orchestration/lib/quarantine.py), so dbt finds every table it
    reads."""
    from orchestration.lib.quarantine import DDL as QUARANTINE_DDL
    from orchestration.sources import raw_ddl

    for ddl in ["CREATE SCHEMA IF NOT EXISTS raw", *raw_ddl(), *QUARANTINE_DDL]:
        con.execute(ddl)


def last_dates(con: duckdb.DuckDBPyConnection, spec: TableSpec) -> dict[str, date]:
    rows = con.execute(
        f"SELECT {spec.group}, max(date) FROM {spec.name} GROUP BY 1"
    ).fetchall()
    return {name: last for name, last in rows}


def _check_source_mix(con: duckdb.DuckDBPyConnection, spec: TableSpec, source: str) -> None:
    stored = {r[0] for r in con.execute(f"SELECT DISTINCT source FROM {spec.name}").fetchall()}
    synthetic_in = source == "demo"
    clash = {s for s in stored if (s == "demo") != synthetic_in}
    if clash:
        what = "synthetic demo" if synthetic_in else f"real ({source})"
        held = "synthetic demo" if "demo" in clash else "real (" + ", ".join(sorted(clash)) + ")"
        raise MixedSourceError(
            f"{spec.name} already holds {held} rows; refusing to add {what} rows to the same "
            f"warehouse. Point LOCKSTEP_WAREHOUSE at another file, or remove this one "
            f"(make clean-warehouse) if its contents can go."
        )


def upsert(
    con: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    frame: pd.DataFrame,
    source: str,
    ingested_at: datetime,
    also=None,
) -> pd.DataFrame:
    """Insert new keys and update changed rows of `spec.name`, in one transaction.

    Unchanged rows are not touched (their ingested_at stays), so re-running the same load
    changes nothing. The version a changed row replaces is kept in `spec.revisions` (with
    when it arrived and when it was replaced), so `spec.as_of` can read any past state.
    Returns per-group counts: received, inserted, updated, unchanged, first_date, last_date,
    and the first and last date of the rows inserted or updated (first_written,
    last_written; null when none was).
    `also(con)`, if given, runs in the same transaction, last (what the source keeps with
    the rows). On any error the transaction is rolled back: the table is as it was before
    the call.
    """
    key_a, key_b = spec.key
    columns = [key_a, key_b, *spec.values]
    incoming = frame[columns].copy()
    cols_sql = ", ".join(columns)
    changed = " OR ".join(
        [f"i.{c} IS DISTINCT FROM t.{c}" for c in spec.values] + ["i.source <> t.source"]
    )
    con.execute("BEGIN TRANSACTION")
    try:
        _check_source_mix(con, spec, source)
        con.register("lockstep_incoming_df", incoming)
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE lockstep_incoming AS
            SELECT {cols_sql}, ?::VARCHAR AS source, ?::TIMESTAMP AS ingested_at
            FROM lockstep_incoming_df
            """,
            [source, ingested_at],
        )
        con.unregister("lockstep_incoming_df")
        stats = con.execute(
            f"""
            SELECT i.{key_a} AS name,
                   count(*) AS received,
                   count(*) FILTER (WHERE t.{key_a} IS NULL) AS inserted,
                   count(*) FILTER (WHERE t.{key_a} IS NOT NULL AND ({changed})) AS updated,
                   min(i.{key_b}) AS first_date,
                   max(i.{key_b}) AS last_date,
                   min(i.{key_b}) FILTER (WHERE t.{key_a} IS NULL OR ({changed}))
                       AS first_written,
                   max(i.{key_b}) FILTER (WHERE t.{key_a} IS NULL OR ({changed}))
                       AS last_written
            FROM lockstep_incoming i
            LEFT JOIN {spec.name} t ON t.{key_a} = i.{key_a} AND t.{key_b} = i.{key_b}
            GROUP BY 1 ORDER BY 1
            """
        ).df()
        kept = [*spec.key, *spec.values, "source"]
        con.execute(
            f"""
            INSERT INTO {spec.revisions} ({", ".join(kept)}, received_at, replaced_at)
            SELECT {", ".join(f"t.{c}" for c in kept)}, t.ingested_at, i.ingested_at
            FROM {spec.name} t
            JOIN lockstep_incoming i ON t.{key_a} = i.{key_a} AND t.{key_b} = i.{key_b}
            WHERE {changed}
            """
        )
        set_sql = ", ".join(f"{c} = i.{c}" for c in [*spec.values, "source", "ingested_at"])
        con.execute(
            f"""
            UPDATE {spec.name} AS t SET {set_sql}
            FROM lockstep_incoming i
            WHERE t.{key_a} = i.{key_a} AND t.{key_b} = i.{key_b} AND ({changed})
            """
        )
        con.execute(
            f"""
            INSERT INTO {spec.name} ({cols_sql}, source, ingested_at)
            SELECT i.{cols_sql.replace(', ', ', i.')}, i.source, i.ingested_at
            FROM lockstep_incoming i
            ANTI JOIN {spec.name} t ON t.{key_a} = i.{key_a} AND t.{key_b} = i.{key_b}
            """
        )
        con.execute("DROP TABLE lockstep_incoming")
        if also is not None:
            also(con)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    stats["unchanged"] = stats["received"] - stats["inserted"] - stats["updated"]
    import pandas as pd

    for column in ("first_date", "last_date", "first_written", "last_written"):
        stats[column] = pd.to_datetime(stats[column]).dt.date
    return stats


def replace_table(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> None:
    """Replace the contents of a small reference table (the catalog) in one transaction."""
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"DELETE FROM {table}")
        con.register("lockstep_ref_df", frame)
        con.execute(f"INSERT INTO {table} ({', '.join(frame.columns)}) "
                    f"SELECT * FROM lockstep_ref_df")
        con.unregister("lockstep_ref_df")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
