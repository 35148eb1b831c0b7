"""Load and validate the catalog: what lockstep ingests. orchestration/catalog.yaml, or the
file LOCKSTEP_CATALOG names (same format), read when a run or a command needs it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from orchestration.lib.dbt_vars import fred_units
from orchestration.settings import catalog_path, variable

CATALOG_PATH = catalog_path({})  # the repository's catalog
CATALOG_ENV = variable("catalog")

CALENDARS = ("24/7", "XNYS")
ASSET_CLASSES = ("crypto", "equity_index", "etf", "commodity_future")
FREQUENCIES = ("daily", "weekly", "business_daily")


class CatalogError(ValueError):
    """The catalog file is malformed; the message names the entry and the problem."""


@dataclass(frozen=True)
class Instrument:
    symbol: str
    name: str
    asset_class: str
    calendar: str
    # when the stored history starts late (BTC-USD: after Bitcoin's 2013 peak), records
    # are records of that history; the note says so in the marts and the brief
    history_note: str | None = None
    demo: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def file_stem(self) -> str:
        """File name used by the `files` source: drop a leading ^, replace = with _."""
        return file_stem_for_symbol(self.symbol)


@dataclass(frozen=True)
class FredSeries:
    id: str
    name: str
    units: str
    frequency: str
    demo: dict = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Catalog:
    market: tuple[Instrument, ...]
    fred: tuple[FredSeries, ...]
    # the entries of any other source (a top-level list named after its folder under
    # orchestration/sources), as written; that source reads and validates them
    sections: dict[str, tuple[dict, ...]] = field(default_factory=dict, compare=False,
                                                  hash=False)

    def section(self, source: str) -> tuple[dict, ...]:
        """The catalog entries of the source folder `source` (empty if it has none)."""
        return self.sections.get(source, ())

    @property
    def symbols(self) -> list[str]:
        return [i.symbol for i in self.market]

    @property
    def series_ids(self) -> list[str]:
        return [s.id for s in self.fred]

    def instrument(self, symbol: str) -> Instrument:
        for i in self.market:
            if i.symbol == symbol:
                return i
        raise KeyError(symbol)


def file_stem_for_symbol(symbol: str) -> str:
    """`^RUT` -> `RUT`, `GC=F` -> `GC_F`, `BTC-USD` -> `BTC-USD` (shared/data/real's layout)."""
    stem = symbol[1:] if symbol.startswith("^") else symbol
    return stem.replace("=", "_")


def _require(entry: dict, key: str, where: str) -> str:
    value = entry.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise CatalogError(f"{where}: missing '{key}'")
    return str(value)


def _choice(entry: dict, key: str, allowed: tuple[str, ...], where: str,
            hint: str = "") -> str:
    value = _require(entry, key, where)
    if value not in allowed:
        raise CatalogError(f"{where}: {key} '{value}' is not one of {', '.join(allowed)}"
                           + (f" ({hint})" if hint else ""))
    return value


def parse_catalog(raw: dict) -> Catalog:
    if not isinstance(raw, dict):
        raise CatalogError("catalog must be a mapping with 'market' and 'fred' lists")
    market: list[Instrument] = []
    for n, entry in enumerate(raw.get("market") or []):
        where = f"market[{n}] ({entry.get('symbol', '?')})"
        market.append(
            Instrument(
                symbol=_require(entry, "symbol", where),
                name=_require(entry, "name", where),
                asset_class=_choice(entry, "asset_class", ASSET_CLASSES, where),
                calendar=_choice(entry, "calendar", CALENDARS, where),
                history_note=(str(entry["history_note"]).strip()
                              if entry.get("history_note") else None),
                demo=dict(entry.get("demo") or {}),
            )
        )
    fred: list[FredSeries] = []
    for n, entry in enumerate(raw.get("fred") or []):
        where = f"fred[{n}] ({entry.get('id', '?')})"
        fred.append(
            FredSeries(
                id=_require(entry, "id", where),
                name=_require(entry, "name", where),
                units=_choice(entry, "units", tuple(fred_units()), where,
                              hint="the units var fred_units declares in "
                                   "dbt_project/dbt_project.yml"),
                frequency=_choice(entry, "frequency", FREQUENCIES, where),
                demo=dict(entry.get("demo") or {}),
            )
        )
    # counted once each (list.count per key is quadratic in the catalog's size)
    for kind, section, keys in (("symbol", "market", [i.symbol for i in market]),
                                ("series", "fred", [s.id for s in fred])):
        dupes = sorted(k for k, n in Counter(keys).items() if n > 1)
        if dupes:
            where = {k: [n for n, key in enumerate(keys) if key == k] for k in dupes}
            raise CatalogError("duplicate " + "; ".join(
                f"{kind} {k} ({' and '.join(f'{section}[{n}]' for n in where[k])})"
                for k in dupes))
    clash = sorted(s for s, n in Counter(i.file_stem for i in market).items() if n > 1)
    if clash:
        raise CatalogError(f"symbols map to the same file name: {', '.join(clash)}")
    sections: dict[str, tuple[dict, ...]] = {}
    for name, entries in raw.items():
        if name in ("market", "fred"):
            continue
        from orchestration.sources import source_names

        if name not in source_names():
            raise CatalogError(f"catalog section '{name}' names no source: there is no folder "
                               f"orchestration/sources/{name}")
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise CatalogError(f"catalog section '{name}' must be a list of mappings")
        sections[name] = tuple(dict(e) for e in entries)
    if not market and not fred and not sections:
        raise CatalogError("catalog lists no market instruments and no FRED series")
    return Catalog(market=tuple(market), fred=tuple(fred), sections=sections)


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """PyYAML's error where it is (line and column of the file, counted from 1), without its
    own name for the text it read ("<unicode string>")."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None)
    if mark is None or problem is None:
        return " ".join(str(exc).split())
    context = getattr(exc, "context", None)
    return (f"line {mark.line + 1}, column {mark.column + 1}: {problem}"
            + (f" ({context})" if context else ""))


def load_catalog(path: Path | str | None = None) -> Catalog:
    chosen = catalog_path()  # LOCKSTEP_CATALOG or the repo's catalog
    path = chosen if path is None else Path(path)
    named = f"{CATALOG_ENV}={path}" if path == chosen != CATALOG_PATH else str(path)
    try:
        # libyaml's safe loader when PyYAML has it (several times faster on a big catalog)
        raw = yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (FileNotFoundError, IsADirectoryError) as exc:
        raise CatalogError(f"catalog file not found: {named}") from exc
    except yaml.YAMLError as exc:
        raise CatalogError(f"catalog file {named} is not valid YAML: {_yaml_problem(exc)}"
                           ) from None
    try:
        return parse_catalog(raw)
    except CatalogError as exc:
        raise CatalogError(f"{named}: {exc}") from None
