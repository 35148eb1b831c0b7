"""The `files` source: a directory laid out like ../shared/data/real.

    market/<FILE>.csv  date,open,high,low,close,adj_close,volume   (FILE: ^ dropped, = -> _)
    fred/<SERIES>.csv  date,value                                  (empty cell = missing)

A directory holding a SYNTHETIC marker file (written by the demo generator) is synthetic:
its rows are labelled `demo`, whatever LOCKSTEP_SOURCE says.

A daily refresh (no window of years asked for) reads only what changed since the last load:
a file whose bytes are those it had when it was last read and stored is skipped, and a file
that only grew is read from where it ended (raw.source_files, tables.py here). Any other
change, or a backfill of chosen years, reads the whole file; the upsert then stores what is
new or revised, as before.

A row with a cell that is not a date (YYYY-MM-DD) or a number comes back in the result's
`rejected` rows with its file and line, to be quarantined (orchestration/lib/quarantine.py);
the file's other rows load. A file that cannot be read at all -- empty, a header and no
rows, a missing column -- holds back its symbol or series, named in `failures`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from orchestration.catalog import FredSeries, Instrument, file_stem_for_symbol
from orchestration.lib.validation import empty_rejected
from orchestration.sources.base import (
    FRED_COLUMNS,
    MARKET_COLUMNS,
    FetchResult,
    SourceError,
    empty_fred_frame,
    empty_market_frame,
)

MARKER_FILE = "SYNTHETIC"
PRICE_COLUMNS = ["open", "high", "low", "close", "adj_close"]
MARKET_FILE_COLUMNS = ["date", *PRICE_COLUMNS, "volume"]
# market texts up to this size are parsed together (read_market_texts); the texts read are
# handed to the parser PARSE_BYTES at a time (a first load does not hold every file at once)
TOGETHER_BYTES = 64 * 1024
PARSE_BYTES = 16 * 2**20


def market_path(root: Path, symbol: str) -> Path:
    return Path(root) / "market" / f"{file_stem_for_symbol(symbol)}.csv"


def fred_path(root: Path, series_id: str) -> Path:
    return Path(root) / "fred" / f"{series_id}.csv"


def is_synthetic_dir(root: Path) -> bool:
    return (Path(root) / MARKER_FILE).exists()


@dataclass
class _Text:
    """A file's text cells, one row per line under the header (blank lines included), the
    line of each row in the file, and the lines that do not have the header's number of
    fields (to quarantine: REJECTED_COLUMNS)."""

    cells: pd.DataFrame
    lines: np.ndarray
    malformed: pd.DataFrame


_SKIPPED = re.compile(r"Skipping line (\d+): expected (\d+) fields, saw (\d+)")


def _read_csv(path: Path, expected: list[str], name: str, text: bytes | None = None,
              first_line: int = 2) -> _Text:
    """The text cells of a file (or of `text`: its header and lines of it, the first of
    them line `first_line` of the file). A file with no line under its header is an error
    naming it, as an empty file is."""
    data = path.read_bytes() if text is None else text
    cut = data.find(b"\n")
    if data.strip() and (cut < 0 or not data[cut + 1:].strip()):
        raise SourceError(f"{name}: {path} has a header and no rows")
    try:
        with warnings.catch_warnings(record=True) as skipped:
            warnings.simplefilter("always", pd.errors.ParserWarning)
            frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False,
                                skip_blank_lines=False, on_bad_lines="warn")
    except pd.errors.EmptyDataError as exc:
        raise SourceError(f"{name}: {path} is empty") from exc
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise SourceError(f"{name}: {path} cannot be read as CSV: "
                          f"{' '.join(str(exc).split())}") from None
    missing = [c for c in expected if c not in frame.columns]
    if missing:
        raise SourceError(f"{name}: {path} lacks column(s) {', '.join(missing)}")
    # pandas counts the text's lines from 1 (the header), blank ones included
    bad = {int(n): (int(want), int(saw)) for w in skipped
           for n, want, saw in _SKIPPED.findall(str(w.message))}
    lines = np.arange(2, 2 + len(frame) + len(bad), dtype=np.int64)
    if bad:
        lines = lines[~np.isin(lines, list(bad))]
    # a line with fewer fields than the header pandas pads with empty cells, which would
    # read as "no observation": it is malformed like a line with too many
    short = _short_lines(data, len(frame.columns))
    if short:
        keep = ~np.isin(lines, list(short))
        frame = frame[keep].reset_index(drop=True)
        lines = lines[keep]
        bad.update({n: (len(frame.columns), saw) for n, saw in short.items()})
    lines += first_line - 2
    malformed = empty_rejected()
    if bad:
        body = data.splitlines()
        rows = [body[n - 1].decode(errors="replace").strip() for n in sorted(bad)]
        at = list(frame.columns).index("date")
        dates = _to_dates(pd.Series([(r.split(",") + [""] * at)[at] for r in rows]))[0]
        malformed = pd.DataFrame({
            "symbol_or_series": name,
            "date": [d.date() if d == d else None for d in dates],
            "line": [n + first_line - 2 for n in sorted(bad)], "column_name": None,
            "raw_value": rows,
            "reason": [f"not {bad[n][0]} fields (it has {bad[n][1]})" for n in sorted(bad)]})
    return _Text(frame, lines, malformed)


def _fields(line: bytes) -> int:
    """How many fields a CSV line has (quoted commas are not separators)."""
    if b'"' not in line:
        return line.count(b",") + 1
    return len(next(csv.reader([line.decode(errors="replace")]), [""]))


def _short_lines(data: bytes, expected: int) -> dict[int, int]:
    """The lines under the header (numbered from 1, the header) that are not blank and have
    fewer than `expected` fields, with how many they have."""
    return {n: saw for n, line in enumerate(data.splitlines()[1:], start=2)
            if line.strip() and (saw := _fields(line.strip())) < expected}


def _to_numbers(cells: pd.Series) -> tuple[pd.Series, pd.Series]:
    """The numbers of text cells ("" and "." are missing) and which cells are not numbers."""
    text = cells.str.strip()
    text = text.mask(text.isin(["", "."]))
    values = pd.to_numeric(text, errors="coerce")
    return values, values.isna() & text.notna()


def _to_dates(cells: pd.Series) -> tuple[pd.Series, pd.Series]:
    """The YYYY-MM-DD dates of text cells (as timestamps) and which cells are not dates
    (an empty cell is missing, not wrong)."""
    text = cells.str.strip()
    parsed = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
    return parsed, parsed.isna() & (text != "")


def _rows(raw: pd.DataFrame, name, lines, columns: list[str], observed: str,
          key: str) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """A file's text cells (`name` one symbol or series, or one per row; `lines` each row's
    line in its file) -> (the rows with a value in `observed`: `key`, date, `columns` and
    line; the rows with a cell that is not a date or a number: REJECTED_COLUMNS; how many
    dated rows had no value in `observed`). A row without a value in `observed` and nothing
    unreadable is no observation (a blank line is none either)."""
    dates, bad_date = _to_dates(raw["date"])
    out = pd.DataFrame({key: name, "date": dates.dt.date, "line": lines}, index=raw.index)
    bad = {"date": bad_date}
    for column in columns:
        out[column], bad[column] = _to_numbers(raw[column])
    any_bad = pd.Series(False, index=raw.index)
    for mask in bad.values():
        any_bad |= mask
    undated = out["date"].isna() & out[observed].notna() & ~any_bad
    rejected = []
    taken = pd.Series(False, index=raw.index)
    for column, mask, reason in [("date", bad["date"], "not a date (YYYY-MM-DD)"),
                                 ("date", undated, "missing"),
                                 *[(c, bad[c], "not a number") for c in columns]]:
        hit = mask & ~taken
        if hit.any():
            taken |= hit
            rejected.append(pd.DataFrame({
                "symbol_or_series": out.loc[hit, key], "date": out.loc[hit, "date"],
                "line": out.loc[hit, "line"], "column_name": column,
                "raw_value": raw.loc[hit, column], "reason": reason}))
    good = out[out[observed].notna() & ~taken].reset_index(drop=True)
    found = (pd.concat(rejected).sort_index().reset_index(drop=True) if rejected
             else empty_rejected())
    found["date"] = found["date"].astype(object).where(found["date"].notna(), None)
    without = int((out[observed].isna() & out["date"].notna() & ~taken).sum())
    return good, found, without


def _market_rows(raw: pd.DataFrame, symbol, lines) -> tuple[pd.DataFrame, pd.DataFrame]:
    """MARKET_COLUMNS and `line` from a market file's text cells, and its unreadable rows;
    `symbol` one name or one per row (a row without a close is no observation)."""
    good, found, _ = _rows(raw, symbol, lines, [*PRICE_COLUMNS, "volume"], "close", "symbol")
    good["volume"] = good["volume"].round().astype("Int64")
    return good[[*MARKET_COLUMNS, "line"]], found


def read_market_file(path: Path, symbol: str, text: bytes | None = None,
                     first_line: int = 2) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows of a market file (or of `text`, lines of it under its header, the first of
    them line `first_line` of the file), and the rows whose cells cannot be read."""
    read = _read_csv(path, MARKET_FILE_COLUMNS, symbol, text, first_line)
    frame, found = _market_rows(read.cells, symbol, read.lines)
    return frame, _with(found, read.malformed)


