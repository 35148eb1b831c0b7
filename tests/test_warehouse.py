"""The raw loader: idempotent upserts, all-or-nothing loads, one writer at a time."""

import multiprocessing
import re
import time
from datetime import date, datetime
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from orchestration.lib.warehouse import (
    MixedSourceError,
    WarehouseLockTimeout,
    connect,
    ensure_raw_schema,
    upsert,
    writer_lock,
)
from orchestration.sources.fred.tables import FRED
from orchestration.sources.fred.validation import fred_rejects
from orchestration.sources.yahoo.tables import MARKET
from orchestration.sources.yahoo.validation import market_rejects

T0 = datetime(2026, 1, 1, 12, 0)
T1 = datetime(2026, 1, 2, 12, 0)


def _prices(rows):
    return pd.DataFrame(rows, columns=["symbol", "date", "open", "high", "low", "close",
                                       "adj_close", "volume"])


BASE = _prices([
    ("^RUT", date(2025, 12, 10), 2550.0, 2565.0, 2540.0, 2559.61, 2559.61, 100),
    ("^RUT", date(2025, 12, 11), 2560.0, 2595.0, 2555.0, 2590.61, 2590.61, 120),
    ("BTC-USD", date(2025, 12, 11), 92000.0, 93500.0, 91000.0, 92511.34, 92511.34, 5),
])


def _all(con):
    return con.execute("SELECT * FROM raw.market_prices ORDER BY symbol, date").fetchall()


@pytest.fixture()
def con(tmp_path):
    with connect(tmp_path / "w.duckdb") as c:
        ensure_raw_schema(c)
        yield c


def test_same_load_twice_leaves_identical_rows(con):
    first = upsert(con, MARKET, BASE, "files", T0)
    rows = _all(con)
    second = upsert(con, MARKET, BASE, "files", T1)
    assert _all(con) == rows  # ingested_at untouched too
    assert first.set_index("name")["inserted"].to_dict() == {"BTC-USD": 1, "^RUT": 2}
    assert second[["inserted", "updated"]].to_numpy().sum() == 0
    assert second.set_index("name")["unchanged"].to_dict() == {"BTC-USD": 1, "^RUT": 2}


def test_revised_row_is_updated_and_counted(con):
    upsert(con, MARKET, BASE, "files", T0)
    revised = BASE.copy()
    revised.loc[1, "close"] = 2590.62
    extra = _prices([("^RUT", date(2025, 12, 12), 2590.0, 2600.0, 2580.0, 2595.0, 2595.0, 90)])
    stats = upsert(con, MARKET, pd.concat([revised, extra]), "files", T1).set_index("name")
    assert (stats.loc["^RUT", "inserted"], stats.loc["^RUT", "updated"]) == (1, 1)
    assert str(stats.loc["^RUT", "first_date"])[:10] == "2025-12-10"
    assert str(stats.loc["^RUT", "last_date"])[:10] == "2025-12-12"
    got = con.execute("SELECT close, ingested_at FROM raw.market_prices WHERE symbol = '^RUT' "
                      "ORDER BY date").fetchall()
    assert got == [(2559.61, T0), (2590.62, T1), (2595.0, T1)]


def _as_of(con, table, moment):
    return con.execute(f"SELECT * EXCLUDE (received_at) FROM {table}_as_of(?) "
                       f"ORDER BY ALL", [moment]).fetchall()


