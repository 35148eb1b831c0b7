"""The real yfinance and fredapi clients against local servers that misbehave: rate limits,
server errors, timeouts, truncated bodies, empty answers, FRED's '.' values. After each, the
stored rows and the reported failures are asserted: a symbol or series that cannot be fetched
is held back alone and named by the ERROR-severity all-loaded check; the step succeeds with
what arrived."""

import dagster as dg
import duckdb
import pandas as pd
import pytest

from orchestration.partitions import newest_key
from orchestration.resources import LockstepResource
from orchestration.sources.fred.assets import raw_fred
from orchestration.sources.yahoo.assets import raw_market
from tests.fakes.fred import FakeFred
from tests.fakes.yahoo import FakeYahoo

pytestmark = [pytest.mark.slow, pytest.mark.real_data]

KEY = "fault-test-key-000111222"


@pytest.fixture()
def servers(real_data, catalog):
    calendars = {i.symbol: i.calendar for i in catalog.market}
    with FakeYahoo(real_data, calendars) as yahoo, FakeFred(real_data, api_key=KEY) as fred:
        yahoo.timeout_sleep = fred.timeout_sleep = 3.0
        yield yahoo, fred


def _materialize(tmp_path, yahoo, fred, monkeypatch, asset, **resource):
    monkeypatch.setenv("FRED_API_KEY", KEY)
    monkeypatch.setenv("LOCKSTEP_SOURCE", "live")
    monkeypatch.setenv("LOCKSTEP_WAREHOUSE", str(tmp_path / "w.duckdb"))
    monkeypatch.setenv("LOCKSTEP_STATE_DIR", str(tmp_path / "state"))
    lockstep = LockstepResource(**{
        "yahoo_endpoint": yahoo.url, "fred_endpoint": fred.url, "request_timeout_s": 1.0,
        "retry_attempts": 4, "retry_base_delay_s": 0.01, "retry_deadline_s": 60,
        "fred_requests_per_s": 50.0, **resource})
    return dg.materialize([asset], resources={"lockstep": lockstep}, partition_key=newest_key(),
                          instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)


def _run(tmp_path, yahoo, fred, monkeypatch, asset, **resource):
    result = _materialize(tmp_path, yahoo, fred, monkeypatch, asset, **resource)
    assert result.success, "a symbol or series that fails is held back alone"
    [check] = result.get_asset_check_evaluations()
    assert check.check_name.endswith("_all_loaded")
    assert check.severity == dg.AssetCheckSeverity.ERROR
    return check, check.metadata["problems"].value


def _counts(tmp_path, table, key):
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        return dict(con.execute(f"SELECT {key}, count(*) FROM {table} GROUP BY 1").fetchall())


def _file_rows(real_data, kind, stem):
    return len(pd.read_csv(real_data / kind / f"{stem}.csv"))


def test_yahoo_transient_faults_are_retried_and_nothing_is_lost(
        tmp_path, servers, monkeypatch, real_data, catalog):
    yahoo, fred = servers
    yahoo.faults.update({"BTC-USD": ["429", "429"], "^RUT": ["500"], "IWM": ["truncated"],
                         "^GSPC": ["timeout"], "QQQ": ["empty"]})
    check, failure = _run(tmp_path, yahoo, fred, monkeypatch, raw_market)
    assert not check.passed and check.metadata["count"].value == 1
    # only the symbol Yahoo does not have is reported; every other one arrived whole
    assert "^NDX" in failure
    for symbol in ("BTC-USD", "^RUT", "IWM", "^GSPC", "QQQ"):
        assert symbol + ":" not in failure
    counts = _counts(tmp_path, "raw.market_prices", "symbol")
    for inst in catalog.market:
        if inst.symbol != "^NDX":
            assert counts[inst.symbol] == _file_rows(real_data, "market", inst.file_stem)
    assert all(not queue for queue in yahoo.faults.values())  # every fault was served


def test_yahoo_persistent_faults_fail_by_name_and_keep_stored_rows(
        tmp_path, servers, monkeypatch, real_data):
    yahoo, fred = servers
    _run(tmp_path, yahoo, fred, monkeypatch, raw_market)  # a clean first load
    before = _counts(tmp_path, "raw.market_prices", "symbol")
    yahoo.faults.update({"^DJI": ["500"] * 40, "BTC-USD": ["empty"] * 40})
    check, failure = _run(tmp_path, yahoo, fred, monkeypatch, raw_market)
    assert not check.passed and check.metadata["count"].value == 3
    assert "^DJI:" in failure and "BTC-USD:" in failure and "^NDX:" in failure
    # the failing symbols keep what they had; the others were re-read (7-day overlap)
    assert _counts(tmp_path, "raw.market_prices", "symbol") == before


def test_fred_faults_dots_and_unknown_series(tmp_path, servers, monkeypatch, real_data):
    yahoo, fred = servers
    fred.faults.update({"WALCL": ["429", "500"], "EFFR": ["truncated"], "DGS2": ["timeout"],
                        "SOFR": ["503"] * 40})
    fred.dots["EFFR"] = {"2025-12-11", "2025-12-12"}
    check, failure = _run(tmp_path, yahoo, fred, monkeypatch, raw_fred)
    assert not check.passed
    # SOFR kept failing; WSHOBL and WTREGEN do not exist at this FRED (not retried)
    assert "SOFR: FRED request failed after 4 attempt(s)" in failure
    assert "WSHOBL: FRED request failed after 1 attempt(s)" in failure
    assert "WTREGEN" in failure and KEY not in failure
    counts = _counts(tmp_path, "raw.fred_observations", "series_id")
    assert "SOFR" not in counts
    for series_id in ("WALCL", "DGS2", "TREAST", "RRPONTSYD"):
        assert counts[series_id] == _file_rows(real_data, "fred", series_id)
    assert counts["EFFR"] == _file_rows(real_data, "fred", "EFFR") - 2  # '.' is no value
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        missing = con.execute("SELECT count(*) FROM raw.fred_observations WHERE "
                              "series_id = 'EFFR' AND date IN ('2025-12-11', '2025-12-12')"
                              ).fetchone()[0]
    assert missing == 0


