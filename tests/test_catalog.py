import pytest

from orchestration.catalog import CatalogError, file_stem_for_symbol, parse_catalog


def test_default_catalog_has_the_universe(catalog):
    assert catalog.symbols == [
        "BTC-USD", "^RUT", "IWM", "^GSPC", "^DJI", "^NDX", "QQQ", "GC=F", "SI=F"
    ]
    assert catalog.series_ids == [
        "WALCL", "TREAST", "WSHOBL", "WSHOMCB", "WRESBAL", "WTREGEN", "WDTGAL", "RRPONTSYD",
        "DFEDTARU", "DFEDTARL", "EFFR", "SOFR", "IORB", "DGS2",
    ]
    assert catalog.instrument("BTC-USD").calendar == "24/7"
    assert {i.calendar for i in catalog.market if i.symbol != "BTC-USD"} == {"XNYS"}
    units = {s.id: s.units for s in catalog.fred}
    assert units["WALCL"] == "millions_usd" and units["RRPONTSYD"] == "billions_usd"
    assert units["EFFR"] == "percent"


@pytest.mark.parametrize(
    "symbol, stem",
    [("^RUT", "RUT"), ("GC=F", "GC_F"), ("BTC-USD", "BTC-USD"), ("SI=F", "SI_F"), ("IWM", "IWM")],
)
def test_file_name_rule(symbol, stem):
    assert file_stem_for_symbol(symbol) == stem


def _entry(**over):
    base = {"symbol": "X", "name": "x", "asset_class": "etf", "calendar": "XNYS"}
    base.update(over)
    return base


def test_bad_calendar_is_named():
    with pytest.raises(CatalogError, match=r"market\[0\] \(X\): calendar 'LSE'"):
        parse_catalog({"market": [_entry(calendar="LSE")]})


def test_duplicate_symbol_is_refused_naming_it_and_its_entries():
    with pytest.raises(CatalogError) as refused:
        parse_catalog({"market": [_entry(), _entry(symbol="Y"), _entry()],
                       "fred": [{"id": "EFFR", "name": "e", "units": "percent",
                                 "frequency": "daily"}] * 2})
    # the symbol and both places it is listed (entries counted from 0, as the other
    # messages name them: market[2])
    assert str(refused.value) == "duplicate symbol X (market[0] and market[2])"


def test_symbols_that_share_a_file_name_are_refused():
    with pytest.raises(CatalogError, match="same file name: RUT"):
        parse_catalog({"market": [_entry(symbol="^RUT"), _entry(symbol="RUT")]})


def test_missing_units_is_named():
    with pytest.raises(CatalogError, match=r"fred\[0\] \(WALCL\): missing 'units'"):
        parse_catalog({"fred": [{"id": "WALCL", "name": "a", "frequency": "weekly"}]})


def test_adding_an_instrument_is_config_only():
    cat = parse_catalog({"market": [_entry(symbol="ETH-USD", asset_class="crypto",
                                           calendar="24/7")]})
    assert cat.symbols == ["ETH-USD"] and cat.instrument("ETH-USD").file_stem == "ETH-USD"


def test_fred_units_have_one_home_in_the_dbt_vars(monkeypatch):
    """A unit is declared once, in dbt_project.yml's var fred_units: the catalog accepts
    exactly those, and staging's factor, the demo source and the raw range check read the
    same declaration."""
    import yaml

    from orchestration.lib import dbt_vars

    declared = yaml.safe_load(dbt_vars.DBT_PROJECT_FILE.read_text())["vars"]["fred_units"]
    assert set(declared) == {"millions_usd", "billions_usd", "percent"}
    assert declared["millions_usd"]["divide_by"] == 1000.0  # FRED's H.4.1 is in millions
    series = {"id": "X1", "name": "x", "frequency": "weekly"}
    with pytest.raises(CatalogError, match=r"units 'thousands_usd' is not one of "
                                           r"millions_usd, billions_usd, percent \(.*fred_units"):
        parse_catalog({"fred": [{**series, "units": "thousands_usd"}]})
    # declare it there, and the catalog takes it (nothing else to edit)
    monkeypatch.setitem(dbt_vars.dbt_vars(), "fred_units", {
        **declared, "thousands_usd": {"converts_to": "billions_usd", "divide_by": 1e6,
                                      "sane_min": 0.0, "sane_max": 2e10}})
    assert parse_catalog({"fred": [{**series, "units": "thousands_usd"}]}).fred[0].units == \
        "thousands_usd"