def test_revisions_are_kept_and_every_past_state_reads_back(con):
    """A bar revised twice: the current table holds the third version, the revisions table
    the two it replaced, and the as-of macro returns each state at its moment."""
    t2 = datetime(2026, 1, 3, 12, 0)
    v1, v2, v3 = BASE, BASE.copy(), BASE.copy()
    v2.loc[1, ["close", "adj_close"]] = 2590.62
    v3.loc[1, ["close", "adj_close"]] = 2591.0
    v3.loc[1, "volume"] = 121
    for frame, at in ((v1, T0), (v2, T1), (v3, t2)):
        upsert(con, MARKET, frame, "files", at)
    upsert(con, MARKET, v3, "files", datetime(2026, 1, 4))  # identical re-read: nothing kept

    def state(frame):
        return sorted(tuple(r) + ("files",) for r in frame.itertuples(index=False))

    assert _as_of(con, "raw.market_prices", datetime(2025, 12, 31)) == []  # before any load
    assert _as_of(con, "raw.market_prices", T0) == state(v1)
    assert _as_of(con, "raw.market_prices", datetime(2026, 1, 2, 11, 59)) == state(v1)
    assert _as_of(con, "raw.market_prices", T1) == state(v2)
    assert _as_of(con, "raw.market_prices", t2) == state(v3)
    assert _as_of(con, "raw.market_prices", datetime(2030, 1, 1)) == state(v3)
    kept = con.execute("SELECT date, close, volume, received_at, replaced_at "
                       "FROM raw.market_prices_revisions ORDER BY received_at").fetchall()
    assert kept == [(date(2025, 12, 11), 2590.61, 120, T0, T1),
                    (date(2025, 12, 11), 2590.62, 120, T1, t2)]
    # staging's input, the current table, holds only the latest version of each bar
    assert con.execute("SELECT count(*), max(ingested_at) FROM raw.market_prices").fetchone() \
        == (3, t2)


def test_fred_revisions_are_kept(con):
    frame = pd.DataFrame({"series_id": ["WALCL"], "date": [date(2025, 12, 3)],
                          "value": [6552000.0]})
    upsert(con, FRED, frame, "files", T0)
    upsert(con, FRED, frame.assign(value=6552100.0), "files", T1)
    assert _as_of(con, "raw.fred_observations", T0) == [("WALCL", date(2025, 12, 3),
                                                         6552000.0, "files")]
    assert _as_of(con, "raw.fred_observations", T1) == [("WALCL", date(2025, 12, 3),
                                                         6552100.0, "files")]


def test_the_documented_revision_queries_run(con):
    """warehouse/README.md, "Revisions": its SQL, as written, against kept revisions."""
    import re
    from pathlib import Path

    text = (Path(__file__).parent.parent / "warehouse" / "README.md").read_text()
    section = text.split("### Revisions", 1)[1]
    queries = [q for block in re.findall(r"```sql\n(.*?)```", section, re.S)
               for q in block.split(";") if q.strip()]
    btc = _prices([("BTC-USD", date(2026, 1, d), 90000.0 + d, 91000.0 + d, 89000.0, 90500.0 + d,
                    90500.0 + d, 7) for d in range(1, 8)])
    upsert(con, MARKET, btc, "live", datetime(2026, 1, 8))
    upsert(con, MARKET, btc.assign(close=btc.close + 1), "live", datetime(2026, 1, 12))
    walcl = pd.DataFrame({"series_id": ["WALCL"], "date": [date(2025, 12, 3)], "value": [1.0]})
    for n, at in enumerate((T0, T1, datetime(2026, 1, 5))):
        upsert(con, FRED, walcl.assign(value=6552000.0 + n), "live", at)
    held, versions = (con.execute(q).fetchall() for q in queries)
    assert [r[1] for r in held] == list(btc.close)  # as held on 10 January: before the fix
    assert [(r[0], r[1]) for r in versions] == [(6552000.0, T0), (6552001.0, T1),
                                                (6552002.0, datetime(2026, 1, 5))]


def test_failure_mid_load_leaves_the_table_as_it_was(con):
    upsert(con, MARKET, BASE, "files", T0)
    before = _all(con)
    # the update of ^RUT 2025-12-11 happens, then a new row with a negative close
    # violates the table's CHECK during the insert: the whole load must roll back
    bad = pd.concat([
        BASE.assign(close=BASE.close + 1),
        _prices([("^RUT", date(2025, 12, 12), 1.0, 1.0, 1.0, -5.0, 1.0, 1)]),
    ])
    with pytest.raises(duckdb.ConstraintException):
        upsert(con, MARKET, bad, "files", T1)
    assert _all(con) == before
    # the versions the failed load would have replaced were not kept either
    assert con.execute("SELECT count(*) FROM raw.market_prices_revisions").fetchone()[0] == 0


