"""The `files` source: a directory laid out like ../shared/data/real.

    market/<FILE>.csv  date,open,high,low,close,adj_close,volume   (FILE: ^ dropped, = -> _)
    fred/<SERIES>.csv  date,value                                  (empty cell = missing)

A directory holding a SYNTHETIC marker file (written by the demo generator) is synthetic:
its rows are labelled `demo`, whatever LOCKSTEP_SOURCE says.
"""

from __future__ import annotations

from pathlib import Path

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


def market_path(root: Path, symbol: str) -> Path:
    return Path(root) / "market" / f"{file_stem_for_symbol(symbol)}.csv"


def fred_path(root: Path, series_id: str) -> Path:
    return Path(root) / "fred" / f"{series_id}.csv"


def is_synthetic_dir(root: Path) -> bool:
    return (Path(root) / MARKER_FILE).exists()


def _read_csv(path: Path, expected: list[str], name: str) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError as exc:
        raise SourceError(f"{name}: {path} is empty") from exc
    missing = [c for c in expected if c not in frame.columns]
    if missing:
        raise SourceError(f"{name}: {path} lacks column(s) {', '.join(missing)}")
    return frame


def _numbers(frame: pd.DataFrame, column: str, name: str, path: Path) -> pd.Series:
    text = frame[column].str.strip()
    text = text.mask(text.isin(["", "."]))
    values = pd.to_numeric(text, errors="coerce")
    bad = values.isna() & text.notna()
    if bad.any():
        row = frame.index[bad][0]
        raise SourceError(
            f"{name}: {path.name} has a non-numeric {column} {frame.at[row, column]!r} "
            f"on {frame.at[row, 'date']}"
        )
    return values


def _dates(frame: pd.DataFrame, name: str, path: Path) -> pd.Series:
    parsed = pd.to_datetime(frame["date"].str.strip(), format="%Y-%m-%d", errors="coerce")
    if parsed.isna().any():
        row = frame.index[parsed.isna()][0]
        raise SourceError(f"{name}: {path.name} has an invalid date {frame.at[row, 'date']!r}")
    return parsed.dt.date


def read_market_file(path: Path, symbol: str) -> pd.DataFrame:
    raw = _read_csv(path, ["date", *PRICE_COLUMNS, "volume"], symbol)
    out = pd.DataFrame({"symbol": symbol, "date": _dates(raw, symbol, path)})
    for column in PRICE_COLUMNS:
        out[column] = _numbers(raw, column, symbol, path)
    out["volume"] = _numbers(raw, "volume", symbol, path).round().astype("Int64")
    # a row without a close is no observation
    return out[out["close"].notna()][MARKET_COLUMNS].reset_index(drop=True)


def read_fred_file(path: Path, series_id: str) -> tuple[pd.DataFrame, int]:
    raw = _read_csv(path, ["date", "value"], series_id)
    out = pd.DataFrame({"series_id": series_id, "date": _dates(raw, series_id, path)})
    out["value"] = _numbers(raw, "value", series_id, path)
    missing = int(out["value"].isna().sum())
    return out[out["value"].notna()][FRED_COLUMNS].reset_index(drop=True), missing


class FilesSource:
    """Reads every catalog symbol/series from a directory; absent files are reported."""

    def __init__(self, root: Path):
        self.root = Path(root)
        if not self.root.is_dir():
            raise SourceError(f"files source: data directory {self.root} does not exist")
        self.label = "demo" if is_synthetic_dir(self.root) else "files"

    def fetch_market(self, instruments: tuple[Instrument, ...], **_: object) -> FetchResult:
        """Every catalog symbol's file; a file that cannot be read (a bad cell, a missing
        column) holds back only its own symbol, named in `failures`."""
        frames, missing, failures = [], {}, {}
        for inst in instruments:
            path = market_path(self.root, inst.symbol)
            if not path.exists():
                missing[inst.symbol] = f"no file {path.relative_to(self.root)} in {self.root}"
                continue
            try:
                frames.append(read_market_file(path, inst.symbol))
            except SourceError as exc:
                failures[inst.symbol] = str(exc).removeprefix(f"{inst.symbol}: ")
        frame = pd.concat(frames, ignore_index=True) if frames else empty_market_frame()
        return FetchResult(frame=frame, source=self.label, missing=missing, failures=failures)

    def fetch_fred(self, series: tuple[FredSeries, ...], **_: object) -> FetchResult:
        frames, missing, notes, failures = [], {}, {}, {}
        for s in series:
            path = fred_path(self.root, s.id)
            if not path.exists():
                missing[s.id] = f"no file {path.relative_to(self.root)} in {self.root}"
                continue
            try:
                frame, n_missing = read_fred_file(path, s.id)
            except SourceError as exc:
                failures[s.id] = str(exc).removeprefix(f"{s.id}: ")
                continue
            if n_missing:
                notes[s.id] = f"{n_missing} missing value(s) skipped"
            frames.append(frame)
        frame = pd.concat(frames, ignore_index=True) if frames else empty_fred_frame()
        return FetchResult(frame=frame, source=self.label, missing=missing, notes=notes,
                           failures=failures)


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
