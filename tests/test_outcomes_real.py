"""mart_divergence_outcomes and its summary on the real history, every row against pandas:
episodes found independently from the CSVs (tests/brief_oracle.py), then returns over each
horizon, days to the laggard's next records and the leader's worst drawdown until then."""

import numpy as np
import pandas as pd
import pytest

from tests import brief_oracle as oracle
from tests.conftest import query

pytestmark = [pytest.mark.slow, pytest.mark.real_data]

HORIZONS = (30, 90, 180, 365)
PAIRS = {"^RUT/BTC-USD": ("RUT", "BTC-USD"), "^GSPC/BTC-USD": ("GSPC", "BTC-USD"),
         "^DJI/BTC-USD": ("DJI", "BTC-USD")}


def _close_as_of(frame: pd.DataFrame, day: pd.Timestamp) -> float:
    return frame.close[frame.index <= day].iloc[-1]


def expected_outcomes(real_data) -> pd.DataFrame:
    sessions = oracle.nyse_sessions()
    rows = []
    for pair_id, (leader_stem, laggard_stem) in PAIRS.items():
        leader = oracle.load_market(real_data, leader_stem)
        laggard = oracle.load_market(real_data, laggard_stem)
        runs = oracle.episodes(oracle.divergent_days(leader, laggard), sessions)
        leader_dd = leader.close / leader.close.cummax() - 1
        record_close = laggard.close >= laggard.close.cummax()
        record_high = laggard.high_value >= laggard.high_value.cummax()
        for number, run in enumerate(runs.itertuples(), start=1):
            end = run.end
            row = {"pair_id": pair_id, "episode_number": number, "start_date": run.start,
                   "end_date": end}
            for n in HORIZONS:
                horizon = end + pd.Timedelta(days=n)
                for side, frame in (("leader", leader), ("laggard", laggard)):
                    row[f"{side}_return_{n}d"] = (
                        _close_as_of(frame, horizon) / _close_as_of(frame, end) - 1
                        if horizon <= frame.index[-1] else np.nan)
            for basis, flags in (("close", record_close), ("high", record_high)):
                later = flags[(flags.index > end) & flags]
                if later.empty:
                    row[f"laggard_days_to_record_{basis}"] = np.nan
                    row[f"leader_worst_drawdown_to_laggard_record_{basis}"] = np.nan
                else:
                    first = later.index[0]
                    row[f"laggard_days_to_record_{basis}"] = (first - end).days
                    between = leader_dd[(leader_dd.index > end) & (leader_dd.index <= first)]
                    row[f"leader_worst_drawdown_to_laggard_record_{basis}"] = (
                        between.min() if not between.empty else np.nan)
            rows.append(row)
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def outcomes(real_warehouse):
    result, warehouse = real_warehouse
    assert result.success
    return query(warehouse, "SELECT * FROM marts.mart_divergence_outcomes "
                            "ORDER BY pair_id, episode_number"), warehouse


@pytest.fixture(scope="module")
def expected(real_data):
    return expected_outcomes(real_data).sort_values(["pair_id", "episode_number"])


def test_every_outcome_row_against_pandas(outcomes, expected):
    ours, _ = outcomes
    ours = ours[ours.pair_id.isin(PAIRS)].reset_index(drop=True)
    expected = expected.reset_index(drop=True)
    assert len(ours) == len(expected) > 40
    for column in ("start_date", "end_date"):
        assert ours[column].tolist() == expected[column].tolist(), column
    numeric = [c for c in expected.columns if c.endswith("d") and "return" in c] + \
              [c for c in expected.columns if "record" in c]
    for column in numeric:
        np.testing.assert_allclose(ours[column].to_numpy(dtype=float),
                                   expected[column].to_numpy(dtype=float),
                                   rtol=0, atol=1e-12, err_msg=column)


def test_no_partial_windows(outcomes):
    ours, _ = outcomes
    for n in HORIZONS:
        late = ours[ours.end_date + pd.Timedelta(days=n) > ours.laggard_last_date]
        assert late[f"laggard_return_{n}d"].isna().all(), n
        stored = ours[ours.end_date + pd.Timedelta(days=n) <= ours.laggard_last_date]
        assert stored[f"laggard_return_{n}d"].notna().all(), n


def test_summary_against_pandas(outcomes, expected):
    _, warehouse = outcomes
    summary = query(warehouse, "SELECT * FROM marts.mart_divergence_outcome_summary")
    laggard_last = {p: query(warehouse, "SELECT max(date) AS d FROM marts.fct_drawdowns_daily "
                                        "WHERE symbol = 'BTC-USD'").d.iloc[0] for p in PAIRS}
    for pair_id in PAIRS:
        frame = expected[expected.pair_id == pair_id]
        for n in HORIZONS:
            [row] = summary[(summary.pair_id == pair_id) & (summary.horizon_days == n)
                            ].to_dict("records")
            known = frame.dropna(subset=[f"laggard_return_{n}d", f"leader_return_{n}d"])
            beat = (known[f"laggard_return_{n}d"] > known[f"leader_return_{n}d"]).sum()
            assert (row["n_episodes"], row["n_known"], row["n_laggard_beat"]) == \
                (len(frame), len(known), beat), (pair_id, n)
            assert row["median_laggard_return"] == pytest.approx(
                known[f"laggard_return_{n}d"].median(), abs=1e-12)
            assert row["median_leader_return"] == pytest.approx(
                known[f"leader_return_{n}d"].median(), abs=1e-12)
            days = frame.laggard_days_to_record_high
            stored = frame.end_date + pd.Timedelta(days=n) <= laggard_last[pair_id]
            record_known = (days <= n) | stored
            assert row["n_record_known"] == record_known.sum(), (pair_id, n)
            assert row["n_laggard_record"] == (days <= n).sum(), (pair_id, n)
            assert row["is_anecdotal"] == (len(known) < 20)
