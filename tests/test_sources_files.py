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


def _rejected(result) -> list[tuple]:
    return [tuple(r) for r in result.rejected[["symbol_or_series", "date", "line",
                                               "column_name", "raw_value", "reason"]]
            .itertuples(index=False)]


@pytest.mark.parametrize("parse_bytes", [None, 1], ids=["one parse", "a parse per file"])
def test_a_bad_cell_is_handed_back_with_its_file_and_line_and_the_rest_loads(
        data_dir, monkeypatch, parse_bytes):
    from orchestration.sources.files import client

    if parse_bytes is not None:
        monkeypatch.setattr(client, "PARSE_BYTES", parse_bytes)
    (data_dir / "market" / "RUT.csv").write_text(
        HEADER + "2026-08-26,1,2,1,3005.9,3005.9,0\n\n2026-08-27,1,2,1,abc,1,0\n"
        "2026-08-28,1,2,1,3025.5,3025.5,x\n2026-08-31,1,2,1,3030,3030,5\n")
    result = FilesSource(data_dir).fetch_market(CATALOG.market)
    assert result.failures == {}
    # by hand: the header is line 1, a blank line 3; the first bad cell of a row names it
    assert _rejected(result) == [
        ("^RUT", date(2026, 8, 27), 4, "close", "abc", "not a number"),
        ("^RUT", date(2026, 8, 28), 5, "volume", "x", "not a number")]
    assert result.files["^RUT"] == "market/RUT.csv"
    assert _rows(result) == ["2026-08-26", "2026-08-31"]  # its other rows
    assert result.frame[result.frame.symbol == "^RUT"].line.tolist() == [2, 6]
    assert set(result.frame.symbol) == {"^RUT", "GC=F"}


def test_a_bad_date_is_handed_back_without_a_date(data_dir):
    (data_dir / "market" / "RUT.csv").write_text(HEADER + "27/08/2026,1,2,1,2,1,0\n"
                                                 ",1,2,1,2,1,0\n2026-08-28,1,2,1,2,1,0\n")
    result = FilesSource(data_dir).fetch_market(CATALOG.market)
    assert _rejected(result) == [
        ("^RUT", None, 2, "date", "27/08/2026", "not a date (YYYY-MM-DD)"),
        ("^RUT", None, 3, "date", "", "missing")]
    assert _rows(result) == ["2026-08-28"]


@pytest.mark.parametrize("text", ["", HEADER, HEADER + "\n  \n"],
                         ids=["empty", "header only", "header and blank lines"])
def test_a_file_without_rows_is_an_error_naming_it(data_dir, text):
    (data_dir / "market" / "RUT.csv").write_text(text)
    (data_dir / "fred" / "EFFR.csv").write_text(text.replace(HEADER, "date,value\n"))
    result = FilesSource(data_dir).fetch_market(CATALOG.market)
    why = "is empty" if not text else "has a header and no rows"
    assert set(result.failures) == {"^RUT"}
    assert result.failures["^RUT"] == f"{data_dir / 'market' / 'RUT.csv'} {why}"
    assert set(result.frame.symbol) == {"GC=F"}  # the other file still loads
    fred = FilesSource(data_dir).fetch_fred(CATALOG.fred)
    assert fred.failures == {"EFFR": f"{data_dir / 'fred' / 'EFFR.csv'} {why}"}


def test_a_bad_fred_value_and_a_malformed_line_are_handed_back_and_a_missing_one_counted(
        data_dir):
    (data_dir / "fred" / "EFFR.csv").write_text("date,value\n2025-12-10,3.89\n2025-12-11,\n"
                                                "2025-12-12,3,64\n2025-12-15,n/a\n")
    result = FilesSource(data_dir).fetch_fred(CATALOG.fred)
    assert _rejected(result) == [
        ("EFFR", date(2025, 12, 12), 4, None, "2025-12-12,3,64", "not 2 fields (it has 3)"),
        ("EFFR", date(2025, 12, 15), 5, "value", "n/a", "not a number")]
    assert result.frame.value.tolist() == [3.89]
    assert result.notes["EFFR"] == "1 missing value(s) skipped"


