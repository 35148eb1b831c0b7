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

LOCK_TIMEOUT_S = float(os.environ.get("LOCKSTEP_LOCK_TIMEOUT", "1800"))

RAW_DDL = [
    "CREATE SCHEMA IF NOT EXISTS raw",
    """
    CREATE TABLE IF NOT EXISTS raw.market_prices (
        symbol      VARCHAR   NOT NULL,
        date        DATE      NOT NULL,
        open        DOUBLE    CHECK (open > 0),
        high        DOUBLE    CHECK (high > 0),
        low         DOUBLE    CHECK (low > 0),
        close       DOUBLE    NOT NULL CHECK (close > 0),
        adj_close   DOUBLE    CHECK (adj_close > 0),
        volume      BIGINT    CHECK (volume >= 0),
        source      VARCHAR   NOT NULL,
        ingested_at TIMESTAMP NOT NULL,
        PRIMARY KEY (symbol, date)
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS raw.fred_observations (
        series_id   VARCHAR   NOT NULL,
        date        DATE      NOT NULL,
        value       DOUBLE    NOT NULL,
        source      VARCHAR   NOT NULL,
        ingested_at TIMESTAMP NOT NULL,
        PRIMARY KEY (series_id, date)
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS raw.instruments (
        symbol       VARCHAR PRIMARY KEY,
        name         VARCHAR NOT NULL,
        asset_class  VARCHAR NOT NULL,
        calendar      VARCHAR NOT NULL,
        history_note  VARCHAR,
        display_order INTEGER
    )
    """,
    # warehouses created before the catalog had history notes and an order
    "ALTER TABLE raw.instruments ADD COLUMN IF NOT EXISTS history_note VARCHAR",
    "ALTER TABLE raw.instruments ADD COLUMN IF NOT EXISTS display_order INTEGER",
    """
    CREATE TABLE IF NOT EXISTS raw.trading_sessions (
        calendar     VARCHAR NOT NULL,
        session_date DATE    NOT NULL,
        PRIMARY KEY (calendar, session_date)
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS raw.fred_series (
        series_id VARCHAR PRIMARY KEY,
        name      VARCHAR NOT NULL,
        units     VARCHAR NOT NULL,
        frequency VARCHAR NOT NULL
    )
    """,
]


@dataclass(frozen=True)
class TableSpec:
    name: str
    key: tuple[str, str]
    values: tuple[str, ...]

    @property
    def group(self) -> str:
        return self.key[0]


MARKET = TableSpec(
    "raw.market_prices",
    ("symbol", "date"),
    ("open", "high", "low", "close", "adj_close", "volume"),
)
FRED = TableSpec("raw.fred_observations", ("series_id", "date"), ("value",))


class WarehouseLockTimeout(RuntimeError):
    pass


class MixedSourceError(RuntimeError):
    """Refuses to mix synthetic (demo) rows with real rows in one warehouse."""


def lock_path(warehouse: Path) -> Path:
    return Path(str(warehouse) + ".lock")


@contextmanager
def writer_lock(warehouse: Path, timeout: float = LOCK_TIMEOUT_S, log=None) -> Iterator[None]:
    """Exclusive, waiting lock for writers of `warehouse` (released if the process dies)."""
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


@contextmanager
def connect(warehouse: Path, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """Short-lived connection; writers must hold `writer_lock`."""
    warehouse = Path(warehouse)
    if not read_only:
        warehouse.parent.mkdir(parents=True, exist_ok=True)
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=read_only)
    try:
        yield con
    finally:
        con.close()


def ensure_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    for ddl in RAW_DDL:
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
) -> pd.DataFrame:
    """Insert new keys and update changed rows of `spec.name`, in one transaction.

    Unchanged rows are not touched (their ingested_at stays), so re-running the same load
    changes nothing. Returns per-group counts: received, inserted, updated, unchanged,
    first_date, last_date. On any error the transaction is rolled back: the table is as it
    was before the call.
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