Item = tuple[Path, str, bytes, int]  # a file, its symbol or series, the text, its first line


def one_by_one(parse):
    """A parser of many texts from `parse(path, name, text, first_line)` of one ->
    (frames, rejected rows, why each name whose text failed)."""

    def parse_many(items: list[Item]):
        frames, rejected, failures = [], [], {}
        for path, name, text, first_line in items:
            try:
                frame, found = parse(path, name, text, first_line)
            except SourceError as exc:
                failures[name] = str(exc).removeprefix(f"{name}: ")
                continue
            frames.append(frame)
            if len(found):
                rejected.append(found)
        return frames, rejected, failures

    return parse_many


def read_market_texts(items: list[Item]
                      ) -> tuple[list[pd.DataFrame], list[pd.DataFrame], dict[str, str]]:
    """The rows of many market files' texts (path, symbol, header and lines, the first
    line's number), their unreadable rows, and per symbol why its file failed: what
    `read_market_file` gives file by file. pandas has a fixed cost per parse however short
    the text, and a daily refresh reads one new line from each of thousands of files; so
    texts up to TOGETHER_BYTES that share a header are parsed together, blank
    lines left out as pandas leaves them out of a file. A group the parse cannot split back
    into its files (a quoted line break, a malformed line), a text with no line under its
    header or with a line shorter than its header, and a longer text are read alone, which
    names the problem and costs nothing
    next to the text's own size."""
    frames, rejected, alone = [], [], []
    groups: dict[bytes, list[Item]] = {}
    for item in items:
        cut = item[2].find(b"\n") + 1
        if (0 < cut and len(item[2]) <= TOGETHER_BYTES and item[2][cut:].strip()
                and not _short_lines(item[2], _fields(item[2][:cut].strip()))):
            groups.setdefault(item[2][:cut], []).append(item)
        else:
            alone.append(item)
    for header, group in groups.items():
        bodies, numbers = [], []
        for _, _, text, first_line in group:
            kept = [(first_line + i, line) for i, line in
                    enumerate(text[len(header):].splitlines(keepends=True))
                    if line.strip(b" \t\r\n")]
            numbers += [n for n, _ in kept]
            bodies.append([line for _, line in kept])
        body = b"".join(line if line.endswith(b"\n") else line + b"\n"
                        for lines in bodies for line in lines)
        try:
            raw = pd.read_csv(io.BytesIO(header + body), dtype=str, keep_default_na=False)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError):
            raw = None
        if (len(group) == 1 or raw is None or len(raw) != sum(map(len, bodies))
                or any(c not in raw.columns for c in MARKET_FILE_COLUMNS)):
            alone += group
            continue
        names = pd.Series(np.repeat([symbol for _, symbol, _, _ in group],
                                    [len(lines) for lines in bodies]), dtype=object)
        frame, found = _market_rows(raw, names, np.array(numbers, dtype=np.int64))
        frames.append(frame)
        if len(found):
            rejected.append(found)
    parsed, parsed_rejected, failures = one_by_one(read_market_file)(alone)
    return frames + parsed, rejected + parsed_rejected, failures