def test_a_line_with_too_few_fields_is_quarantined_like_one_with_too_many(data_dir):
    """The trial's `2026-06-08,280,281` appended to a market file, and a FRED line with
    its date alone: each is handed back as malformed (its field count by hand), not padded
    into "no observation"; a row with every price cell empty (7 fields, as Yahoo writes a
    day without trading) and FRED's empty value stay skipped observations."""
    (data_dir / "market" / "RUT.csv").write_text(
        HEADER + "2026-08-26,3000,3020,2990,3014.34,3014.34,0\n2026-08-27,,,,,,\n"
        "2026-06-08,280,281\n2026-08-28,3000,3020,2990,3015,3015,0\n")
    (data_dir / "fred" / "EFFR.csv").write_text("date,value\n2025-12-10,3.89\n2025-12-11,\n"
                                                "2025-12-12\n2025-12-15,3.64\n")
    market = FilesSource(data_dir).fetch_market(CATALOG.market)
    assert _rejected(market) == [
        ("^RUT", date(2026, 6, 8), 4, None, "2026-06-08,280,281", "not 7 fields (it has 3)")]
    rut = market.frame[market.frame.symbol == "^RUT"]
    assert rut.date.tolist() == [date(2026, 8, 26), date(2026, 8, 28)]
    assert rut.line.tolist() == [2, 5]
    fred = FilesSource(data_dir).fetch_fred(CATALOG.fred)
    assert _rejected(fred) == [
        ("EFFR", date(2025, 12, 12), 4, None, "2025-12-12", "not 2 fields (it has 1)")]
    assert fred.frame.value.tolist() == [3.89, 3.64]
    assert fred.notes["EFFR"] == "1 missing value(s) skipped"


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



def test_short_texts_parsed_together_give_what_each_file_gives_alone(tmp_path, monkeypatch):
    """read_market_texts parses texts that share a header in one go: the rows (with their
    lines), the unreadable rows and the failures must be those of reading every file alone
    (read_market_file)."""
    from orchestration.sources.files import client
    from orchestration.sources.files.client import read_market_file, read_market_texts

    read_alone = []
    monkeypatch.setattr(client, "read_market_file", lambda path, symbol, text, first_line: (
        read_alone.append(symbol), read_market_file(path, symbol, text, first_line))[1])

    other = "close,date,volume,open,high,low,adj_close\n"  # another column order
    texts = {
        "A": HEADER + "2026-01-02,1,2,0.5,1.5,1.5,10\n\n2026-01-05,1.5,2,1,1.75,1.75,12.6\n",
        "B": HEADER + "  \n2026-01-02,,,,7,7,\n2026-01-05,7,8,6,,,\n2026-01-06,7,8,6,7.5,7.5,3",
        "C": HEADER + "2026-01-02,1,1,1,1,1,1\n2026-01-05,1,1,1,oops,1,1\n",
        "D": HEADER + "2026-01-06,3,4,2,3.5,3.5,0\n",
        "D2": HEADER + "2026-01-06,3,4,2,3.5,3.5,0\n2026-01-07,3,4\n",  # a short line
        "E": other + "9,2026-01-02,5,8,10,7,9\n",
        "F": other + "9.5,2026-01-05,6,9,10,8,9.5\n",
        "G": HEADER + "2026-01-07,1,1,1,1,1,1\n" * 5000,  # longer than TOGETHER_BYTES
    }
    items = [(tmp_path / f"{k}.csv", k, v.encode(), 2) for k, v in texts.items()]
    items.append((tmp_path / "H.csv", "H", (HEADER + "2026-01-08,1,1,1,2,2,2\n").encode(), 41))
    items.append((tmp_path / "I.csv", "I", HEADER.encode(), 2))  # a header and no rows
    frames, rejected, failures = read_market_texts(items)
    # the long one, the one with a short line, and the one without rows
    assert sorted(read_alone) == ["D2", "G", "I"]
    together = pd.concat(frames).sort_values(["symbol", "date"]).reset_index(drop=True)

    alone, alone_rejected, alone_failures = client.one_by_one(read_market_file)(items)
    expected = pd.concat(alone).sort_values(["symbol", "date"]).reset_index(drop=True)

    pd.testing.assert_frame_equal(together, expected)
    pd.testing.assert_frame_equal(pd.concat(rejected).reset_index(drop=True),
                                  pd.concat(alone_rejected).reset_index(drop=True))
    assert failures == alone_failures == {"I": f"{tmp_path / 'I.csv'} has a header and no rows"}
    # by hand: C's unreadable close on its line 3, its first row loads; B's row without a
    # close is no observation; A's volume 12.6 rounds to 13; H's text starts at line 41
    assert pd.concat(rejected)[["symbol_or_series", "line", "column_name", "raw_value"]
                               ].values.tolist() == [["C", 3, "close", "oops"],
                                                     ["D2", 3, None, "2026-01-07,3,4"]]
    assert together.groupby("symbol").size().to_dict() == {"A": 2, "B": 2, "C": 1, "D": 1,
                                                           "D2": 1,
                                                           "E": 1, "F": 1, "G": 5000, "H": 1}
    assert together[together.symbol == "A"].line.tolist() == [2, 4]  # a blank line between
    assert together[together.symbol == "H"].line.tolist() == [41]
    assert together[together.symbol == "A"].volume.tolist() == [10, 13]
    assert together[together.symbol == "E"].close.tolist() == [9.0]

