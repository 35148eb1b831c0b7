"""The files source: layout, file-name rule, missing files, bad cells, the synthetic marker."""

from datetime import date

import pandas as pd
import pytest

from orchestration.catalog import parse_catalog
from orchestration.sources.base import SourceError
from orchestration.sources.files.client import MARKER_FILE, FilesSource

CATALOG = parse_catalog({
    "market": [
        {"symbol": "^RUT", "name": "Russell 2000", "asset_class": "equity_index",
         "calendar": "XNYS"},
        {"symbol": "GC=F", "name": "Gold", "asset_class": "commodity_future", "calendar": "XNYS"},
        {"symbol": "^NDX", "name": "Nasdaq 100", "asset_class": "equity_index",
         "calendar": "XNYS"},
    ],
    "fred": [{"id": "EFFR", "name": "EFFR", "units": "percent", "frequency": "business_daily"},
             {"id": "WTREGEN", "name": "TGA", "units": "millions_usd", "frequency": "weekly"}],
})

HEADER = "date,open,high,low,close,adj_close,volume\n"


@pytest.fixture()
def data_dir(tmp_path):
    (tmp_path / "market").mkdir()
    (tmp_path / "fred").mkdir()
    (tmp_path / "market" / "RUT.csv").write_text(
        HEADER + "2026-08-26,,,,3005.9,3005.9,\n2026-08-27,3000,3020,2990,3014.34,3014.34,0\n")
    (tmp_path / "market" / "GC_F.csv").write_text(
        HEADER + "2026-02-20,5039.5,5072.700195,5039.5,5059.299805,5059.299805,37\n")
    (tmp_path / "fred" / "EFFR.csv").write_text("date,value\n2025-12-10,3.89\n2025-12-11,\n"
                                                "2025-12-12,3.64\n")
    return tmp_path


def test_reads_layout_with_file_name_rule_and_empty_cells(data_dir):
    result = FilesSource(data_dir).fetch_market(CATALOG.market)
    assert result.source == "files"
    rut = result.frame[result.frame.symbol == "^RUT"]
    assert rut.date.tolist() == [date(2026, 8, 26), date(2026, 8, 27)]
    assert pd.isna(rut.open.iloc[0]) and pd.isna(rut.volume.iloc[0])
    assert rut.close.tolist() == [3005.9, 3014.34]
    gold = result.frame[result.frame.symbol == "GC=F"]
    assert gold.volume.tolist() == [37]


def test_catalog_symbol_without_a_file_is_reported(data_dir):
    result = FilesSource(data_dir).fetch_market(CATALOG.market)
    assert set(result.missing) == {"^NDX"}
    assert "market/NDX.csv" in result.missing["^NDX"]
    fred = FilesSource(data_dir).fetch_fred(CATALOG.fred)
    assert set(fred.missing) == {"WTREGEN"}
    assert fred.frame.value.tolist() == [3.89, 3.64]
    assert "1 missing" in fred.notes["EFFR"]


def test_bad_cell_holds_back_only_its_symbol_and_names_file_and_date(data_dir):
    (data_dir / "market" / "RUT.csv").write_text(HEADER + "2026-08-27,1,2,1,abc,1,0\n")
    result = FilesSource(data_dir).fetch_market(CATALOG.market)
    assert result.failures == {"^RUT": "RUT.csv has a non-numeric close 'abc' on 2026-08-27"}
    assert "^RUT" not in set(result.frame.symbol)
    assert set(result.frame.symbol) == {"GC=F"}  # the other file still loads


def test_bad_date_is_named(data_dir):
    (data_dir / "market" / "RUT.csv").write_text(HEADER + "27/08/2026,1,2,1,2,1,0\n")
    result = FilesSource(data_dir).fetch_market(CATALOG.market)
    assert result.failures == {"^RUT": "RUT.csv has an invalid date '27/08/2026'"}


def test_missing_directory_is_an_error(tmp_path):
    with pytest.raises(SourceError, match="does not exist"):
        FilesSource(tmp_path / "nope")


def test_synthetic_marker_labels_rows_demo(data_dir):
    (data_dir / MARKER_FILE).write_text("synthetic")
    assert FilesSource(data_dir).fetch_market(CATALOG.market).source == "demo"


def test_reads_the_real_history_whole(real_data, catalog):
    result = FilesSource(real_data).fetch_market(catalog.market)
    assert result.source == "files"
    assert set(result.missing) == {"^NDX"}
    counts = result.frame.groupby("symbol").size().to_dict()
    for inst in catalog.market:
        path = real_data / "market" / f"{inst.file_stem}.csv"
        if path.exists():
            assert counts[inst.symbol] == len(pd.read_csv(path)), inst.symbol
