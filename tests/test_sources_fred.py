"""fredapi normalisation and the real fredapi client against a local FRED server."""

from datetime import date

import numpy as np
import pandas as pd
import pytest

from orchestration.settings import SettingsError
from orchestration.sources.fred.client import FredSource, api_key_from_env, normalise_series
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


def test_own_session_paces_requests_and_leaves_fredapi_alone(real_data, catalog):
    import urllib.request

    import fredapi.fred
    import requests

    class Counting(requests.adapters.HTTPAdapter):
        sent: list[str] = []

        def send(self, request, **kwargs):
            self.sent.append(request.url)
            return super().send(request, **kwargs)

    series = tuple(s for s in catalog.fred if s.id in ("WALCL", "EFFR", "RRPONTSYD", "DGS2"))
    with FakeFred(real_data, api_key=KEY) as server:
        source = FredSource(api_key=KEY, root_url=server.url, requests_per_s=4.0)
        session = source._fred.session
        adapter = Counting()
        session.mount("http://", adapter)
        result = source.fetch_fred(series)
        times = server.request_times
    assert result.failures == {} and set(result.frame.series_id) == {s.id for s in series}
    # every request went through this client's own session ...
    assert len(adapter.sent) == len(series) == len(times)
    # ... at most 4 per second: consecutive requests at least 0.25 s apart (less a little
    # for the clock and the server thread)
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert min(gaps) >= 0.24, gaps
    # and fredapi's module is untouched for any other user in the process
    assert fredapi.fred.urlopen is urllib.request.urlopen


def test_retry_after_is_waited_and_timeouts_apply(real_data, catalog):
    from orchestration.lib.retry import Backoff

    walcl = tuple(s for s in catalog.fred if s.id == "WALCL")
    fast = Backoff(attempts=3, base_delay_s=0.01, deadline_s=30)
    with FakeFred(real_data, api_key=KEY) as server:
        server.retry_after = "1"
        server.faults["WALCL"] = ["429"]
        result = FredSource(api_key=KEY, root_url=server.url, retry=fast,
                            requests_per_s=100).fetch_fred(walcl)
        first, second = server.request_times
    assert result.failures == {} and len(result.frame) > 0
    assert second - first >= 0.95  # the server's Retry-After: 1, not the 10 ms backoff

    with FakeFred(real_data, api_key=KEY) as server:
        server.timeout_sleep = 2.0
        server.faults["WALCL"] = ["timeout"] * 3
        result = FredSource(api_key=KEY, root_url=server.url, retry=fast, timeout=0.3,
                            requests_per_s=100).fetch_fred(walcl)
    assert "Timeout" in result.failures["WALCL"]  # the client's timeout, 3 times

    with FakeFred(real_data, api_key=KEY) as server:
        server.faults["WALCL"] = ["429"] * 3
        result = FredSource(api_key=KEY, root_url=server.url, retry=fast,
                            requests_per_s=100).fetch_fred(walcl)
    assert result.rate_limited == {"WALCL"} and "HTTP 429" in result.failures["WALCL"]


def test_retry_after_as_an_http_date():
    from datetime import UTC, datetime

    from orchestration.sources.fred.client import retry_after_seconds

    now = datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("120", now) == 120.0
    assert retry_after_seconds("Sun, 22 Nov 2026 12:01:30 GMT", now) == 90.0
    assert retry_after_seconds("Sun, 22 Nov 2026 11:00:00 GMT", now) == 0.0
    assert retry_after_seconds("soon", now) is None and retry_after_seconds(None) is None