# -- reading only what changed (raw.source_files) -----------------------------------------

def _warehouse(tmp_path):
    import duckdb

    from orchestration.lib.warehouse import ensure_raw_schema

    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    ensure_raw_schema(con)
    return con


def _load(con, source, fetch="fetch_market", held_back=(), **window):
    """What the ingestion does: read the kept positions, fetch, store them with the rows."""
    from orchestration.lib.warehouse import upsert
    from orchestration.sources.fred.tables import FRED
    from orchestration.sources.yahoo.tables import MARKET

    source.read_state(con)
    spec, items = ((MARKET, CATALOG.market) if fetch == "fetch_market"
                   else (FRED, CATALOG.fred))
    result = getattr(source, fetch)(items, **window)
    upsert(con, spec, result.frame, result.source, pd.Timestamp("2026-11-30").to_pydatetime(),
           also=lambda c: result.keep_state(c, set(held_back)))
    return result


def _rows(result, symbol="^RUT"):
    return result.frame[result.frame.symbol == symbol].date.astype(str).tolist()


def test_an_unchanged_file_is_not_read_again_and_an_appended_one_from_its_end(
        data_dir, tmp_path):
    con = _warehouse(tmp_path)
    first = _load(con, FilesSource(data_dir))
    assert _rows(first) == ["2026-08-26", "2026-08-27"]
    again = _load(con, FilesSource(data_dir))
    assert again.frame.empty
    assert again.notes == {"(2 files)": "unchanged since they were last read and stored; "
                                         "not read again"}
    with open(data_dir / "market" / "RUT.csv", "a") as f:
        f.write("2026-08-28,3014,3030,3001,3025.5,3025.5,10\n")
    appended = _load(con, FilesSource(data_dir))
    assert _rows(appended) == ["2026-08-28"]
    assert appended.frame.close.tolist() == [3025.5] and appended.frame.volume.tolist() == [10]
    assert set(appended.frame.symbol) == {"^RUT"}  # gold's file is unchanged
    n, digest = con.execute("SELECT bytes, sha256 FROM raw.source_files WHERE path LIKE "
                            "'%RUT.csv'").fetchone()
    text = (data_dir / "market" / "RUT.csv").read_bytes()
    import hashlib
    assert (n, digest) == (len(text), hashlib.sha256(text).hexdigest())
    assert con.execute("SELECT count(*) FROM raw.market_prices WHERE symbol = '^RUT'"
                       ).fetchone() == (3,)


def test_a_change_deep_in_a_file_reads_it_whole(data_dir, tmp_path):
    con = _warehouse(tmp_path)
    _load(con, FilesSource(data_dir))
    path = data_dir / "market" / "RUT.csv"
    # a revised first row, same length: the digest of the bytes read last time differs
    path.write_text(path.read_text().replace("3005.9,3005.9", "3005.1,3005.1") +
                    "2026-08-28,3014,3030,3001,3025.5,3025.5,10\n")
    revised = _load(con, FilesSource(data_dir))
    assert _rows(revised) == ["2026-08-26", "2026-08-27", "2026-08-28"]
    assert con.execute("SELECT close FROM raw.market_prices WHERE symbol = '^RUT' "
                       "AND date = '2026-08-26'").fetchone() == (3005.1,)
    assert con.execute("SELECT close FROM raw.market_prices_revisions WHERE symbol = '^RUT'"
                       ).fetchall() == [(3005.9,)]


