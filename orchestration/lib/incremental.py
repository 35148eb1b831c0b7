"""When dbt's incremental models must be rebuilt whole (docs/incremental.md).

An incremental model recomputes only the rows whose inputs changed since the last build,
which is right only while its logic is the logic that built the stored rows. So the build
records a fingerprint of the logic it ran -- every model's and macro's SQL, the dbt vars,
dbt's version -- in the warehouse (ops.dbt_build_state), and the next build compares: a
changed fingerprint, no record of one, or a request (LOCKSTEP_FULL_REFRESH=1, or
`full_refresh: true` in the run's config) makes it a `dbt build --full-refresh`.

int_running_peaks diffs its input against what it stored; mart_daily_brief cannot compare
its inputs cheaply. So the build tells them where the inputs changed (CHANGED_FROM): the
first date of a new or revised bar or observation, by raw's arrival times (and of a row
quarantined or resolved since, raw.quarantined_rows). Every brief row
uses only what was known by its day, so its recomputing starts there; the running peaks
compare only the rows from there on. The arrival time the last build read up to is
recorded beside the fingerprint (ops.dbt_input_state) with a digest of the reference
tables (instruments, FRED series, trading sessions up to the newest price then); when that
digest differs, or nothing is recorded, every date is computed (and compared).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

# how the dbt asset hands mart_daily_brief the first date whose inputs changed: an
# environment variable, not a dbt var (a changed var makes dbt parse the whole project again,
# and this one changes every day); unset, the brief computes every date
CHANGED_FROM = "LOCKSTEP_INPUTS_CHANGED_FROM"

INCREMENTALLY = "built incrementally (only the rows whose inputs changed)"

STATE_DDL = [
    "CREATE SCHEMA IF NOT EXISTS ops",
    """
    CREATE TABLE IF NOT EXISTS ops.dbt_build_state (
        fingerprint VARCHAR   NOT NULL,
        recorded_at TIMESTAMP NOT NULL
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS ops.dbt_input_state (
        inputs_through   TIMESTAMP,
        last_date        DATE,
        reference_digest VARCHAR,
        recorded_at      TIMESTAMP NOT NULL
    )
    """,
]


def logic_fingerprint(project_dir: Path, dbt_version: str, engine: str = "duckdb") -> str:
    """A hash of what decides the rows an incremental build writes: the SQL of every model
    and macro (the files, so an edit counts even before the manifest is re-parsed), the
    seeds, the project's vars, dbt's version and the engine (the stored rows of an
    incremental model are the engine's: after a switch, the first build is whole)."""
    import yaml

    digest = hashlib.sha256(f"dbt {dbt_version}\n".encode())
    if engine != "duckdb":  # (DuckDB's fingerprints stay what they were)
        digest.update(f"engine {engine}\n".encode())
    files = sorted([*project_dir.glob("models/**/*.sql"), *project_dir.glob("macros/**/*.sql"),
                    *project_dir.glob("seeds/**/*.csv")])
    for path in files:
        digest.update(f"{path.relative_to(project_dir)}\n".encode())
        digest.update(path.read_bytes())
    project = yaml.safe_load((project_dir / "dbt_project.yml").read_text())
    digest.update(json.dumps(project.get("vars") or {}, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def incremental_models(manifest: dict) -> set[str]:
    return {n["name"] for n in manifest["nodes"].values()
            if n["resource_type"] == "model" and n["config"].get("materialized") == "incremental"}


def _stored(warehouse: Path) -> tuple[set[str], str | None]:
    """The warehouse's table names (without schema) and the recorded fingerprint, read once."""
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = {r[0] for r in con.execute("SELECT schema_name || '.' || table_name "
                                            "FROM duckdb_tables()").fetchall()}
        stored = con.execute("SELECT fingerprint FROM ops.dbt_build_state ORDER BY "
                             "recorded_at DESC LIMIT 1").fetchone() \
            if "ops.dbt_build_state" in tables else None
    return {t.split(".")[-1] for t in tables}, stored[0] if stored else None


def _reason(stored: tuple[set[str], str | None] | None, fingerprint: str,
            requested: str | bool | None, models: set[str]) -> str | None:
    if requested:  # why it was asked for (True: the setting)
        return requested if isinstance(requested, str) else "LOCKSTEP_FULL_REFRESH=1"
    if stored is None:  # no warehouse yet
        return None
    tables, recorded = stored
    if models and not tables & set(models):
        return None
    if recorded is None:
        return "no record of the logic the stored rows were built with"
    if recorded != fingerprint:
        return "a model, a macro, a dbt var or dbt's version changed since the last build"
    return None


def full_refresh_reason(warehouse: Path, fingerprint: str, requested: str | bool | None,
                        models: set[str] = frozenset()) -> str | None:
    """Why this build must rebuild the incremental models (`models`, by name) whole, or
    None. None too when none of them is stored yet: dbt builds them whole anyway."""
    if requested or not Path(warehouse).exists():
        return _reason(None, fingerprint, requested, models)
    return _reason(_stored(warehouse), fingerprint, requested, models)


def build_mode(warehouse: Path, fingerprint: str, requested: str | bool | None,
               models: set[str]) -> tuple[bool, str]:
    """(pass --full-refresh?, how the incremental models are built, in words): the metadata
    their materializations carry and the line `make run` prints."""
    stored = _stored(warehouse) if Path(warehouse).exists() else None
    why = _reason(stored, fingerprint, requested, models)
    if why:
        return True, f"rebuilt whole ({why})"
    if stored is None or not stored[0] & set(models):
        return False, "built whole (the first build of this warehouse)"
    return False, INCREMENTALLY


def record_fingerprint(warehouse: Path, fingerprint: str) -> None:
    """After a successful build of every incremental model: the logic the rows are from."""
    import duckdb

    with duckdb.connect(str(warehouse)) as con:
        for ddl in STATE_DDL:
            con.execute(ddl)
        con.execute("BEGIN TRANSACTION")
        con.execute("DELETE FROM ops.dbt_build_state")
        con.execute("INSERT INTO ops.dbt_build_state VALUES (?, ?)",
                    [fingerprint, datetime.now(UTC).replace(tzinfo=None)])
        con.execute("COMMIT")


# ---------------------------------------------------------------- where the inputs changed

@dataclass(frozen=True)
class InputState:
    """What a build read: raw's newest arrival time, the newest stored price date, and the
    digest of the reference tables (trading sessions up to that date)."""

    inputs_through: datetime | None
    last_date: date | None
    reference_digest: str


_ARRIVALS = """
    SELECT 'symbol ' || symbol AS key, date, ingested_at FROM raw.market_prices
    UNION ALL
    SELECT 'series ' || series_id AS key, date, ingested_at FROM raw.fred_observations
"""


# the reference tables a brief row reads, each with the rows of it that matter
_REFERENCE = (("raw.instruments", "true"), ("raw.fred_series", "true"),
              ("raw.trading_sessions", "t.session_date <= CAST($last AS DATE)"))


def _reference_digest(con, last_date: date | None) -> str:
    parts = con.execute("SELECT " + ", ".join(
        f"(SELECT count(*) || ':' || coalesce(sum(hash(t)), 0) FROM {table} AS t "
        f"WHERE {rows})" for table, rows in _REFERENCE), {"last": last_date}).fetchone()
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()


# when quarantined rows appeared or were resolved (orchestration/lib/quarantine.py), with
# the first date whose brief rows name them (applies_from; null: every date)
_QUARANTINE_CHANGES = """
    SELECT applies_from, quarantined_at AS changed_at FROM raw.quarantined_rows
    UNION ALL
    SELECT applies_from, resolved_at FROM raw.quarantined_rows WHERE resolved_at IS NOT NULL
"""


def _has_quarantine(con) -> bool:
    return con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'raw' "
                       "AND table_name = 'quarantined_rows'").fetchone()[0] > 0


def current_inputs(con) -> InputState:
    """The input state a build that starts now reads (recorded after it succeeds)."""
    through, last = con.execute(
        f"SELECT max(ingested_at), max(date) FILTER (WHERE key LIKE 'symbol %') "
        f"FROM ({_ARRIVALS})").fetchone()
    if _has_quarantine(con):
        changed = con.execute(f"SELECT max(changed_at) FROM ({_QUARANTINE_CHANGES})"
                              ).fetchone()[0]
        through = max((t for t in (through, changed) if t is not None), default=None)
    return InputState(through, last, _reference_digest(con, last))


def _quarantine_changed_from(con, since: datetime) -> tuple[bool, date | None]:
    """(whether a quarantined row that names every date changed, the first applies_from of
    those that changed since `since`)."""
    if not _has_quarantine(con):
        return False, None
    every, first = con.execute(
        f"SELECT count(*) FILTER (WHERE applies_from IS NULL), min(applies_from) "
        f"FROM ({_QUARANTINE_CHANGES}) WHERE changed_at > $since", {"since": since}).fetchone()
    return every > 0, first


def _recorded_inputs(con) -> InputState | None:
    exists = con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'ops' "
                         "AND table_name = 'dbt_input_state'").fetchone()[0]
    row = con.execute("SELECT inputs_through, last_date, reference_digest FROM "
                      "ops.dbt_input_state ORDER BY recorded_at DESC LIMIT 1").fetchone() \
        if exists else None
    return InputState(*row) if row else None


def inputs_changed_from(con) -> tuple[date | None, str]:
    """(the first date whose inputs changed since the recorded build, in words); None: no
    usable record, so every date is computed.

    Per symbol or series: the first date among the bars or observations that arrived since
    (new or revised), and the day after its newest date before them (what a later model
    reads as "the latest so far" may stop there: a gap the new rows close counts as
    changed). A symbol or series seen for the first time, or changed reference tables,
    mean every date."""
    recorded = _recorded_inputs(con)
    if recorded is None or recorded.inputs_through is None:
        return None, "every date (no record of the inputs the last build read)"
    if _reference_digest(con, recorded.last_date) != recorded.reference_digest:
        return None, "every date (the instruments, FRED series or trading sessions changed)"
    # per symbol or series with rows that arrived since: the first of their dates, and the
    # newest date the warehouse held before them (its kept revisions included)
    rows = con.execute(f"""
        WITH changed AS (
            SELECT key, min(date) AS first_changed
            FROM ({_ARRIVALS}) WHERE ingested_at > $since GROUP BY key
        ),
        held AS (
            SELECT 'symbol ' || symbol AS key, max(date) AS last_before
            FROM raw.market_prices_as_of($since) GROUP BY 1
            UNION ALL
            SELECT 'series ' || series_id AS key, max(date) AS last_before
            FROM raw.fred_observations_as_of($since) GROUP BY 1
        )
        SELECT c.key, c.first_changed, h.last_before
        FROM changed AS c LEFT JOIN held AS h USING (key)
    """, {"since": recorded.inputs_through}).fetchall()
    new = sorted(key for key, _, before in rows if before is None)
    if new:
        return None, f"every date (first data of {', '.join(new[:3])}" \
                     f"{' and more' if len(new) > 3 else ''})"
    every, quarantined_from = _quarantine_changed_from(con, recorded.inputs_through)
    if every:
        return None, "every date (a quarantined row with no usable date changed)"
    if not rows and quarantined_from is None:
        last = con.execute("SELECT max(date) FROM raw.market_prices").fetchone()[0]
        return (last + timedelta(days=1) if last else None), "none (no new or revised inputs)"
    starts = [min(first, before + timedelta(days=1)) for _, first, before in rows]
    start = min([*starts, *([quarantined_from] if quarantined_from else [])])
    what = [f"{len(rows)} symbols or series with new or revised rows"] if rows else []
    if quarantined_from:
        what.append(f"quarantined rows from {quarantined_from:%Y-%m-%d} changed")
    return start, f"from {start:%Y-%m-%d} on ({'; '.join(what)})"


def changed_from(warehouse: Path) -> tuple[date | None, str]:
    """inputs_changed_from on the warehouse file (read-only)."""
    import duckdb

    if not Path(warehouse).exists():
        return None, "every date (the first build of this warehouse)"
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return inputs_changed_from(con)


def record_inputs(warehouse: Path) -> None:
    """After a successful build of what reads inputs_changed_from: what it read."""
    import duckdb

    with duckdb.connect(str(warehouse)) as con:
        for ddl in STATE_DDL:
            con.execute(ddl)
        state = current_inputs(con)
        con.execute("BEGIN TRANSACTION")
        con.execute("DELETE FROM ops.dbt_input_state")
        con.execute("INSERT INTO ops.dbt_input_state VALUES (?, ?, ?, ?)",
                    [state.inputs_through, state.last_date, state.reference_digest,
                     datetime.now(UTC).replace(tzinfo=None)])
        con.execute("COMMIT")
