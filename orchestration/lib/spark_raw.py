"""The raw tables handed to the Spark engine as Parquet (LOCKSTEP_ENGINE=spark; docs/spark.md).

Ingestion is the same on both engines: validated, upserted, revisions kept, in the DuckDB
warehouse. Before a Spark build, `export_raw` writes its raw tables to Parquet under
<spark dir>/raw, where dbt's sources on Spark read them (macro register_raw_sources, run
at the start of every Spark build):

    raw/market_prices/year=2024   -> .versions/market_prices/year=2024-<digest>/  (a symlink)
    raw/instruments               -> .versions/instruments/all-<digest>/

The tables of dated rows (prices, observations) are partitioned by year; the reference
tables (instruments, series, trading sessions, quarantined rows) are one directory each.
Each partition carries the digest of its rows (count and sum of row hashes) in its name, so
a daily run rewrites only the years whose rows changed -- the new year, and the past years
a revision touched. A partition is written whole into a new directory first, then the
symlink that names it is replaced in one rename (`os.replace`): a reader lists either the
old directory or the new one, never a half written one. The old directories are removed
afterwards.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

# raw table -> the date column it is partitioned by the year of (None: one directory)
RAW_TABLES: dict[str, str | None] = {
    "market_prices": "date",
    "fred_observations": "date",
    "trading_sessions": None,  # reference: 40,000 rows, changed only with a calendar
    "instruments": None,
    "fred_series": None,
    "quarantined_rows": None,
}
VERSIONS = ".versions"


@dataclass(frozen=True)
class Exported:
    """What one export did, for the dbt step's log."""

    written: dict[str, list[str]]  # table -> partitions rewritten ('year=2024', 'all')
    kept: int  # partitions whose rows had not changed
    removed: dict[str, list[str]]  # table -> partitions whose rows are gone

    def summary(self) -> str:
        n = sum(len(v) for v in self.written.values())
        parts = [f"{t} {', '.join(_years(p))}" for t, p in self.written.items() if p]
        gone = [f"{t} {', '.join(p)}" for t, p in self.removed.items() if p]
        return (f"raw tables exported to Parquet for Spark: {n} partition"
                f"{'' if n == 1 else 's'} rewritten ({'; '.join(parts) or 'none'}), "
                f"{self.kept} unchanged" + (f"; removed: {'; '.join(gone)}" if gone else ""))


def _years(partitions: list[str]) -> list[str]:
    years = sorted(p.removeprefix("year=") for p in partitions)
    if len(years) > 6:
        return [f"{len(years)} years, {years[0]}-{years[-1]}"]
    return years


def _digests(con, table: str, date_column: str | None) -> dict[str, str]:
    """partition name -> digest of its rows (row count and the sum of the rows' hashes)."""
    part = f"'year=' || year({date_column})" if date_column else "'all'"
    rows = con.execute(
        f"SELECT {part} AS p, count(*) || '-' || coalesce(sum(hash(t)), 0) "
        f"FROM raw.{table} AS t GROUP BY p").fetchall()
    return {p: digest for p, digest in rows}


def _current(link: Path) -> Path | None:
    return link.resolve() if link.is_symlink() else None


def _swap(link: Path, target: Path) -> None:
    """Point `link` at `target` in one rename: readers see the old target or the new one."""
    tmp = link.with_name(f".{link.name}.{os.getpid()}.link")
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(os.path.relpath(target, link.parent))
    os.replace(tmp, link)


def export_raw(warehouse: Path, root: Path) -> Exported:
    """Write the warehouse's raw tables under `root` (<spark dir>/raw), rewriting only the
    partitions whose rows changed since the last export."""
    import duckdb

    root.mkdir(parents=True, exist_ok=True)
    written: dict[str, list[str]] = {}
    removed: dict[str, list[str]] = {}
    kept = 0
    with duckdb.connect(str(warehouse), read_only=True) as con:
        present = {r[0] for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'raw'").fetchall()}
        for table, date_column in RAW_TABLES.items():
            if table not in present:
                continue
            versions = root / VERSIONS / table
            versions.mkdir(parents=True, exist_ok=True)
            digests = _digests(con, table, date_column)
            if date_column is None:
                digests.setdefault("all", "0-0")  # an empty table is still a table
            written[table], old = [], []
            for partition, digest in sorted(digests.items()):
                link = (root / table / partition) if date_column else root / table
                target = versions / f"{partition}-{digest}"
                if _current(link) == target.resolve() and target.is_dir():
                    kept += 1
                    continue
                _write(con, table, date_column, partition, target)
                link.parent.mkdir(parents=True, exist_ok=True)
                previous = _current(link)
                _swap(link, target)
                written[table].append(partition)
                if previous is not None and previous != target.resolve():
                    old.append(previous)
            if date_column:
                removed[table] = []
                for link in sorted((root / table).glob("year=*")):
                    if link.name not in digests:
                        old.append(_current(link) or link)
                        link.unlink()
                        removed[table].append(link.name)
            for directory in old:
                shutil.rmtree(directory, ignore_errors=True)
    return Exported(written, kept, removed)


def _write(con, table: str, date_column: str | None, partition: str, target: Path) -> None:
    """One partition's rows, written whole into `target` (a new directory) before anything
    names it."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    where = f"WHERE year({date_column}) = {int(partition.removeprefix('year='))}" \
        if date_column else ""
    order = f"ORDER BY {date_column}" if date_column else ""
    con.execute(f"COPY (SELECT * FROM raw.{table} {where} {order}) "
                f"TO '{tmp / 'part-0.parquet'}' (FORMAT parquet)")
    shutil.rmtree(target, ignore_errors=True)
    os.replace(tmp, target)