def test_a_file_without_a_final_newline_is_read_whole_when_it_grows(data_dir, tmp_path):
    con = _warehouse(tmp_path)
    path = data_dir / "fred" / "EFFR.csv"
    path.write_text("date,value\n2025-12-10,3.89\n2025-12-12,3.6")
    _load(con, FilesSource(data_dir), "fetch_fred")
    # the last line was still being written: it ends up as 3.64, then a new day
    with open(path, "a") as f:
        f.write("4\n2025-12-15,3.64\n")
    grown = _load(con, FilesSource(data_dir), "fetch_fred")
    assert grown.frame.date.astype(str).tolist() == ["2025-12-10", "2025-12-12", "2025-12-15"]
    assert con.execute("SELECT value FROM raw.fred_observations WHERE date = '2025-12-12'"
                       ).fetchone() == (3.64,)


def test_a_window_reads_whole_and_what_is_held_back_is_read_again(data_dir, tmp_path):
    con = _warehouse(tmp_path)
    # a backfill of chosen years reads whole even if the positions say nothing changed
    _load(con, FilesSource(data_dir))
    windowed = _load(con, FilesSource(data_dir), start=date(2026, 1, 1), end=date(2026, 12, 31))
    assert _rows(windowed) == ["2026-08-26", "2026-08-27"]
    # a symbol held back (failed validation, rows outside the window) keeps its old position
    with open(data_dir / "market" / "RUT.csv", "a") as f:
        f.write("2026-08-28,3014,3030,3001,3025.5,3025.5,10\n")
    _load(con, FilesSource(data_dir), held_back={"^RUT"})
    assert _rows(_load(con, FilesSource(data_dir))) == ["2026-08-28"]


def test_a_failed_load_keeps_the_old_positions(data_dir, tmp_path):
    con = _warehouse(tmp_path)
    _load(con, FilesSource(data_dir))
    before = con.execute("SELECT * FROM raw.source_files ORDER BY path").fetchall()
    with open(data_dir / "market" / "RUT.csv", "a") as f:
        f.write("2026-08-28,3014,3030,3001,3025.5,3025.5,10\n")
    source = FilesSource(data_dir)
    source.read_state(con)
    result = source.fetch_market(CATALOG.market)
    from orchestration.lib.warehouse import MixedSourceError, upsert
    from orchestration.sources.yahoo.tables import MARKET
    with pytest.raises(MixedSourceError):  # synthetic rows into a real warehouse
        upsert(con, MARKET, result.frame, "demo", pd.Timestamp("2026-11-30").to_pydatetime(),
               also=lambda c: result.keep_state(c, set()))
    assert con.execute("SELECT * FROM raw.source_files ORDER BY path").fetchall() == before
    assert _rows(_load(con, FilesSource(data_dir))) == ["2026-08-28"]

# -- quarantined rows across loads (raw_market's step: lib/ingest.py, lib/quarantine.py) -----

def _raw_market(data_dir, tmp_path) -> dict:
    """One daily refresh of raw/market_prices over data_dir, as the daily job runs it; the
    metadata of the load and of its quarantined rows."""
    import dagster as dg

    from orchestration.partitions import newest_key
    from orchestration.resources import LockstepResource
    from orchestration.sources.yahoo.assets import raw_market
    from tests.conftest import lockstep_env

    with lockstep_env(source="files", data_dir=str(data_dir),
                      warehouse=str(tmp_path / "w.duckdb"), state_dir=str(tmp_path / "s")):
        result = dg.materialize([raw_market], resources={"lockstep": LockstepResource()},
                                instance=dg.DagsterInstance.ephemeral(),
                                partition_key=newest_key())
    return {m.asset_key.path[-1]: {k: v.value for k, v in m.metadata.items()}
            for m in result.asset_materializations_for_node("raw_market")}


def _quarantine(tmp_path) -> list[tuple]:
    import duckdb

    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        return con.execute("""
            SELECT symbol_or_series, date, file, line, column_name, raw_value, reason,
                   resolution FROM raw.quarantined_rows ORDER BY quarantined_at, line""").fetchall()


def _closes(tmp_path, symbol="^RUT") -> dict:
    import duckdb

    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        return {str(d): c for d, c in con.execute(
            "SELECT date, close FROM raw.market_prices WHERE symbol = ? ORDER BY date",
            [symbol]).fetchall()}


