"""When dbt's incremental models must be rebuilt whole (README, "Incremental marts").

An incremental model recomputes only the rows whose inputs changed since the last build,
which is right only while its logic is the logic that built the stored rows. So the build
records a fingerprint of the logic it ran -- every model's and macro's SQL, the dbt vars,
dbt's version -- in the warehouse (ops.dbt_build_state), and the next build compares: a
changed fingerprint, no record (a warehouse built before the record existed), or
LOCKSTEP_FULL_REFRESH=1 makes it a `dbt build --full-refresh`.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

STATE_DDL = [
    "CREATE SCHEMA IF NOT EXISTS ops",
    """
    CREATE TABLE IF NOT EXISTS ops.dbt_build_state (
        fingerprint VARCHAR   NOT NULL,
        recorded_at TIMESTAMP NOT NULL
    )
    """,
]


def logic_fingerprint(project_dir: Path, dbt_version: str) -> str:
    """A hash of what decides the rows an incremental build writes: the SQL of every model
    and macro (the files, so an edit counts even before the manifest is re-parsed), the
    project's vars and dbt's version."""
    import yaml

    digest = hashlib.sha256(f"dbt {dbt_version}\n".encode())
    files = sorted([*project_dir.glob("models/**/*.sql"), *project_dir.glob("macros/**/*.sql")])
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


def _reason(stored: tuple[set[str], str | None] | None, fingerprint: str, requested: bool,
            models: set[str]) -> str | None:
    if requested:
        return "LOCKSTEP_FULL_REFRESH=1"
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


def full_refresh_reason(warehouse: Path, fingerprint: str, requested: bool,
                        models: set[str] = frozenset()) -> str | None:
    """Why this build must rebuild the incremental models (`models`, by name) whole, or
    None. None too when none of them is stored yet: dbt builds them whole anyway."""
    if requested or not Path(warehouse).exists():
        return _reason(None, fingerprint, requested, models)
    return _reason(_stored(warehouse), fingerprint, requested, models)


def build_mode(warehouse: Path, fingerprint: str, requested: bool,
               models: set[str]) -> tuple[bool, str]:
    """(pass --full-refresh?, how the incremental models are built, in words): the metadata
    their materializations carry and the line `make run` prints."""
    stored = _stored(warehouse) if Path(warehouse).exists() else None
    why = _reason(stored, fingerprint, requested, models)
    if why:
        return True, f"rebuilt whole ({why})"
    if stored is None or not stored[0] & set(models):
        return False, "built whole (the first build of this warehouse)"
    return False, "built incrementally (only the rows whose inputs changed)"


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