def test_demo_rows_never_mix_with_real_rows(con):
    upsert(con, MARKET, BASE, "files", T0)
    with pytest.raises(MixedSourceError, match="real \\(files\\) rows.*synthetic demo"):
        upsert(con, MARKET, BASE, "demo", T1)
    assert {r[-2] for r in _all(con)} == {"files"}
    # live and files are both real: they may share a warehouse
    upsert(con, MARKET, BASE.assign(close=BASE.close + 1), "live", T1)
    assert {r[-2] for r in _all(con)} == {"live"}


def test_fred_upsert(con):
    frame = pd.DataFrame({"series_id": ["WALCL", "WALCL"],
                          "date": [date(2025, 12, 3), date(2025, 12, 10)],
                          "value": [6552000.0, 6539303.0]})
    upsert(con, FRED, frame, "files", T0)
    stats = upsert(con, FRED, frame, "files", T1)
    assert int(stats.unchanged.sum()) == 2
    assert con.execute("SELECT count(*) FROM raw.fred_observations").fetchone()[0] == 2


def _hold_lock(path, started, seconds):
    with writer_lock(path):
        started.set()
        time.sleep(seconds)


def test_writer_lock_serialises_processes(tmp_path):
    path = tmp_path / "w.duckdb"
    started = multiprocessing.Event()
    holder = multiprocessing.Process(target=_hold_lock, args=(path, started, 1.5))
    holder.start()
    try:
        assert started.wait(10)
        # the holder wrote its PID into the lock file: the message names it
        with pytest.raises(WarehouseLockTimeout, match=f"another run, PID {holder.pid} "):
            with writer_lock(path, timeout=0.3):
                pass
        t = time.monotonic()
        with writer_lock(path, timeout=30):
            waited = time.monotonic() - t
        assert waited > 0.3  # it waited for the holder instead of failing
    finally:
        holder.join(10)


def test_lock_is_released_when_the_holder_dies(tmp_path):
    path = tmp_path / "w.duckdb"
    started = multiprocessing.Event()
    holder = multiprocessing.Process(target=_hold_lock, args=(path, started, 60))
    holder.start()
    assert started.wait(10)
    holder.kill()
    holder.join(10)
    with writer_lock(path, timeout=5):
        pass


def _rejected(frame) -> list[tuple]:
    return [tuple(r) for r in frame[["symbol_or_series", "date", "column_name", "raw_value",
                                     "reason"]].itertuples(index=True)]


def test_validation_names_each_bad_row_with_its_column_value_and_reason():
    """Every row that cannot be stored is named on its own (with its index in the frame, so
    the good rows of its symbol still load): both rows of a duplicated date, since which is
    right cannot be told; a row failing several checks by the first."""
    bad = pd.concat([BASE, _prices([
        ("BTC-USD", date(2025, 12, 11), 1.0, 1.0, 1.0, 92511.34, 1.0, 1),  # duplicate date
        ("^RUT", date(2025, 12, 12), -1.0, 2.0, 1.0, 2.0, 2.0, 1),           # negative open
    ])], ignore_index=True)
    assert _rejected(market_rejects(bad, today=date(2026, 1, 1))) == [
        (2, "BTC-USD", date(2025, 12, 11), "date", "2025-12-11",
         "one of 2 rows for this date (ambiguous: none of them is stored)"),
        (3, "BTC-USD", date(2025, 12, 11), "date", "2025-12-11",
         "one of 2 rows for this date (ambiguous: none of them is stored)"),
        (4, "^RUT", date(2025, 12, 12), "open", "-1.0", "not positive"),
    ]
    many = _prices([("ZZZ", date(2025, 12, d), 1.0, 1.0, 1.0, 1.0 if d == 1 else -1.0, 1.0,
                     -5 if d == 3 else 1) for d in range(1, 4)]
                   + [("AAA", date(2025, 12, 1), 1.0, 1.0, 1.0, float("inf"), 1.0, 1),
                      ("AAA", date(2025, 12, 2), 1.0, 1.0, 1.0, 1.0, 1.0, -2),
                      ("IWM", date(2026, 3, 1), 1.0, 1.0, 1.0, 1.0, 1.0, 1)])
    assert _rejected(market_rejects(many, today=date(2026, 1, 1))) == [
        (1, "ZZZ", date(2025, 12, 2), "close", "-1.0", "not positive"),
        (2, "ZZZ", date(2025, 12, 3), "close", "-1.0", "not positive"),  # and volume -5
        (3, "AAA", date(2025, 12, 1), "close", "inf", "not a finite number"),
        (4, "AAA", date(2025, 12, 2), "volume", "-2", "negative"),
        (5, "IWM", date(2026, 3, 1), "date", "2026-03-01", "in the future"),
    ]
    assert market_rejects(BASE, today=date(2026, 1, 1)).empty
    fred = pd.DataFrame({"series_id": ["EFFR", "EFFR"], "date": [date(2025, 1, 1),
                                                                 date(2025, 1, 2)],
                         "value": [float("inf"), 3.0]})
    assert _rejected(fred_rejects(fred)) == [
        (0, "EFFR", date(2025, 1, 1), "value", "inf", "not a finite number")]
    fred = pd.DataFrame({"series_id": ["WALCL", "EFFR", "WALCL", "WALCL"],
                         "date": [date(2025, 1, 1)] * 3 + [date(2025, 1, 8)],
                         "value": [1.0, 2.0, 3.0, 4.0]})
    assert [(i, n, r) for i, n, _, _, _, r in _rejected(fred_rejects(fred))] == [
        (0, "WALCL", "one of 2 rows for this date (ambiguous: none of them is stored)"),
        (2, "WALCL", "one of 2 rows for this date (ambiguous: none of them is stored)")]