def test_a_new_source_has_its_own_catalog_section(tmp_path, monkeypatch):
    """A source folder's entries are a top-level list named after the folder, kept as
    written for that source to read; a section without a folder is refused, named."""
    from orchestration import sources

    monkeypatch.setattr(sources, "source_names", lambda: ["yahoo", "fred", "ecb"])
    cat = parse_catalog({"market": [_entry()], "ecb": [{"id": "EXR.D.USD.EUR.SP00.A"}]})
    assert cat.section("ecb") == ({"id": "EXR.D.USD.EUR.SP00.A"},)
    assert cat.section("fred") == () and cat.symbols == ["X"]
    with pytest.raises(CatalogError, match="catalog section 'boe' names no source: there is "
                                           "no folder orchestration/sources/boe"):
        parse_catalog({"market": [_entry()], "boe": [{"id": "IUDBEDR"}]})
    with pytest.raises(CatalogError, match="catalog section 'ecb' must be a list of mappings"):
        parse_catalog({"ecb": {"id": "x"}})


def test_lockstep_catalog_sets_the_universe_of_a_run(tmp_path, demo_dir):
    """LOCKSTEP_CATALOG points at another catalog file: the files source reads the symbols
    and series it lists (the directory holds the whole demo universe), and the reference
    tables list them; the repo's catalog is untouched."""
    import dagster as dg
    import duckdb
    import pandas as pd
    import yaml

    from orchestration.catalog import CATALOG_PATH
    from orchestration.partitions import newest_key
    from orchestration.resources import LockstepResource
    from orchestration.sources.fred.assets import fred_series, raw_fred
    from orchestration.sources.yahoo.assets import instruments, raw_market
    from tests.conftest import lockstep_env

    full = yaml.safe_load(CATALOG_PATH.read_text())
    mine = {"market": [e for e in full["market"] if e["symbol"] in ("BTC-USD", "GC=F")],
            "fred": [e for e in full["fred"] if e["id"] == "WALCL"]}
    path = tmp_path / "my_catalog.yaml"
    path.write_text(yaml.safe_dump(mine))
    warehouse = tmp_path / "w.duckdb"
    with lockstep_env(source="files", data_dir=str(demo_dir), warehouse=str(warehouse),
                      catalog=str(path)):
        result = dg.materialize([instruments, fred_series, raw_market, raw_fred],
                                resources={"lockstep": LockstepResource()},
                                instance=dg.DagsterInstance.ephemeral(),
                                partition_key=newest_key())
    assert result.success
    with duckdb.connect(str(warehouse), read_only=True) as con:
        counts = dict(con.execute("SELECT symbol, count(*) FROM raw.market_prices "
                                  "GROUP BY 1").fetchall())
        series = con.execute("SELECT DISTINCT series_id FROM raw.fred_observations").fetchall()
        listed = con.execute("SELECT symbol FROM raw.instruments ORDER BY 1").fetchall()
    on_disk = {s: len(pd.read_csv(demo_dir / "market" / f"{stem}.csv"))
               for s, stem in (("BTC-USD", "BTC-USD"), ("GC=F", "GC_F"))}
    assert counts == on_disk
    assert series == [("WALCL",)]
    assert listed == [("BTC-USD",), ("GC=F",)]


