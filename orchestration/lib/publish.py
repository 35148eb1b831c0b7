"""Publish the marts for readers: Parquet per mart and a read-only DuckDB file, written to a
new versioned directory and swapped in atomically.

    <publish root>/v-<tag>/lockstep.duckdb       schema marts, every mart as a table
    <publish root>/v-<tag>/parquet/<mart>/<year>.parquet   rows of one year (of the mart's
                                                 date column); undated.parquet for rows
                                                 without one; all.parquet for a mart with
                                                 no date column
    <publish root>/v-<tag>/manifest.json         tables, row counts, when, source
    <publish root>/v-<tag>/brief.md              the latest day's brief (orchestration/brief.py)
    <publish root>/current -> v-<tag>            (a symlink, replaced atomically)

A reader opens `current/...`: it gets the old version or the new one, never a mix, and
holding a file open never blocks a refresh (the refresh writes only the live warehouse and a
new directory). The two newest versions are kept; older ones are removed (a reader that
still holds one open keeps reading it until it closes).

A new version starts from an earlier one and changes only what differs, so a daily
refresh costs what changed, not the whole history: per mart, the rows of each date (the
mart's date column; the whole table if it has none) are compared by count and a sum of row
hashes with the live mart, and only the dates that differ are deleted and inserted again.
Each mart declares its date column once, in its dbt YAML (`config: meta: date_column:`); the
caller passes them (orchestration/project.py, `mart_date_columns`) and manifest.json lists
them for readers.
A mart whose dbt builds record the rows they rewrite (ops.mart_rewrites: the brief,
fct_all_time_highs, fct_divergence_daily, and fct_drawdowns_daily, a view that takes
int_running_peaks' record) has only those rows hashed (_live_digest).
A mart whose columns changed, or that changed in more than half its rows, is copied whole.
Parquet is split by year for the same reason: a year's file with no changed date is a hard
link to the previous version's (no Parquet file is ever written again), and only the
years that changed are written anew -- a daily refresh writes this year's files, not 30
years of them. The DuckDB file of the new version is the file of the version this publish
retires (the oldest kept, moved, never copied), when no process holds it open; else a copy of
the current one (_take_retired_file). Either way only the dates that differ from the file it
starts from are written. The result is the live marts, row for row (tests/test_publish.py compares
them); `changes` in manifest.json says what each mart took.

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
from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path

from orchestration.settings import DB_NAME, PUBLISHED_CURRENT

STORAGE_VERSION = "v1.0.0"
KEEP_VERSIONS = 2
BRIEF_NAME = "brief.md"
DIGESTS = ".digests.parquet"  # per mart and date: row count and sum of row hashes


def current_path(root: Path) -> Path:
    return Path(root) / PUBLISHED_CURRENT


def _previous_version(root: Path) -> Path | None:
    """The version `current` points at, if it is whole."""
    link = current_path(root)
    if not link.exists():
        return None
    version = Path(os.path.realpath(link))
    return version if _is_whole(version) else None


def _is_whole(version: Path) -> bool:
    """A version this module wrote whole: its DuckDB file, manifest and digests."""
    return all((version / name).is_file() for name in (DB_NAME, "manifest.json", DIGESTS))


def publish_marts(warehouse: Path, root: Path, tag: str, *,
                  date_columns: Mapping[str, str | None], log=None) -> dict:
    """Copy every table and view of schema `marts` out of `warehouse` (the caller holds the
    writer lock) into a new version under `root`, then point `root/current` at it. The new
    version starts from the current one and takes only what changed (module docstring).
    `date_columns`: each mart's date column as it declares it (None, or a mart not named:
    it has none)."""
    from orchestration.lib.warehouse import connect

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"v-{tag}"
    staging = root / f".v-{tag}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "parquet").mkdir(parents=True)
    previous, retired = _previous_version(root), None
    with connect(warehouse, log=log) as con:
        marts = [r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts' "
            "ORDER BY 1").fetchall()]
        if not marts:
            raise RuntimeError(f"{warehouse} has no marts to publish; build them first")
        slices = _slice_columns(con, marts, date_columns)
        if previous is not None:
            # the version this one starts from: the DuckDB file of a version this publish
            # retires, when no reader holds it and it costs no more hashing than the
            # current one (no copy); else a copy of the current one
            retired = _take_retired_file(root, previous, staging / DB_NAME,
                                         lambda version: _hashed_whole(con, version)
                                         <= _hashed_whole(con, previous))
            if retired is not None:
                previous = retired
            else:
                shutil.copyfile(previous / DB_NAME, staging / DB_NAME)
        con.execute(f"ATTACH {_quote(str(staging / DB_NAME))} AS published "
                    f"(STORAGE_VERSION '{STORAGE_VERSION}')")
        try:
            since, rewrites_seen = _unchanged_before(con, previous)
            _digests(con, slices, previous, since)
            # one transaction for the whole copy (it writes only to `published`): per
            # statement commits made the ~440 column comments cost about a second
            con.execute("BEGIN TRANSACTION")
            try:
                counts, changes, sources, brief_date = _write_version(con, slices, staging,
                                                                      previous)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
            # Parquet has no 128-bit integer (DuckDB would write a DOUBLE): h as text
            con.execute(f"COPY (SELECT mart, slice, n, h::VARCHAR AS h FROM "
                        f"lockstep_live_digest) TO {_quote(str(staging / DIGESTS))} "
                        "(FORMAT parquet)")
        finally:
            con.execute("DETACH published")
            con.execute("DROP TABLE IF EXISTS lockstep_live_digest")
            con.execute("DROP TABLE IF EXISTS lockstep_old_digest")
    manifest = {
        "version": tag,
        "published_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "storage_version": STORAGE_VERSION,
        "tables": counts,
        "started_from": previous.name if previous else None,
        "reused_retired_file": retired is not None,
        "changes": changes,
        "sources": sources,
        "synthetic": "demo" in sources,
        "brief": BRIEF_NAME if brief_date else None,
        "brief_date": brief_date.isoformat() if brief_date else None,
        "rewrites_seen": rewrites_seen,
        "date_columns": slices,
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


def _take_retired_file(root: Path, current: Path, target: Path,
                       worth_it=lambda version: True) -> Path | None:
    """Move the DuckDB file of the newest whole version that this publish retires (every
    version but `current` beyond the KEEP_VERSIONS - 1 newest others) to `target`, and
    return that version; None when there is none, when `worth_it(version)` says no, or when
    a process holds its file open (DuckDB keeps a POSIX lock on an open file: a reader's
    shared lock refuses our exclusive one).

    A version is retired only after the one that replaced it has been current for a whole
    publish, so readers have moved on; one still reading keeps its version untouched (the
    copy is taken instead). Without this, every publish would copy the whole current file
    (gigabytes for thousands of symbols) to change a few dates of it. Within this process,
    POSIX locks cannot tell: a reader in the process that publishes is not seen."""
    import fcntl

    versions = sorted((p for p in root.glob("v-*") if p.is_dir() and p != current
                       and _is_whole(p)),
                      key=lambda p: p.stat().st_mtime, reverse=True)
    retiring = versions[KEEP_VERSIONS - 2:] if KEEP_VERSIONS >= 2 else versions
    if not retiring:
        return None
    version = retiring[0]
    if not worth_it(version):
        return None
    try:
        fd = os.open(version / DB_NAME, os.O_RDWR)
    except OSError:
        return None
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # a reader has it open
        os.close(fd)
        return None
    try:
        os.rename(version / DB_NAME, target)  # no one opens it by its old path any more
    except OSError:
        return None
    finally:
        os.close(fd)  # our lock goes; DuckDB takes its own when it attaches the file
    return version


def _write_version(con, slices: dict[str, str | None], staging: Path, previous: Path | None):
    """Inside the publish transaction: every mart (`slices`: each with its date column) into
    `published` (only what changed), its comments and its Parquet file, and the brief.
    Returns (row counts, what each mart took, the sources of the rows, the brief's date)."""
    marts = list(slices)
    con.execute("CREATE SCHEMA IF NOT EXISTS published.marts")
    for (gone,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = 'published' "
            "AND schema_name = 'marts'").fetchall():
        if gone not in marts:
            con.execute(f'DROP TABLE published.marts."{gone}"')
    counts, changes = {}, {}
    for name in marts:
        live = _columns(con, "current_database()", name)
        try:
            changes[name], changed = _sync_table(con, name, live, slices[name])
            _copy_comments(con, name)
            _write_parquet(con, name, slices[name], staging / "parquet" / name,
                           previous / "parquet" / name if previous else None, changed)
        finally:
            con.execute("DROP TABLE IF EXISTS lockstep_changed_dates")
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
    return counts, changes, sources, brief_date


UNCHANGED = "unchanged"
COPIED = "copied whole"


def _columns(con, database: str, table: str) -> list[tuple[str, str]]:
    return con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = "
        f"{database} AND schema_name = 'marts' AND table_name = ? ORDER BY column_index",
        [table]).fetchall()