@pytest.mark.parametrize("sql", [
    # duplicate keys
    "INSERT INTO raw.market_prices VALUES ('X', DATE '2025-01-02', 1, 1, 1, 1, 1, 0, 'files', "
    "TIMESTAMP '2025-01-03')",
    "INSERT INTO raw.fred_observations VALUES ('WALCL', DATE '2025-01-01', 1, 'files', "
    "TIMESTAMP '2025-01-03')",
    "INSERT INTO raw.instruments (symbol, name, asset_class, calendar) "
    "VALUES ('X', 'x', 'etf', 'XNYS')",
    "INSERT INTO raw.trading_sessions VALUES ('XNYS', DATE '2025-01-02')",
    "INSERT INTO raw.fred_series VALUES ('WALCL', 'w', 'millions_usd', 'weekly')",
    # NOT NULL and close > 0
    "INSERT INTO raw.market_prices VALUES (NULL, DATE '2025-01-03', 1, 1, 1, 1, 1, 0, 'files', "
    "TIMESTAMP '2025-01-03')",
    "INSERT INTO raw.market_prices VALUES ('X', NULL, 1, 1, 1, 1, 1, 0, 'files', "
    "TIMESTAMP '2025-01-03')",
    "INSERT INTO raw.market_prices VALUES ('X', DATE '2025-01-03', 1, 1, 1, NULL, 1, 0, 'files', "
    "TIMESTAMP '2025-01-03')",
    "INSERT INTO raw.market_prices VALUES ('X', DATE '2025-01-03', 1, 1, 1, 0, 1, 0, 'files', "
    "TIMESTAMP '2025-01-03')",
    "INSERT INTO raw.market_prices VALUES ('X', DATE '2025-01-03', 1, 1, 1, 1, 1, 0, NULL, "
    "TIMESTAMP '2025-01-03')",
    "INSERT INTO raw.fred_observations VALUES ('WALCL', DATE '2025-01-08', NULL, 'files', "
    "TIMESTAMP '2025-01-09')",
    "INSERT INTO raw.fred_observations VALUES (NULL, DATE '2025-01-08', 1, 'files', "
    "TIMESTAMP '2025-01-09')",
])
def test_raw_tables_refuse_what_dbt_no_longer_tests(con, sql):
    """dbt's sources do not re-test keys, NOT NULL or close > 0 (_sources.yml): the raw
    tables enforce them on write."""
    con.execute("INSERT INTO raw.market_prices VALUES ('X', DATE '2025-01-02', 1, 1, 1, 1, 1, "
                "0, 'files', TIMESTAMP '2025-01-03')")
    con.execute("INSERT INTO raw.fred_observations VALUES ('WALCL', DATE '2025-01-01', 1, "
                "'files', TIMESTAMP '2025-01-03')")
    con.execute("INSERT INTO raw.instruments (symbol, name, asset_class, calendar) "
                "VALUES ('X', 'x', 'etf', 'XNYS')")
    con.execute("INSERT INTO raw.trading_sessions VALUES ('XNYS', DATE '2025-01-02')")
    con.execute("INSERT INTO raw.fred_series VALUES ('WALCL', 'w', 'millions_usd', 'weekly')")
    with pytest.raises(duckdb.ConstraintException):
        con.execute(sql)