def read_fred_file(path: Path, series_id: str, text: bytes | None = None,
                   first_line: int = 2) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """The observations of a FRED file (or of `text`), its unreadable rows, and how many
    rows had no value (missing, skipped)."""
    read = _read_csv(path, ["date", "value"], series_id, text, first_line)
    frame, found, missing = _rows(read.cells, series_id, read.lines, ["value"], "value",
                                  "series_id")
    return frame[[*FRED_COLUMNS, "line"]], _with(found, read.malformed), missing


def _with(found: pd.DataFrame, malformed: pd.DataFrame) -> pd.DataFrame:
    """A file's unreadable rows and its malformed lines, by line."""
    if not len(malformed):
        return found
    both = pd.concat([f for f in (found, malformed) if len(f)], ignore_index=True)
    return both.sort_values("line", kind="stable").reset_index(drop=True)


@dataclass(frozen=True)
class Position:
    """How far a file was read: its length then and the SHA-256 of those bytes."""

    bytes: int
    sha256: str


@dataclass
class _Read:
    """What to read of one file: `text` (None: nothing changed), where it ends now, the
    line number of the text's first line under its header, and whether it is the whole."""

    text: bytes | None
    position: Position
    first_line: int = 2
    whole: bool = True


def _what_changed(path: Path, known: Position | None) -> _Read:
    """Nothing, the lines appended after `known` (under the file's header), or the whole
    file when its first `known.bytes` bytes are no longer those read then."""
    data = path.read_bytes()
    digest = hashlib.sha256()
    if known is not None and 0 < known.bytes <= len(data) and data[known.bytes - 1] == 0x0A:
        view = memoryview(data)
        digest.update(view[:known.bytes])
        if digest.hexdigest() == known.sha256:  # the bytes read last time are still there
            digest.update(view[known.bytes:])
            now = Position(len(data), digest.hexdigest())
            tail = data[known.bytes:]
            if not tail.strip():
                return _Read(None, now, whole=False)
            header = data[:data.index(b"\n") + 1]
            return _Read(header + tail, now, first_line=data.count(b"\n", 0, known.bytes) + 1,
                         whole=False)
        digest = hashlib.sha256()
    digest.update(data)
    return _Read(data, Position(len(data), digest.hexdigest()))