def _slice_columns(con, marts: list[str],
                   date_columns: Mapping[str, str | None]) -> dict[str, str | None]:
    """Per live mart, the column its rows are compared and split by: its declared date
    column (None: it has none, and is compared and written whole)."""
    slices = {}
    for name in marts:
        column = date_columns.get(name)
        kinds = dict(_columns(con, "current_database()", name))
        if column is not None and kinds.get(column) != "DATE":
            raise RuntimeError(
                f"marts.{name} declares date_column {column!r} (its YAML's meta), but "
                + (f"that column is {kinds[column]}, not DATE" if column in kinds
                   else "has no such column") + "; fix the declaration")
        slices[name] = column
    return slices


def _digest_sql(name: str, table: str, column: str | None, where: str = "") -> str:
    """Per date of the mart (its date column `t.<column>`; None: one slice), the row count
    and the sum of the row hashes; `where` limits the rows."""
    slice_sql = f't."{column}"' if column else "NULL::DATE"
    return (f"SELECT {_quote(name)} AS mart, {slice_sql} AS slice, count(*) AS n, "
            f"sum(hash(t)::HUGEINT) AS h FROM {table} t {where} GROUP BY ALL")


def _unchanged_before(con, previous: Path | None) -> tuple[dict[str, date], list | None]:
    """Per mart whose builds record the rows they rewrite (ops.mart_rewrites, written by
    dbt: macro record_rewritten_rows): the date before which no build rewrote a row of it
    since `previous` was published (date.max: no build since); a mart left out may have
    changed anywhere. And the newest record now, [id, when], which the new version's
    manifest keeps for the next publish. The previous version's record must still be there
    as it was (else the warehouse was replaced, or its records were): then every mart is
    left out."""
    if not _has_mart_rewrites(con):
        return {}, None
    newest = con.execute("SELECT id, rewritten_at FROM ops.mart_rewrites "
                         "ORDER BY id DESC LIMIT 1").fetchone()
    seen = newest and [newest[0], newest[1].isoformat()]
    manifest = previous / "manifest.json" if previous is not None else None
    before = json.loads(manifest.read_text()).get("rewrites_seen") if manifest else None
    if not before or not con.execute(
            "SELECT count(*) FROM ops.mart_rewrites WHERE id = ? AND rewritten_at = ?",
            [before[0], datetime.fromisoformat(before[1])]).fetchone()[0]:
        return {}, seen
    since = {}
    for mart, whole, first in con.execute(
            "SELECT mart, bool_or(rewritten_from IS NULL) FILTER (WHERE id > $1), "
            "min(rewritten_from) FILTER (WHERE id > $1) FROM ops.mart_rewrites GROUP BY 1",
            [before[0]]).fetchall():
        if not whole:
            since[mart] = first or date.max
    return since, seen