def test_every_connection_and_dbt_take_the_memory_limit(tmp_path, monkeypatch):
    """LOCKSTEP_DUCKDB_MEMORY_LIMIT caps DuckDB in lockstep's connections, with a clear
    error when DuckDB does not accept it; dbt's profile reads the same variable with the
    same default."""
    from orchestration.lib.warehouse import connect
    from orchestration.settings import DEFAULT_MEMORY_LIMIT

    monkeypatch.setenv("LOCKSTEP_DUCKDB_MEMORY_LIMIT", "1GB")
    with connect(tmp_path / "w.duckdb") as con:
        assert con.execute("SELECT current_setting('memory_limit')").fetchone() == ("953.6 MiB",)
    monkeypatch.setenv("LOCKSTEP_DUCKDB_MEMORY_LIMIT", "lots")
    with pytest.raises(ValueError, match="LOCKSTEP_DUCKDB_MEMORY_LIMIT='lots'"):
        with connect(tmp_path / "w.duckdb"):
            pass
    profile = (Path(__file__).parent.parent / "dbt_project" / "profiles.yml").read_text()
    assert re.search(r"memory_limit: \"\{\{ env_var\('LOCKSTEP_DUCKDB_MEMORY_LIMIT', "
                     rf"'{re.escape(DEFAULT_MEMORY_LIMIT)}'\) \}}\}}\"", profile)


def test_a_warehouse_directory_that_does_not_exist_is_an_error(tmp_path, monkeypatch):
    """A mistyped LOCKSTEP_WAREHOUSE created its directories wherever it pointed (even
    /nonexistent/dir at the filesystem's root); now it is an error naming the path and the
    fix, and nothing is created, unless LOCKSTEP_CREATE_DIRS=1."""
    from orchestration.lib.warehouse import WarehousePathError, check_writable

    monkeypatch.delenv("LOCKSTEP_CREATE_DIRS")
    path = tmp_path / "nonexistent" / "dir" / "x.duckdb"
    for attempt in (lambda: check_writable(path), lambda: writer_lock(path).__enter__(),
                    lambda: connect(path).__enter__()):
        with pytest.raises(WarehousePathError) as refused:
            attempt()
        assert str(refused.value) == (
            f"LOCKSTEP_WAREHOUSE={path}: its directory {path.parent} does not exist. Create it "
            f"(mkdir -p {path.parent}) or set LOCKSTEP_CREATE_DIRS=1 to have lockstep create "
            f"it, or fix the path.")
        assert not (tmp_path / "nonexistent").exists()
    monkeypatch.setenv("LOCKSTEP_CREATE_DIRS", "1")
    with writer_lock(path):
        pass
    assert path.parent.is_dir()


@pytest.mark.skipif(not Path("/proc/self").exists(), reason="needs Linux's /proc")
def test_a_directory_nobody_can_write_is_one_clear_error():
    """/proc exists but takes no new files: the lock file cannot be created. One error that
    says so, instead of FileNotFoundError from every writing step."""
    from orchestration.lib.warehouse import WarehousePathError, check_writable

    with pytest.raises(WarehousePathError) as refused:
        check_writable(Path("/proc/x.duckdb"))
    assert str(refused.value).startswith(
        "LOCKSTEP_WAREHOUSE=/proc/x.duckdb: cannot create files in /proc (")
    assert str(refused.value).endswith("point LOCKSTEP_WAREHOUSE at a file in a directory "
                                       "you can write.")
