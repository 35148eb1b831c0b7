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
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from orchestration.catalog import FredSeries, Instrument, file_stem_for_symbol
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


def _read_csv(path: Path, expected: list[str], name: str,
              text: bytes | None = None) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path if text is None else io.BytesIO(text), dtype=str,
                            keep_default_na=False)
    except pd.errors.EmptyDataError as exc:
        raise SourceError(f"{name}: {path} is empty") from exc
    missing = [c for c in expected if c not in frame.columns]
    if missing:
        raise SourceError(f"{name}: {path} lacks column(s) {', '.join(missing)}")
    return frame


def _to_numbers(cells: pd.Series) -> tuple[pd.Series, pd.Series]:
    """The numbers of text cells ("" and "." are missing) and which cells are not numbers."""
    text = cells.str.strip()
    text = text.mask(text.isin(["", "."]))
    values = pd.to_numeric(text, errors="coerce")
    return values, values.isna() & text.notna()


def _to_dates(cells: pd.Series) -> tuple[pd.Series, pd.Series]:
    """The YYYY-MM-DD dates of text cells (as timestamps) and which cells are not dates."""
    parsed = pd.to_datetime(cells.str.strip(), format="%Y-%m-%d", errors="coerce")
    return parsed, parsed.isna()


def _numbers(frame: pd.DataFrame, column: str, name: str, path: Path) -> pd.Series:
    values, bad = _to_numbers(frame[column])
    if bad.any():
        row = frame.index[bad][0]
        raise SourceError(
            f"{name}: {path.name} has a non-numeric {column} {frame.at[row, column]!r} "
            f"on {frame.at[row, 'date']}"
        )
    return values


def _dates(frame: pd.DataFrame, name: str, path: Path) -> pd.Series:
    parsed, bad = _to_dates(frame["date"])
    if bad.any():
        row = frame.index[bad][0]
        raise SourceError(f"{name}: {path.name} has an invalid date {frame.at[row, 'date']!r}")
    return parsed.dt.date


def _market_rows(raw: pd.DataFrame, symbol, path: Path | None) -> pd.DataFrame:
    """MARKET_COLUMNS from a market file's text cells; `symbol` one name or one per row."""
    out = pd.DataFrame({"symbol": symbol, "date": _dates(raw, symbol, path)})
    for column in PRICE_COLUMNS:
        out[column] = _numbers(raw, column, symbol, path)
    out["volume"] = _numbers(raw, "volume", symbol, path).round().astype("Int64")
    # a row without a close is no observation
    return out[out["close"].notna()][MARKET_COLUMNS].reset_index(drop=True)


def read_market_file(path: Path, symbol: str, text: bytes | None = None) -> pd.DataFrame:
    """The rows of a market file (or of `text`, lines of it under its header)."""
    return _market_rows(_read_csv(path, MARKET_FILE_COLUMNS, symbol, text), symbol, path)


def one_by_one(parse):
    """A parser of many texts from `parse(path, name, text)` of one: (frames, why each
    name whose text failed)."""

    def parse_many(items: list[tuple[Path, str, bytes]]):
        frames, failures = [], {}
        for path, name, text in items:
            try:
                frames.append(parse(path, name, text))
            except SourceError as exc:
                failures[name] = str(exc).removeprefix(f"{name}: ")
        return frames, failures

    return parse_many


def read_market_texts(items: list[tuple[Path, str, bytes]]
                      ) -> tuple[list[pd.DataFrame], dict[str, str]]:
    """The rows of many market files' texts (path, symbol, header and lines), and per symbol
    why its file failed: what `read_market_file` gives file by file. pandas costs about 14 ms
    a file however short the text, and a daily refresh reads one new line from each of
    thousands of files (7 s for 509); so texts up to TOGETHER_BYTES that share a header are
    parsed together, blank lines left out as pandas leaves them out of a file. A file with a
    cell that is not a number or a date, a group the parse cannot split back into its files
    (a quoted line break, a malformed line), and a longer text are read alone, which names
    the problem and costs nothing next to the text's own size."""
    frames, failures, alone = [], {}, []
    groups: dict[bytes, list[tuple[Path, str, bytes]]] = {}
    for item in items:
        cut = item[2].find(b"\n") + 1
        if 0 < cut and len(item[2]) <= TOGETHER_BYTES:
            groups.setdefault(item[2][:cut], []).append(item)
        else:
            alone.append(item)
    for header, group in groups.items():
        bodies = [[line for line in text[len(header):].splitlines(keepends=True)
                   if line.strip(b" \t\r\n")] for _, _, text in group]
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
        names = pd.Series(np.repeat([symbol for _, symbol, _ in group],
                                    [len(lines) for lines in bodies]), dtype=object)
        bad = _to_dates(raw["date"])[1]
        for column in (*PRICE_COLUMNS, "volume"):
            bad |= _to_numbers(raw[column])[1]
        failed = set(names[bad])
        alone += [item for item in group if item[1] in failed]
        ok = ~names.isin(failed)
        frames.append(_market_rows(raw[ok].reset_index(drop=True),
                                   names[ok].reset_index(drop=True), None))
    parsed, failures = one_by_one(read_market_file)(alone)
    return frames + parsed, failures