def _has_mart_rewrites(con) -> bool:
    """Whether the live warehouse has dbt's rewrite records (ops.mart_rewrites)."""
    return bool(con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = 'ops' AND table_name = 'mart_rewrites'").fetchone()[0])


def _hashed_whole(con, version: Path) -> set[str]:
    """The marts whose builds record the rows they rewrite that a publish starting from
    `version` would hash whole: a build since rewrote every row of them (the rebuild after an
    upgrade), or `version`'s record is gone. A version retired a publish after such a build
    would cost every row's hash again, where the current version costs only the day's."""
    if not _has_mart_rewrites(con):
        return set()
    recorded = {r[0] for r in con.execute(
        "SELECT DISTINCT mart FROM ops.mart_rewrites").fetchall()}
    since, _ = _unchanged_before(con, version)
    return recorded - set(since)


def _digests(con, slices: dict[str, str | None], previous: Path | None,
             since: dict[str, date]) -> None:
    """Temp tables of per-date digests: lockstep_old_digest of the version this one starts
    from (its DIGESTS file), and lockstep_live_digest of the live marts (_live_digest)."""
    con.execute("CREATE OR REPLACE TEMP TABLE lockstep_live_digest (mart VARCHAR, "
                "slice DATE, n BIGINT, h HUGEINT)")
    con.execute("CREATE OR REPLACE TEMP TABLE lockstep_old_digest AS "
                "SELECT * FROM lockstep_live_digest LIMIT 0")
    if previous is not None:
        con.execute(f"INSERT INTO lockstep_old_digest SELECT mart, slice, n, h::HUGEINT "
                    f"FROM read_parquet({_quote(str(previous / DIGESTS))})")
    for name, column in slices.items():
        _live_digest(con, name, since.get(name), column)


def _live_digest(con, name: str, since: date | None, column: str | None) -> None:
    """The live mart's digests into lockstep_live_digest. Every row is hashed, unless no
    build rewrote its rows before `since` (_unchanged_before): then only the dates from
    `since` on (and the undated rows) are; an earlier date keeps the previous version's
    digest when its row count, read from the date column alone, is still the same (a build
    that deleted rows there shows), and is hashed when not. So a daily refresh hashes the
    brief's last day, not its whole history."""
    table = f'marts."{name}"'
    insert = "INSERT INTO lockstep_live_digest "
    if since is None or column is None:
        con.execute(insert + _digest_sql(name, table, column))
        return
    col = f't."{column}"'
    con.execute(insert + _digest_sql(name, table, column,
                                     f"WHERE {col} >= $since OR {col} IS NULL"),
                {"since": since})
    con.execute(f"CREATE OR REPLACE TEMP TABLE lockstep_counts AS SELECT {col} AS slice, "
                f"count(*) AS n FROM {table} t WHERE {col} < $since GROUP BY 1",
                {"since": since})
    try:
        con.execute(insert + "SELECT $mart, o.slice, o.n, o.h FROM lockstep_counts c JOIN "
                    "lockstep_old_digest o ON o.mart = $mart AND o.slice = c.slice AND "
                    "o.n = c.n", {"mart": name})
        con.execute("CREATE OR REPLACE TEMP TABLE lockstep_rehash AS SELECT c.slice FROM "
                    "lockstep_counts c ANTI JOIN lockstep_old_digest o ON o.mart = $mart AND "
                    "o.slice = c.slice AND o.n = c.n", {"mart": name})
        if con.execute("SELECT count(*) FROM lockstep_rehash").fetchone()[0]:
            con.execute(insert + _digest_sql(
                name, table, column, f"WHERE {col} IN (SELECT slice FROM lockstep_rehash)"))
    finally:
        con.execute("DROP TABLE IF EXISTS lockstep_counts")
        con.execute("DROP TABLE IF EXISTS lockstep_rehash")


def _sync_table(con, name: str, live: list[tuple[str, str]],
                date_column: str | None) -> tuple[str, set | None]:
    """Make published.marts.<name> (live: the live mart's columns) equal marts.<name>,
    touching only the dates that differ; return what it took (UNCHANGED, COPIED, or how many
    dates were replaced) and the years whose rows changed (None in a year for rows without a
    date; None for all of them). The differing dates stay in the temp table
    lockstep_changed_dates for _write_parquet (the caller drops it)."""
    if _columns(con, "'published'", name) != live:
        con.execute(f'DROP TABLE IF EXISTS published.marts."{name}"')
        con.execute(f'CREATE TABLE published.marts."{name}" AS SELECT * FROM marts."{name}"')
        return COPIED, None
    # the differing dates in a temp table (a scan filtered by a registered DataFrame cannot
    # skip row groups: it reads the whole mart to insert a few dates)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE lockstep_changed_dates AS
        WITH l AS (SELECT * FROM lockstep_live_digest WHERE mart = $1),
             p AS (SELECT * FROM lockstep_old_digest WHERE mart = $1)
        SELECT coalesce(l.slice, p.slice) AS slice, coalesce(l.n, 0) AS n
        FROM l FULL JOIN p ON l.slice IS NOT DISTINCT FROM p.slice
        WHERE l.n IS DISTINCT FROM p.n OR l.h IS DISTINCT FROM p.h
        """, [name])
    changed, replaced, first, last, undated = con.execute(
        "SELECT count(*), coalesce(sum(n), 0), min(slice), max(slice), "
        "coalesce(bool_or(slice IS NULL), false) FROM lockstep_changed_dates").fetchone()
    if not changed:
        return UNCHANGED, set()
    total, slices = con.execute("SELECT coalesce(sum(n), 0), count(*) FROM "
                                "lockstep_live_digest WHERE mart = ?", [name]).fetchone()
    if date_column is None or replaced * 2 > total:
        con.execute(f'DELETE FROM published.marts."{name}"')
        con.execute(f'INSERT INTO published.marts."{name}" SELECT * FROM marts."{name}"')
        return COPIED, None
    which = _changed_rows(date_column, first, last)
    if undated:
        which = f'({which} OR "{date_column}" IS NULL)'
    con.execute(f'DELETE FROM published.marts."{name}" WHERE {which}')
    con.execute(f'INSERT INTO published.marts."{name}" SELECT * FROM marts."{name}" '
                f"WHERE {which}")
    years = {None if d is None else d.year for (d,) in con.execute(
        "SELECT DISTINCT slice FROM lockstep_changed_dates").fetchall()}
    return (f"{changed:,} of {slices:,} dates ({date_column}) replaced, "
            f"{replaced:,} of {total:,} rows"), years


def _changed_rows(column: str, first: date | None, last: date | None) -> str:
    """The rows on a date of lockstep_changed_dates (SQL). The bounds are constants, so a
    scan skips the row groups outside them (a filter by the temp table alone cannot, and
    reads the whole mart)."""
    if first is None:
        return "false"
    return (f'("{column}" BETWEEN DATE \'{first}\' AND DATE \'{last}\' AND "{column}" IN '
            f"(SELECT slice FROM lockstep_changed_dates))")


UNDATED, WHOLE = "undated", "all"  # the Parquet files of rows without a date, of a dateless mart
# Up to this many rows, a mart's years are written in one pass (DuckDB's partitioned COPY);
# above it, a year at a time (a changed year from the previous version's file): the
# partitioned write buffers every open year's rows in memory (gigabytes for a brief of
# millions of rows, where a year at a time needs a tenth of it and is no slower), and a small
# mart's years one by one cost a COPY each.
ONE_PASS_ROWS = 1_000_000


def _write_parquet(con, name: str, column: str | None, folder: Path, old: Path | None,
                   changed: set | None) -> None:
    """The mart's Parquet files in `folder`: one per year of its date column `column`
    (and UNDATED), or WHOLE if it has none (or no rows). A part with no changed row
    (`changed`: the years that changed, None for all) is a hard link to the previous
    version's file(s) in `old`; the others are written anew from the live mart
    (ONE_PASS_ROWS)."""
    folder.mkdir()
    rows = {} if column is None else dict(con.execute(
        "SELECT year(slice), sum(n) FROM lockstep_live_digest WHERE mart = ? GROUP BY 1",
        [name]).fetchall())
    parts = {UNDATED if y is None else str(y): y for y in rows}
    write = []
    for part, year in (parts or {WHOLE: None}).items():
        kept = _part_files(old, part) if old is not None and changed is not None else []
        if kept and year not in changed:  # a dateless mart's `changed` is empty or None
            for file in kept:
                _link_or_copy(file, folder / file.name)
        else:
            write.append(year)
    if not write:
        return
    if not parts:  # no DATE column, or no rows
        con.execute(f'COPY (SELECT * FROM marts."{name}") TO '
                    f"{_quote(str(folder / f'{WHOLE}.parquet'))} (FORMAT parquet)")
        return
    # a big mart's years one by one even when few rows are written: each then reads the
    # previous version's file of the year and only the changed dates from the live mart
    # (_year_rows); one pass would select the years' rows from the whole live mart
    if sum(rows.values()) > ONE_PASS_ROWS:
        for year in write:
            target = folder / f"{UNDATED if year is None else year}.parquet"
            kept = _part_files(old, str(year)) if (
                old is not None and changed is not None and year is not None) else []
            con.execute(f"COPY ({_year_rows(con, name, column, year, kept)}) "
                        f"TO {_quote(str(target))} (FORMAT parquet)")
        return
    where = "" if len(write) == len(parts) else \
        "WHERE " + " OR ".join(f"({_in_part(column, y)})" for y in write)
    # one pass, split by year: DuckDB writes <key>=<year>/data_<i>.parquet (the key is not a
    # column of the files), and each file is then moved to <year>[-<i>].parquet
    scratch = folder.parent / f".{name}.parts"
    con.execute(f'COPY (SELECT *, year("{column}") AS lockstep_part FROM marts."{name}" {where}'
                f") TO {_quote(str(scratch))} (FORMAT parquet, PARTITION_BY (lockstep_part))")
    for part_dir in scratch.iterdir():
        value = part_dir.name.split("=", 1)[1]
        part = UNDATED if value == "__HIVE_DEFAULT_PARTITION__" else value
        for i, file in enumerate(sorted(part_dir.glob("*.parquet"))):
            os.rename(file, folder / (f"{part}.parquet" if i == 0 else f"{part}-{i}.parquet"))
    shutil.rmtree(scratch)


def _year_rows(con, name: str, column: str, year: int | None, kept: list[Path]) -> str:
    """The query of a year's rows (or the undated rows) of a big mart. With the previous
    version's files of that year (`kept`), its rows on the dates that did not change are
    read from them and only the changed dates from the live mart: after a full build a
    year's rows lie in every row group of the live table, so selecting them scans it all,
    while the changed dates, written last, are found by their bounds."""
    part = _in_part(column, year)
    if not kept:
        return f'SELECT * FROM marts."{name}" WHERE {part}'
    first, last = con.execute(
        "SELECT min(slice), max(slice) FROM lockstep_changed_dates WHERE slice BETWEEN ? AND ?",
        [date(year, 1, 1), date(year, 12, 31)]).fetchone()
    files = "[" + ", ".join(_quote(str(f)) for f in kept) + "]"
    return (f'SELECT * FROM read_parquet({files}) WHERE "{column}" NOT IN '
            f"(SELECT slice FROM lockstep_changed_dates WHERE slice IS NOT NULL) "
            f'UNION ALL SELECT * FROM marts."{name}" WHERE {part} '
            f"AND {_changed_rows(column, first, last)}")


def _in_part(column: str, year: int | None) -> str:
    """The rows of one Parquet part: a date range, not year() (DuckDB then skips row groups
    outside it), or the rows without a date."""
    col = f'"{column}"'
    if year is None:
        return f"{col} IS NULL"
    return f"{col} >= DATE '{year:04d}-01-01' AND {col} < DATE '{year + 1:04d}-01-01'"


def _part_files(folder: Path, part: str) -> list[Path]:
    """A part's Parquet files in a published mart folder (the second and later of a big
    year are <year>-<i>.parquet); none for a mart the previous version did not have."""
    return sorted(folder.glob(f"{part}.parquet")) + sorted(folder.glob(f"{part}-*.parquet"))


def _link_or_copy(old: Path, new: Path) -> None:
    try:
        os.link(old, new)
    except OSError:  # another file system, or links not allowed
        shutil.copyfile(old, new)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _copy_comments(con, table: str) -> None:
    """The live table's (or view's) comment and its columns' comments, onto the published
    table; a comment the live table no longer has is removed (the table may be a copy of
    the previous version's)."""
    [(comment,)] = con.execute(
        "SELECT comment FROM (SELECT database_name, schema_name, table_name, comment FROM "
        "duckdb_tables() UNION ALL SELECT database_name, schema_name, view_name, comment "
        "FROM duckdb_views()) WHERE database_name = current_database() "
        "AND schema_name = 'marts' AND table_name = ?", [table]).fetchall()
    con.execute(f'COMMENT ON TABLE published.marts."{table}" IS '
                f"{_quote(comment) if comment else 'NULL'}")
    published = dict(con.execute(
        "SELECT column_name, comment FROM duckdb_columns() WHERE database_name = 'published' "
        "AND schema_name = 'marts' AND table_name = ?", [table]).fetchall())
    for column, text in con.execute(
            "SELECT column_name, comment FROM duckdb_columns() WHERE database_name = "
            "current_database() AND schema_name = 'marts' AND table_name = ?",
            [table]).fetchall():
        if published.get(column) != text:
            con.execute(f'COMMENT ON COLUMN published.marts."{table}"."{column}" '
                        f"IS {_quote(text) if text else 'NULL'}")


def _remove_old_versions(root: Path) -> None:
    current = os.path.realpath(current_path(root))
    # a version whose DuckDB file a publish took (_take_retired_file) goes first: moving
    # the file out made its directory look new
    for taken in root.glob("v-*"):
        if (taken.is_dir() and not (taken / DB_NAME).exists()
                and os.path.realpath(taken) != current):
            shutil.rmtree(taken, ignore_errors=True)
    versions = sorted((p for p in root.glob("v-*") if p.is_dir()),
                      key=lambda p: p.stat().st_mtime, reverse=True)
    for old in versions[KEEP_VERSIONS:]:
        if os.path.realpath(old) != current:
            shutil.rmtree(old, ignore_errors=True)
    for partial in root.glob(".v-*.partial"):
        shutil.rmtree(partial, ignore_errors=True)
