"""fredapi normalisation and the real fredapi client against a local FRED server."""

from datetime import date

import numpy as np
import pandas as pd
import pytest

from orchestration.settings import SettingsError
from orchestration.sources.fred import FredSource, api_key_from_env, normalise_series
from tests.fakes.fred import FakeFred

KEY = "test-key-0123456789abcdef"


def test_missing_values_are_skipped_and_counted():
    raw = pd.Series([1.5, float("nan"), 1.75],
                    index=pd.to_datetime(["2025-12-10", "2025-12-11", "2025-12-12"]))
    frame, missing = normalise_series("EFFR", raw)
    assert missing == 1
    assert frame.date.tolist() == [date(2025, 12, 10), date(2025, 12, 12)]
    assert frame.value.tolist() == [1.5, 1.75] and set(frame.series_id) == {"EFFR"}


def test_missing_key_names_the_variable():
    with pytest.raises(SettingsError, match="FRED_API_KEY"):
        api_key_from_env({})
    with pytest.raises(SettingsError, match="FRED_API_KEY"):
        FredSource()


def test_real_fredapi_against_local_server(real_data, catalog):
    series = tuple(s for s in catalog.fred if s.id in ("WALCL", "EFFR", "RRPONTSYD"))
    with FakeFred(real_data, api_key=KEY) as server:
        server.dots["EFFR"] = {"2025-12-11"}
        result = FredSource(api_key=KEY, root_url=server.url + "/fred").fetch_fred(series)
    assert result.failures == {}
    for s in series:
        csv = pd.read_csv(real_data / "fred" / f"{s.id}.csv")
        got = result.frame[result.frame.series_id == s.id]
        if s.id == "EFFR":  # the '.' day is skipped, not stored as a number
            csv = csv[csv.date != "2025-12-11"]
            assert "1 missing" in result.notes["EFFR"]
        assert [d.isoformat() for d in got.date] == csv.date.tolist()
        np.testing.assert_array_equal(got.value.to_numpy(), csv.value.to_numpy())


def test_incremental_fred_request_and_unknown_series(real_data, catalog):
    walcl = tuple(s for s in catalog.fred if s.id in ("WALCL", "WSHOBL"))
    with FakeFred(real_data, api_key=KEY) as server:
        result = FredSource(api_key=KEY, root_url=server.url).fetch_fred(
            walcl, last_dates={"WALCL": date(2026, 8, 19)})
        requested = [r for r in server.requests if "WALCL" in r]
    assert "observation_start=2026-07-15" in requested[0]  # 35 days of overlap
    assert result.frame.date.min() == date(2026, 7, 15)
    # WSHOBL is not in the real data: FRED says the series does not exist
    assert set(result.failures) == {"WSHOBL"}
    assert "does not exist" in result.failures["WSHOBL"]


def test_api_key_never_appears_in_errors(catalog, tmp_path):
    # the server knows another key, so FRED answers 400 for ours
    with FakeFred(tmp_path, api_key="another-key") as server:
        result = FredSource(api_key=KEY, root_url=server.url).fetch_fred(catalog.fred[:1])
    reason = result.failures["WALCL"]
    assert "api_key is not registered" in reason
    assert KEY not in reason