def read_fred_file(path: Path, series_id: str,
                   text: bytes | None = None) -> tuple[pd.DataFrame, int]:
    raw = _read_csv(path, ["date", "value"], series_id, text)
    out = pd.DataFrame({"series_id": series_id, "date": _dates(raw, series_id, path)})
    out["value"] = _numbers(raw, "value", series_id, path)
    missing = int(out["value"].isna().sum())
    return out[out["value"].notna()][FRED_COLUMNS].reset_index(drop=True), missing


@dataclass(frozen=True)
class Position:
    """How far a file was read: its length then and the SHA-256 of those bytes."""

    bytes: int
    sha256: str


@dataclass
class _Read:
    """What to read of one file: `text` (None: nothing changed) and where it ends now."""

    text: bytes | None
    position: Position


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
                return _Read(None, now)
            header = data[:data.index(b"\n") + 1]
            return _Read(header + tail, now)
        digest = hashlib.sha256()
    digest.update(data)
    return _Read(data, Position(len(data), digest.hexdigest()))


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

    def _read_all(self, names: list[str], path_of, parse_many, incremental: bool):
        """Per name: its rows (what changed, or all), or why it is missing or failed. The
        texts go to `parse_many` (-> frames, failures by name) a few MiB at a time."""
        frames, missing, failures, reads, unchanged = [], {}, {}, {}, 0
        pending: list[tuple[Path, str, bytes]] = []
        pending_bytes = 0

        def parse_pending() -> None:
            nonlocal pending_bytes
            if not pending:
                return
            parsed, failed = parse_many(pending)
            frames.extend(parsed)
            failures.update(failed)
            for name in failed:
                del reads[name]
            pending.clear()
            pending_bytes = 0

        for name in names:
            path = path_of(self.root, name)
            if not path.exists():
                missing[name] = f"no file {path.relative_to(self.root)} in {self.root}"
                continue
            key = self._key(path)
            try:
                read = _what_changed(path, self.positions.get(key) if incremental else None)
            except OSError as exc:
                failures[name] = str(exc)
                continue
            reads[name] = (key, read.position)
            if read.text is None:
                unchanged += 1
                continue
            pending.append((path, name, read.text))
            pending_bytes += len(read.text)
            if pending_bytes >= PARSE_BYTES:
                parse_pending()
        parse_pending()
        notes = {}
        if unchanged:
            notes[f"({unchanged} files)"] = ("unchanged since they were last read and stored; "
                                             "not read again")
        return frames, missing, failures, reads, notes, unchanged

    @staticmethod
    def _keeper(reads: dict[str, tuple[str, Position]]):
        """Records the files' new positions in the transaction that stores their rows,
        except for the names held back (failed validation, rows outside the window)."""

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

    def fetch_market(self, instruments: tuple[Instrument, ...], start=None, end=None,
                     **_: object) -> FetchResult:
        """Every catalog symbol's file; a file that cannot be read (a bad cell, a missing
        column) holds back only its own symbol, named in `failures`."""
        frames, missing, failures, reads, notes, unchanged = self._read_all(
            [i.symbol for i in instruments], market_path, read_market_texts,
            incremental=start is None and end is None)
        frame = pd.concat(frames, ignore_index=True) if frames else empty_market_frame()
        return FetchResult(frame=frame, source=self.label, missing=missing, failures=failures,
                           notes=notes, unchanged=unchanged, keep_state=self._keeper(reads))

    def fetch_fred(self, series: tuple[FredSeries, ...], start=None, end=None,
                   **_: object) -> FetchResult:
        skipped: dict[str, int] = {}

        def parse(path: Path, series_id: str, text: bytes) -> pd.DataFrame:
            frame, n_missing = read_fred_file(path, series_id, text)
            if n_missing:
                skipped[series_id] = n_missing
            return frame

        frames, missing, failures, reads, notes, unchanged = self._read_all(
            [s.id for s in series], fred_path, one_by_one(parse),
            incremental=start is None and end is None)
        notes.update({name: f"{n} missing value(s) skipped" for name, n in skipped.items()})
        frame = pd.concat(frames, ignore_index=True) if frames else empty_fred_frame()
        return FetchResult(frame=frame, source=self.label, missing=missing, notes=notes,
                           failures=failures, unchanged=unchanged,
                           keep_state=self._keeper(reads))


def files_source(settings) -> FilesSource:
    """The files source LOCKSTEP_SOURCE names: `files` reads LOCKSTEP_DATA_DIR; `demo` reads
    the generated demo directory, generating it first if it is not there (it is synthetic,
    and labelled so in every row and every place it surfaces)."""
    if settings.source == "demo":
        if not is_synthetic_dir(settings.demo_dir):
            from orchestration.catalog import load_catalog
            from orchestration.sources.demo.client import generate_demo_data

            generate_demo_data(settings.demo_dir, load_catalog())
        return FilesSource(settings.demo_dir)
    if settings.data_dir is None:  # load_settings enforces it for `files`
        raise ValueError("LOCKSTEP_SOURCE=files needs LOCKSTEP_DATA_DIR")
    return FilesSource(settings.data_dir)
