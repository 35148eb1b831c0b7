"""Publish the marts for readers: Parquet per mart and a read-only DuckDB file, written to a
new versioned directory and swapped in atomically.

    <publish root>/v-<tag>/lockstep.duckdb       schema marts, every mart as a table
    <publish root>/v-<tag>/parquet/<mart>.parquet
    <publish root>/v-<tag>/manifest.json         tables, row counts, when, source
    <publish root>/v-<tag>/brief.md              the latest day's brief (orchestration/brief.py)
    <publish root>/current -> v-<tag>            (a symlink, replaced atomically)

A reader opens `current/...`: it gets the old version or the new one, never a mix, and
holding a file open never blocks a refresh (the refresh writes only the live warehouse and a
new directory). The two newest versions are kept; older ones are removed (a reader that
still holds one open keeps reading it until it closes).

Every table and column comment of the live marts (dbt's descriptions, persisted by dbt's
persist_docs) is copied into the published DuckDB file, so a BI or SQL user of the copy sees
them in duckdb_tables() / duckdb_columns() and in their tool's column list.

The DuckDB file is written with STORAGE_VERSION 'v1.0.0', which DuckDB 1.0 and later read,
so BI tools that embed an older DuckDB than ours (2.x) can open it.
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

STORAGE_VERSION = "v1.0.0"
KEEP_VERSIONS = 2
DB_NAME = "lockstep.duckdb"
BRIEF_NAME = "brief.md"


def current_path(root: Path) -> Path:
    return Path(root) / "current"


def publish_marts(warehouse: Path, root: Path, tag: str, log=None) -> dict:
    """Copy every table and view of schema `marts` out of `warehouse` (the caller holds the
    writer lock) into a new version under `root`, then point `root/current` at it."""
    from orchestration.lib.warehouse import connect

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"v-{tag}"
    staging = root / f".v-{tag}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "parquet").mkdir(parents=True)
    with connect(warehouse, log=log) as con:
        marts = [r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts' "
            "ORDER BY 1").fetchall()]
        if not marts:
            raise RuntimeError(f"{warehouse} has no marts to publish; build them first")
        target = str(staging / DB_NAME).replace("'", "''")
        con.execute(f"ATTACH '{target}' AS published (STORAGE_VERSION '{STORAGE_VERSION}')")
        try:
            # one transaction for the whole copy (it writes only to `published`): per
            # statement commits made the ~440 column comments cost about a second
            con.execute("BEGIN TRANSACTION")
            con.execute("CREATE SCHEMA published.marts")
            counts = {}
            for name in marts:
                con.execute(f'CREATE TABLE published.marts."{name}" AS '
                            f'SELECT * FROM marts."{name}"')
                _copy_comments(con, name)
                parquet = str(staging / "parquet" / f"{name}.parquet").replace("'", "''")
                con.execute(f"COPY (SELECT * FROM marts.\"{name}\") TO '{parquet}' "
                            "(FORMAT parquet)")
                counts[name] = con.execute(
                    f'SELECT count(*) FROM published.marts."{name}"').fetchone()[0]
            sources = sorted(r[0] for r in con.execute(
                "SELECT DISTINCT source FROM marts.mart_market_snapshot").fetchall()) \
                if "mart_market_snapshot" in marts else []
            brief_date = None
            if "mart_daily_brief" in marts:
                from orchestration.brief import BriefError, format_brief, read_rows

                try:
                    brief_date, rows = read_rows(con)
                except BriefError:
                    pass
                else:
                    (staging / BRIEF_NAME).write_text(format_brief(brief_date, rows))
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        finally:
            con.execute("DETACH published")
    manifest = {
        "version": tag,
        "published_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "storage_version": STORAGE_VERSION,
        "tables": counts,
        "sources": sources,
        "synthetic": "demo" in sources,
        "brief": BRIEF_NAME if brief_date else None,
        "brief_date": brief_date.isoformat() if brief_date else None,
    }
    (staging / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    os.rename(staging, final)  # the version appears whole
    link = root / f".current-{tag}"
    if link.is_symlink() or link.exists():
        link.unlink()
    os.symlink(final.name, link)
    os.replace(link, current_path(root))  # readers switch here, atomically
    _remove_old_versions(root)
    return {**manifest, "path": str(final)}


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _copy_comments(con, table: str) -> None:
    """The live table's (or view's) comment and its columns' comments, onto the published
    table."""
    [(comment,)] = con.execute(
        "SELECT comment FROM (SELECT database_name, schema_name, table_name, comment FROM "
        "duckdb_tables() UNION ALL SELECT database_name, schema_name, view_name, comment "
        "FROM duckdb_views()) WHERE database_name = current_database() "
        "AND schema_name = 'marts' AND table_name = ?", [table]).fetchall()
    if comment:
        con.execute(f'COMMENT ON TABLE published.marts."{table}" IS {_quote(comment)}')
    for column, text in con.execute(
            "SELECT column_name, comment FROM duckdb_columns() WHERE database_name = "
            "current_database() AND schema_name = 'marts' AND table_name = ? "
            "AND comment IS NOT NULL", [table]).fetchall():
        con.execute(f'COMMENT ON COLUMN published.marts."{table}"."{column}" '
                    f"IS {_quote(text)}")


def _remove_old_versions(root: Path) -> None:
    versions = sorted((p for p in root.glob("v-*") if p.is_dir()),
                      key=lambda p: p.stat().st_mtime, reverse=True)
    current = os.path.realpath(current_path(root))
    for old in versions[KEEP_VERSIONS:]:
        if os.path.realpath(old) != current:
            shutil.rmtree(old, ignore_errors=True)
    for partial in root.glob(".v-*.partial"):
        shutil.rmtree(partial, ignore_errors=True)