@dataclass
class _Files:
    """What `_read_all` read: rows, unreadable rows, and per name what happened."""

    frames: list
    rejected: list
    missing: dict[str, str]
    failures: dict[str, str]
    reads: dict
    notes: dict[str, str]
    unchanged: int
    files: dict[str, str]
    reread: dict


class FilesSource:
    """Reads every catalog symbol/series from a directory; absent files are reported.

    `read_state(con)` (called by the ingestion before it fetches) loads how far each file
    was read; without it, or when a window of dates is asked for, every file is read whole.
    """

    def __init__(self, root: Path):
        self.root = Path(root)
        if not self.root.is_dir():
            raise SourceError(f"files source: data directory {self.root} does not exist")
        self.label = "demo" if is_synthetic_dir(self.root) else "files"
        self.positions: dict[str, Position] = {}

    def read_state(self, con) -> None:
        self.positions = {
            path: Position(n, digest) for path, n, digest in
            con.execute("SELECT path, bytes, sha256 FROM raw.source_files").fetchall()}

    @staticmethod
    def _key(path: Path) -> str:
        return str(path.resolve())

    def _read_all(self, names: list[str], path_of, parse_many, window, key_column: str,
                  last_dates: dict | None = None):
        """Per name: its rows (what changed, or all), its unreadable rows, or why it is
        missing or failed. The texts go to `parse_many` (-> frames, rejected rows, failures
        by name) a few MiB at a time. `window` (start, end) of a backfill: every file is
        read whole; None: only what changed since the last read -- except that a file whose
        appended lines hold a date not after the newest stored one (`last_dates`, column
        `key_column`) is read whole: a second row for a date the file had is ambiguous, which only
        the whole file shows."""
        frames, rejected, missing, failures, reads, unchanged = [], [], {}, {}, {}, 0
        files, reread = {}, {}
        pending: list[Item] = []
        pending_bytes = 0

        def parse_pending() -> None:
            nonlocal pending_bytes
            if not pending:
                return
            parsed, found, failed = parse_many(pending)
            frames.extend(parsed)
            rejected.extend(found)
            failures.update(failed)
            for name in failed:
                del reads[name]
                reread.pop(name, None)
            pending.clear()
            pending_bytes = 0

        for name in names:
            path = path_of(self.root, name)
            if not path.exists():
                missing[name] = f"no file {path.relative_to(self.root)} in {self.root}"
                continue
            files[name] = str(path.relative_to(self.root))
            key = self._key(path)
            try:
                read = _what_changed(path, None if window else self.positions.get(key))
            except OSError as exc:
                failures[name] = str(exc)
                continue
            reads[name] = (key, read.position)
            if read.text is None:
                unchanged += 1
                continue
            if read.whole:  # every row of the file is in this read (of the window)
                reread[name] = window or (None, None)
            pending.append((path, name, read.text, read.first_line))
            pending_bytes += len(read.text)
            if pending_bytes >= PARSE_BYTES:
                parse_pending()
        parse_pending()
        if last_dates and reads:
            frames, rejected = self._reread_backdated(
                frames, rejected, reads, reread, key_column, last_dates, path_of, parse_many,
                failures)
        notes = {}
        if unchanged:
            notes[f"({unchanged} files)"] = ("unchanged since they were last read and stored; "
                                             "not read again")
        return _Files(frames, rejected, missing, failures, reads, notes, unchanged, files,
                      reread)

    def _reread_backdated(self, frames, rejected, reads, reread, key, last_dates, path_of,
                          parse_many, failures):
        """Read whole the files whose appended lines go back to a date already stored."""
        appended = set(reads) - set(reread)
        if not appended:  # a first load, a backfill: every file was read whole
            return frames, rejected
        back = set()
        for frame in frames:
            rows = frame[frame[key].isin(appended)]
            for name, first in rows.groupby(key)["date"].min().items():
                if last_dates.get(name) is not None and first <= last_dates[name]:
                    back.add(name)
        if not back:
            return frames, rejected
        frames = [f[~f[key].isin(back)] for f in frames]
        rejected = [r[~r["symbol_or_series"].isin(back)] for r in rejected]
        items = [(path_of(self.root, name), name, path_of(self.root, name).read_bytes(), 2)
                 for name in sorted(back)]
        parsed, found, failed = parse_many(items)
        failures.update(failed)
        for name in back:
            if name in failed:
                del reads[name]
            else:
                reread[name] = (None, None)
        return frames + parsed, rejected + found

    @staticmethod
    def _keeper(reads: dict[str, tuple[str, Position]]):
        """Records the files' new positions in the transaction that stores their rows,
        except for the names held back (a file that failed, rows outside the window). A
        file with quarantined rows is recorded too: its rows were stored or quarantined,
        and a later change to it (a fixed row) changes its first bytes, so it is read whole
        again (orchestration/lib/quarantine.py)."""

        def keep(con, held_back: set[str]) -> None:
            import pandas as pd

            rows = [(key, p.bytes, p.sha256) for name, (key, p) in reads.items()
                    if name not in held_back]
            if not rows:
                return
            frame = pd.DataFrame(rows, columns=["path", "bytes", "sha256"])
            frame["read_at"] = datetime.now(UTC).replace(tzinfo=None)
            con.register("lockstep_source_files_df", frame)
            con.execute("INSERT OR REPLACE INTO raw.source_files (path, bytes, sha256, read_at) "
                        "SELECT path, bytes, sha256, read_at FROM lockstep_source_files_df")
            con.unregister("lockstep_source_files_df")

        return keep

    def _result(self, read: _Files, empty) -> FetchResult:
        frame = pd.concat(read.frames, ignore_index=True) if read.frames else empty()
        rejected = (pd.concat(read.rejected, ignore_index=True) if read.rejected
                    else empty_rejected())
        return FetchResult(frame=frame, source=self.label, missing=read.missing,
                           failures=read.failures, notes=read.notes, unchanged=read.unchanged,
                           keep_state=self._keeper(read.reads), rejected=rejected,
                           files=read.files, reread=read.reread)

    def fetch_market(self, instruments: tuple[Instrument, ...], start=None, end=None,
                     last_dates: dict | None = None, **_: object) -> FetchResult:
        """Every catalog symbol's file. A row with a cell that is not a date or a number is
        handed back in `rejected` (with its file and line), the file's other rows load; a
        file that cannot be read at all (a missing column, no rows) holds back only its
        own symbol, named in `failures`."""
        window = (start, end) if start is not None or end is not None else None
        read = self._read_all([i.symbol for i in instruments], market_path, read_market_texts,
                              window, "symbol", last_dates)
        return self._result(read, empty_market_frame)

    def fetch_fred(self, series: tuple[FredSeries, ...], start=None, end=None,
                   last_dates: dict | None = None, **_: object) -> FetchResult:
        skipped: dict[str, int] = {}

        def parse(path: Path, series_id: str, text: bytes, first_line: int):
            frame, found, n_missing = read_fred_file(path, series_id, text, first_line)
            if n_missing:
                skipped[series_id] = n_missing
            return frame, found

        window = (start, end) if start is not None or end is not None else None
        read = self._read_all([s.id for s in series], fred_path, one_by_one(parse), window,
                              "series_id", last_dates)
        read.notes.update({name: f"{n} missing value(s) skipped"
                           for name, n in skipped.items()})
        return self._result(read, empty_fred_frame)
