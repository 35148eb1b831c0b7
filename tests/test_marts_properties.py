"""Properties of the running-peak logic (int_running_peaks, the SQL every drawdown mart
uses) on random series: drawdown <= 0, drawdown = 0 exactly on record days, the running
peak never falls -- and the peaks equal a plain Python running maximum."""

import os
import subprocess
from datetime import date, timedelta

import duckdb
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import PROJECT_ROOT


@pytest.fixture(scope="module")
def running_peaks_sql(tmp_path_factory, dbt_manifest) -> str:
    tmp = tmp_path_factory.mktemp("compile")
    env = {**os.environ, "LOCKSTEP_WAREHOUSE": str(tmp / "lockstep.duckdb")}
    from orchestration.settings import dbt_executable

    dbt = dbt_executable()
    subprocess.run(
        [str(dbt), "compile", "--quiet", "--select", "int_running_peaks", "--target-path",
         str(tmp / "target"), "--profiles-dir", "."],
        cwd=PROJECT_ROOT / "dbt_project", env=env, check=True, capture_output=True,
    )
    compiled = tmp / "target" / "compiled" / "lockstep" / "models" / "intermediate"
    return (compiled / "int_running_peaks.sql").read_text()


def _run(sql: str, closes: list[float], highs: list[float]) -> pd.DataFrame:
    n = len(closes)
    frame = pd.DataFrame({
        "symbol": "X",
        "date": [date(2020, 1, 1) + timedelta(days=i) for i in range(n)],
        "calendar": "24/7", "session_number": range(1, n + 1), "is_session": True,
        "open": closes, "high": highs, "low": closes, "close": closes, "adj_close": closes,
        "volume": 0, "high_value": highs, "low_value": closes, "source": "test",
    })
    con = duckdb.connect()
    con.execute("ATTACH ':memory:' AS lockstep")
    con.execute("CREATE SCHEMA lockstep.intermediate")
    con.register("frame", frame)
    con.execute("CREATE TABLE lockstep.intermediate.int_market_daily AS SELECT * FROM frame")
    out = con.execute(sql + "\nORDER BY date").df()
    con.close()
    return out


prices = st.one_of(st.sampled_from([1.0, 2.0, 2.5, 4.0]),  # repeats make exact ties
                   st.floats(0.01, 1e6, allow_nan=False, allow_infinity=False))
series = st.lists(st.tuples(prices, st.floats(1.0, 1.3)), min_size=1, max_size=60)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(series)
def test_running_peak_properties(running_peaks_sql, rows):
    closes = [c for c, _ in rows]
    highs = [c * f for c, f in rows]
    out = _run(running_peaks_sql, closes, highs)
    assert len(out) == len(closes)
    for basis, values in (("close", closes), ("high", highs)):
        drawdown, record = out[f"drawdown_{basis}"], out[f"is_record_{basis}"]
        peak = out[f"peak_{basis}"]
        assert (drawdown <= 0).all()
        if basis == "close":  # the close basis compares a series with its own maximum
            assert ((drawdown == 0) == record).all()
        assert (peak.diff().dropna() >= 0).all()
        running, expected_peak, expected_record = float("-inf"), [], []
        for v in values:
            expected_record.append(v >= running)
            running = max(running, v)
            expected_peak.append(running)
        assert peak.tolist() == expected_peak
        assert record.tolist() == expected_record
    # drawdown on the high basis: the close against the highest high so far
    assert (out.drawdown_high == out.close / out.peak_high - 1).all()
    # the peak date is the latest record day
    last_record = None
    for day, is_record, peak_day in zip(out.date, out.is_record_close, out.peak_close_date,
                                        strict=True):
        last_record = day if is_record else last_record
        assert peak_day == last_record