def _step_events(result, kind):
    return [e for e in result.all_events if e.event_type_value == kind]


def test_a_rate_limit_outlasting_the_client_is_retried_by_dagster(
        tmp_path, servers, monkeypatch, real_data, catalog):
    yahoo, fred = servers
    # every series answers 429 to the client's 2 tries; the step's retry then gets data
    for s in catalog.fred:
        fred.faults[s.id] = ["429", "429"]
    check, failure = _run(tmp_path, yahoo, fred, monkeypatch, raw_fred, retry_attempts=2,
                          rate_limit_step_retries=2, rate_limit_step_wait_s=0.2)
    counts = _counts(tmp_path, "raw.fred_observations", "series_id")
    assert counts["WALCL"] == _file_rows(real_data, "fred", "WALCL")
    assert "SOFR" in counts and "WSHOBL:" in failure  # not at this FRED: 400, not retried


def test_a_rate_limit_beyond_the_step_retries_stores_nothing_and_names_the_series(
        tmp_path, servers, monkeypatch, catalog):
    yahoo, fred = servers
    for s in catalog.fred:
        fred.faults[s.id] = ["429"] * 10
    result = _materialize(tmp_path, yahoo, fred, monkeypatch, raw_fred, retry_attempts=2,
                          rate_limit_step_retries=2, rate_limit_step_wait_s=0.1)
    # 1 attempt + 2 Dagster retries of the step, each with 2 client tries per series
    assert len(_step_events(result, "STEP_UP_FOR_RETRY")) == 2
    assert not result.success
    [failure] = _step_events(result, "STEP_FAILURE")
    text = failure.step_failure_data.error.message
    assert "stored 0 series; 14 failed" in text and "HTTP 429 from FRED" in text
    assert "DFEDTARL: FRED request failed after 2 attempt(s)" in text and KEY not in text


def _quarantined(tmp_path) -> list[tuple]:
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        return con.execute("""
            SELECT raw_table, symbol_or_series, date, file, line, column_name, raw_value,
                   reason, resolution FROM raw.quarantined_rows ORDER BY raw_table""").fetchall()


def test_live_rows_that_fail_validation_are_quarantined_until_the_source_corrects_them(
        tmp_path, demo_dir, catalog, monkeypatch):
    """Yahoo answers a negative close for one Bitcoin day and FRED an infinite EFFR: the
    rows are quarantined (no file, no line), every other row loads; the next refresh, whose
    7-day overlap fetches those days again, gets the corrected values: replaced."""
    import shutil
    from datetime import date

    data = tmp_path / "served"
    shutil.copytree(demo_dir, data)
    btc = pd.read_csv(data / "market" / "BTC-USD.csv", dtype=str)
    day = btc.date.iloc[-3]
    good_close = btc.close.iloc[-3]
    btc.loc[btc.index[-3], "close"] = "-5"
    btc.to_csv(data / "market" / "BTC-USD.csv", index=False)
    effr = pd.read_csv(data / "fred" / "EFFR.csv", dtype=str)
    fed_day, good_value = effr.date.iloc[-2], effr.value.iloc[-2]
    effr.loc[effr.index[-2], "value"] = "inf"
    effr.to_csv(data / "fred" / "EFFR.csv", index=False)
    calendars = {i.symbol: i.calendar for i in catalog.market}
    with FakeYahoo(data, calendars) as yahoo, FakeFred(data, api_key=KEY) as fred:
        for asset in (raw_market, raw_fred):
            assert _materialize(tmp_path, yahoo, fred, monkeypatch, asset).success
        assert _quarantined(tmp_path) == [
            ("raw.fred_observations", "EFFR", date.fromisoformat(fed_day), None, None, "value",
             "inf", "not a finite number", None),
            ("raw.market_prices", "BTC-USD", date.fromisoformat(day), None, None, "close",
             "-5.0", "not positive", None)]
        counts = _counts(tmp_path, "raw.market_prices", "symbol")
        assert counts["BTC-USD"] == len(btc) - 1  # its other days loaded
        assert _counts(tmp_path, "raw.fred_observations", "series_id")["EFFR"] == len(
            effr[effr.value != ""]) - 1

        # the sources correct the values
        btc.loc[btc.index[-3], "close"] = good_close
        btc.to_csv(data / "market" / "BTC-USD.csv", index=False)
        yahoo._frames.clear()
        effr.loc[effr.index[-2], "value"] = good_value
        effr.to_csv(data / "fred" / "EFFR.csv", index=False)
        for asset in (raw_market, raw_fred):
            assert _materialize(tmp_path, yahoo, fred, monkeypatch, asset).success
    assert [r[-1] for r in _quarantined(tmp_path)] == ["replaced", "replaced"]
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        assert con.execute("SELECT close FROM raw.market_prices WHERE symbol = 'BTC-USD' "
                           "AND date = ?", [day]).fetchone() == (float(good_close),)