def test_a_missing_lockstep_catalog_names_the_variable(tmp_path, monkeypatch):
    from orchestration.catalog import load_catalog

    monkeypatch.setenv("LOCKSTEP_CATALOG", str(tmp_path / "nope.yaml"))
    with pytest.raises(CatalogError, match=r"catalog file not found: LOCKSTEP_CATALOG=.*nope"):
        load_catalog()
    (tmp_path / "bad.yaml").write_text("market:\n  - symbol: X\n")
    monkeypatch.setenv("LOCKSTEP_CATALOG", str(tmp_path / "bad.yaml"))
    with pytest.raises(CatalogError, match=r"LOCKSTEP_CATALOG=.*bad.yaml: market\[0\] \(X\)"):
        load_catalog()


def test_a_yaml_error_names_the_catalog_file_and_its_line(tmp_path, monkeypatch):
    """PyYAML names a text it was given as "<unicode string>"; the error names the file (as
    LOCKSTEP_CATALOG set it) and the line, counted from 1 as an editor does."""
    from orchestration.catalog import load_catalog

    path = tmp_path / "mine.yaml"
    path.write_text("market:\n  - symbol: X\n    name: x: y\n")  # line 3: a second colon
    monkeypatch.setenv("LOCKSTEP_CATALOG", str(path))
    with pytest.raises(CatalogError) as bad:
        load_catalog()
    message = str(bad.value)
    assert message.startswith(f"catalog file LOCKSTEP_CATALOG={path} is not valid YAML: line 3, ")
    assert "column 12: mapping values are not allowed" in message  # the second colon
    assert "<unicode string>" not in message and "\n" not in message


def test_make_run_with_a_broken_catalog_says_so_once_before_any_run(tmp_path):
    """The catalog is read before the run starts: one line naming the file and the symbol,
    exit 2, no Dagster run and no warehouse (before, every step failed on it and the
    summary cut the message after "dup.yaml: dupli")."""
    import os
    import subprocess
    import sys

    from tests.conftest import PROJECT_ROOT

    full = (PROJECT_ROOT / "orchestration" / "catalog.yaml").read_text()
    assert "symbol: IWM" in full  # the third entry, market[2]
    dup = tmp_path / "a-directory-with-a-long-name-as-people-have" / "dup.yaml"
    dup.parent.mkdir()
    dup.write_text(full.replace("symbol: IWM", "symbol: BTC-USD"))
    env = {**os.environ, "LOCKSTEP_CATALOG": str(dup)}
    out = subprocess.run([sys.executable, "-m", "orchestration.cli", "run"], cwd=PROJECT_ROOT,
                         env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 2, out.stdout[-2000:] + out.stderr[-2000:]
    assert out.stderr.strip() == (f"lockstep: LOCKSTEP_CATALOG={dup}: duplicate symbol "
                                  f"BTC-USD (market[0] and market[2])")
    assert "running" not in out.stdout
    assert not os.path.exists(os.environ["LOCKSTEP_WAREHOUSE"])


def test_every_fred_series_has_a_publication_lag_with_its_reason(catalog):
    """The brief uses a FRED value only from the day it was published: dbt_project.yml's var
    fred_publication_lags gives every catalog series its lag in business days and why. EFFR
    and SOFR are published by the New York Fed the next business day; the 2-year yield
    (Treasury's par curve) the same evening."""
    import yaml

    from tests.conftest import PROJECT_ROOT

    lags = yaml.safe_load((PROJECT_ROOT / "dbt_project" / "dbt_project.yml").read_text()
                          )["vars"]["fred_publication_lags"]
    assert set(lags) == set(catalog.series_ids)
    assert all(isinstance(v["business_days_after"], int) and len(v["reason"]) > 10
               for v in lags.values())
    assert (lags["EFFR"]["business_days_after"], lags["SOFR"]["business_days_after"],
            lags["DGS2"]["business_days_after"]) == (1, 1, 0)
