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

if TYPE_CHECKING:  # imported where used: the code location loads without them
    import duckdb
    import pandas as pd

DEFAULT_LOCK_TIMEOUT_S = 1800.0
# DuckDB's memory_limit for every connection lockstep opens (and dbt's, through
# LOCKSTEP_DUCKDB_MEMORY_LIMIT; dbt_project/profiles.yml): below DuckDB's own 80 % of RAM, so
# the Python process beside it (pandas frames of a first load) has room. Beyond it DuckDB
# spills to <warehouse>.tmp/ next to the file.
DEFAULT_MEMORY_LIMIT = "60%"
READER_TIMEOUT_S = 30.0  # a reader waits this long for a writer to finish, then says so
DUCKDB_LOCK_ERROR = "Could not set lock on file"


def lock_timeout() -> float:
    """LOCKSTEP_LOCK_TIMEOUT, read when a run needs it (seconds a writer waits)."""
    raw = (os.environ.get("LOCKSTEP_LOCK_TIMEOUT") or "").strip()
    return float(raw) if raw else DEFAULT_LOCK_TIMEOUT_S

def memory_limit() -> str:
    """LOCKSTEP_DUCKDB_MEMORY_LIMIT (a size such as 12GB, or a share of RAM such as 50%)."""
    return (os.environ.get("LOCKSTEP_DUCKDB_MEMORY_LIMIT") or "").strip() or DEFAULT_MEMORY_LIMIT

DB_FILE = "lockstep.duckdb"  # the published copy's file name (orchestration/lib/publish.py)


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


class MixedSourceError(RuntimeError):
    """Refuses to mix synthetic (demo) rows with real rows in one warehouse."""


def lock_path(warehouse: Path) -> Path:
    return Path(str(warehouse) + ".lock")


@contextmanager
def writer_lock(warehouse: Path, timeout: float | None = None, log=None) -> Iterator[None]:
    """Exclusive, waiting lock for writers of `warehouse` (released if the process dies)."""
    timeout = lock_timeout() if timeout is None else timeout
    warehouse = Path(warehouse)
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path(warehouse), os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + timeout
    announced = False
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise WarehouseLockTimeout(
                        f"another run has been writing {warehouse} for over {timeout:.0f} s; "
                        f"gave up waiting for {lock_path(warehouse)}"
                    ) from None
                if log is not None and not announced:
                    log(f"waiting for another writer of {warehouse} to finish")
                    announced = True
                time.sleep(0.2)
        yield
    finally:
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


def lock_holder(message: str) -> str:
    """Who holds the file, from DuckDB's lock error: the program and PID it names, and that
    process's command line when this machine can read it."""
    import re

    found = re.search(r"held in (.+?) \(PID (\d+)\)", message)
    if not found:
        return "another process"
    program, pid = found.groups()
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        cmdline = ""
    return f"PID {pid} ({cmdline[:120] or program})"


@contextmanager
def connect(warehouse: Path, read_only: bool = False, timeout: float | None = None,
            log=None) -> Iterator[duckdb.DuckDBPyConnection]:
    """Short-lived connection; writers must hold `writer_lock`.

    DuckDB refuses to open a file another process holds (a SQL client, even read-only, keeps
    a writer out). Instead of failing at once, wait for it: writers up to
    LOCKSTEP_LOCK_TIMEOUT, readers up to READER_TIMEOUT_S, naming the holder once in `log`;
    then fail with a message that says what to do.
    """
    warehouse = Path(warehouse)
    if not read_only:
        warehouse.parent.mkdir(parents=True, exist_ok=True)
    import duckdb

    timeout = (READER_TIMEOUT_S if read_only else lock_timeout()) if timeout is None else timeout
    deadline = time.monotonic() + timeout
    announced = False
    while True:
        try:
            con = duckdb.connect(str(warehouse), read_only=read_only)
            break
        except duckdb.IOException as exc:
            if DUCKDB_LOCK_ERROR not in str(exc):
                raise
            holder = lock_holder(str(exc))
            if time.monotonic() > deadline:
                raise WarehouseBusy(busy_message(warehouse, holder, timeout, read_only)) from None
            if not announced:
                (log or _stderr)(f"{warehouse} is held open by {holder}; waiting up to "
                                 f"{timeout:.0f} s for it to close")
                announced = True
            time.sleep(0.5)
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
    configured = (os.environ.get("LOCKSTEP_PUBLISH_DIR") or "").strip()
    root = Path(configured) if configured else Path(warehouse).parent / "published"
    published = root / "current" / DB_FILE
    if read_only:
        return (f"{warehouse} is being written by {holder} (a refresh); waited {timeout:.0f} s. "
                f"Try again when it ends, or read the published copy ({published}).")
    return (f"{warehouse} is held open by {holder} for over {timeout:.0f} s, so the refresh "
            f"cannot write it. Close that client (SQL and BI tools should read the published "
            f"copy, {published}, which never blocks a refresh), then run again; "
            f"LOCKSTEP_LOCK_TIMEOUT sets how long a refresh waits.")


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
    Returns per-group counts: received, inserted, updated, unchanged, first_date, last_date.
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
                   max(i.{key_b}) AS last_date
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

    for column in ("first_date", "last_date"):
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