def test_a_quarantined_row_stays_flagged_until_a_later_load_replaces_or_confirms_it(
        data_dir, tmp_path):
    path = data_dir / "market" / "RUT.csv"
    rows = ["2026-08-25,1,2,1,3010.02,3010.02,0", "2026-08-26,1,2,1,3005.9,3005.9,0",
            "2026-08-27,1,2,1,abc,3014.34,0", "2026-08-28,1,2,1,3020.1,3020.1,0"]
    path.write_text(HEADER + "\n".join(rows) + "\n")
    first = _raw_market(data_dir, tmp_path)
    # the other rows of ^RUT load; the bad one is kept with its file, line and value
    assert _closes(tmp_path) == {"2026-08-25": 3010.02, "2026-08-26": 3005.9,
                                 "2026-08-28": 3020.1}
    bad = ("^RUT", date(2026, 8, 27), "market/RUT.csv", 4, "close", "abc", "not a number")
    assert _quarantine(tmp_path) == [(*bad, None)]
    assert first["market_prices"]["rows_quarantined"] == 1
    assert first["market_prices"]["alerts_announced"] == 1  # announced once, here
    assert first["market_prices_quarantined"]["dagster/row_count"] == 1

    # new lines appended: only they are read; the bad row is neither seen again nor gone
    with open(path, "a") as f:
        f.write("2026-08-31,1,2,1,3030,3030,0\n")
    appended = _raw_market(data_dir, tmp_path)
    assert appended["market_prices"]["rows_received"] == 1
    assert _quarantine(tmp_path) == [(*bad, None)]
    assert appended["market_prices"]["alerts_announced"] == 0

    # a line inserted above it: the file is read whole, the same bad row is found on line
    # 5 now -- the same quarantined row (not a new one, not announced again)
    lines = path.read_text().splitlines()
    lines.insert(1, "2026-08-24,1,2,1,3000.5,3000.5,0")
    path.write_text("\n".join(lines) + "\n")
    moved = _raw_market(data_dir, tmp_path)
    assert _quarantine(tmp_path) == [(*bad[:3], 5, *bad[4:], None)]
    assert moved["market_prices"]["alerts_announced"] == 0
    assert _closes(tmp_path)["2026-08-24"] == 3000.5

    # the cell fixed in place: read whole, a good row for its date -> replaced
    path.write_text(path.read_text().replace(",abc,", ",3014.34,"))
    fixed = _raw_market(data_dir, tmp_path)
    assert _quarantine(tmp_path) == [(*bad[:3], 5, *bad[4:], "replaced")]
    assert _closes(tmp_path)["2026-08-27"] == 3014.34
    assert fixed["market_prices_quarantined"]["dagster/row_count"] == 0

    # two rows for a stored date (ambiguous): both are quarantined, the stored close stays;
    # a row for a new date that is not a number: quarantined
    with open(path, "a") as f:
        f.write("2026-08-28,1,2,1,3021.0,3021.0,0\n2026-09-01,1,2,1,n/a,1,0\n")
    _raw_market(data_dir, tmp_path)
    open_rows = [r for r in _quarantine(tmp_path) if r[-1] is None]
    both = "one of 2 rows for this date (ambiguous: none of them is stored)"
    assert open_rows == [("^RUT", date(2026, 8, 28), "market/RUT.csv", 6, "date",
                          "2026-08-28", both, None),
                         ("^RUT", date(2026, 8, 28), "market/RUT.csv", 8, "date",
                          "2026-08-28", both, None),
                         ("^RUT", date(2026, 9, 1), "market/RUT.csv", 9, "close", "n/a",
                          "not a number", None)]
    assert _closes(tmp_path)["2026-08-28"] == 3020.1

    # the source settles both: the second 08-28 row and the 09-01 row are taken out. 08-28
    # has one good row again (replaced); 09-01 has none (confirmed: the date has no row)
    path.write_text("\n".join(path.read_text().splitlines()[:-2]) + "\n")
    _raw_market(data_dir, tmp_path)
    settled = {(r[1], r[3]): r[-1] for r in _quarantine(tmp_path)[-3:]}
    assert settled == {(date(2026, 8, 28), 6): "replaced", (date(2026, 8, 28), 8): "replaced",
                       (date(2026, 9, 1), 9): "confirmed"}
    assert "2026-09-01" not in _closes(tmp_path)
