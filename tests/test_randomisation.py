"""The randomised test of the divergence outcomes (orchestration/lib/randomisation.py) on
hand-computed cases, and the table it writes, in a small warehouse built here."""

from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd
import pytest

from orchestration.lib.dbt_vars import dbt_var
from orchestration.lib.randomisation import (
    COLUMNS,
    TABLE,
    circular_shift_test,
    randomised_outcomes,
    verdict,
    write_table,
)


def test_no_rotation_reaches_the_observed_count():
    """Beats on days 0 and 2 of 5, episodes on both (k = 2). The four rotations put them on
    (1, 3), (2, 4), (3, 0), (4, 1): 0, 1, 1 and 0 beats, never 2, so every draw falls
    short and p = 1 / (1 + draws), the smallest a Monte-Carlo p-value can be."""
    beat = np.array([True, False, True, False, False])
    test = circular_shift_test(beat, np.array([0, 2]), draws=999, seed=7)
    assert (test.n_eligible_days, test.n_known, test.n_laggard_beat) == (5, 2, 2)
    assert test.p_value == 1 / 1000
    assert test.p_value_mc_se == pytest.approx(np.sqrt(0.001 * 0.999 / 999))
    # the rotations' mean count is (0 + 1 + 1 + 0) / 4 = 0.5 beats of 2: a share of 1/4
    assert test.null_mean_share == pytest.approx(0.25, abs=0.02)


def test_p_value_within_its_error_of_the_exact_share_and_reproducible():
    """Beats on days 0 and 1 of 4, one episode on day 0 (k = 1): of the rotations 1, 2, 3,
    one lands on a beat, so the exact p-value is 1/3; 10,000 draws land within 3 standard
    errors of it, the same seed gives the same draws, another seed other ones."""
    beat = np.array([True, True, False, False])
    first = circular_shift_test(beat, np.array([0]), draws=10_000, seed=20251211)
    assert abs(first.p_value - 1 / 3) <= 3 * first.p_value_mc_se
    assert first.p_value_mc_se == pytest.approx(np.sqrt(first.p_value * (1 - first.p_value)
                                                        / 10_000))
    assert circular_shift_test(beat, np.array([0]), draws=10_000, seed=20251211) == first
    assert circular_shift_test(beat, np.array([0]), draws=10_000, seed=1).p_value != \
        first.p_value


def test_nothing_to_test_is_unknown_and_bad_positions_are_named():
    empty = circular_shift_test(np.array([True, False]), np.array([], dtype=int), 100, 1)
    assert (empty.n_known, empty.p_value, empty.p_value_mc_se, empty.null_mean_share) == \
        (0, None, None, None)
    with pytest.raises(ValueError, match=r"episode positions \[5\] lie outside the 3 eligible"):
        circular_shift_test(np.array([True, False, True]), np.array([5]), 100, 1)


def test_verdict_follows_the_rules_written_in_dbt_project_yml():
    """The vars the SQL marts' verdict follows (macro outcome_verdict): evidence needs p below
    0.05 and at least outcome_min_episodes known outcomes; suggestive p below 0.10."""
    rules, otherwise = dbt_var("outcome_verdicts"), dbt_var("outcome_verdict_otherwise")
    minimum = dbt_var("outcome_min_episodes")
    assert minimum == 20 and otherwise == "no better than the base rate"

    def word(p, n):
        return verdict(p, n, rules, otherwise, minimum)

    assert word(0.03, 11) == "suggestive"  # the example: p = 0.03 at n = 11
    assert word(0.03, 20) == "evidence"
    assert word(0.05, 20) == "suggestive"  # "below" is strict
    assert word(0.099, 3) == "suggestive"
    assert word(0.10, 25) == "no better than the base rate"
    assert word(None, 0) is None


SETTINGS = {"outcome_randomisation_seed": 5, "outcome_randomisation_draws": 999,
            "outcome_verdicts": dbt_var("outcome_verdicts"),
            "outcome_verdict_otherwise": "no better than the base rate",
            "outcome_min_episodes": 20}


def _warehouse(path, summary_beat: int = 2):
    """The marts the test reads: five start days at 30 days (beats on the 1st and 3rd), two
    episodes ending on those days, one more whose outcome is not known yet."""
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA marts")
    first = date(2025, 1, 6)
    days = pd.DataFrame({"pair_id": "L/G", "horizon_days": 30,
                         "start_date": [first + timedelta(days=i) for i in range(6)],
                         "laggard_beat": [True, False, True, False, False, None]})
    con.register("days", days)
    con.execute("CREATE TABLE marts.fct_pair_forward_outcomes AS SELECT * FROM days")
    outcomes = pd.DataFrame({"pair_id": "L/G", "end_date": [first, first + timedelta(days=2),
                                                          first + timedelta(days=5)],
                             "laggard_return_30d": [0.5, 0.2, None],
                             "leader_return_30d": [0.1, 0.1, None]})
    con.register("outcomes", outcomes)
    con.execute("CREATE TABLE marts.mart_divergence_outcomes AS SELECT * FROM outcomes")
    con.execute(f"CREATE TABLE marts.mart_divergence_outcome_summary AS SELECT 'L/G' AS pair_id, "
                f"'L' AS leader, 'G' AS laggard, 30 AS horizon_days, 2 AS n_known, "
                f"{summary_beat} AS n_laggard_beat")
    return con


def test_the_table_from_the_marts_typed_and_commented(tmp_path):
    con = _warehouse(tmp_path / "w.duckdb")
    frame = randomised_outcomes(con, SETTINGS)
    write_table(con, frame)
    [row] = con.execute(f"SELECT * FROM marts.{TABLE}").df().to_dict("records")
    assert (row["n_eligible_days"], row["n_known"], row["n_laggard_beat"]) == (5, 2, 2)
    assert row["p_value"] == 1 / 1000  # no rotation of days 0 and 2 reaches two beats
    assert (row["seed"], row["draws"], row["is_anecdotal"]) == (5, 999, True)
    assert row["verdict"] == "suggestive"  # p = 0.001, but 2 outcomes are too few for evidence
    assert row["first_eligible_date"].date() == date(2025, 1, 6)
    assert row["last_eligible_date"].date() == date(2025, 1, 10)
    typed = con.execute("SELECT column_name, data_type, comment FROM duckdb_columns() WHERE "
                        f"table_name = '{TABLE}' ORDER BY column_index").fetchall()
    assert [(name, kind) for name, kind, _ in typed] == [(n, k) for n, k, _ in COLUMNS]
    assert all(comment for _, _, comment in typed)


def test_disagreeing_marts_and_a_failed_write_leave_the_table_as_it_was(tmp_path):
    con = _warehouse(tmp_path / "w.duckdb")
    write_table(con, randomised_outcomes(con, SETTINGS))
    before = con.execute(f"SELECT * FROM marts.{TABLE}").fetchall()
    con.execute("UPDATE marts.mart_divergence_outcome_summary SET n_laggard_beat = 1")
    with pytest.raises(ValueError, match=r"the marts disagree on L/G at 30 days: "
                                         r"mart_divergence_outcome_summary says 1 of 2 known "
                                         r"episodes beat, .* 2 of 2"):
        randomised_outcomes(con, SETTINGS)
    con.execute("UPDATE marts.mart_divergence_outcome_summary SET n_laggard_beat = 2")
    con.execute("DELETE FROM marts.fct_pair_forward_outcomes WHERE start_date = '2025-01-08'")
    with pytest.raises(ValueError, match=r"the marts disagree on L/G at 30 days: episode end "
                                         r"dates \['2025-01-08'\] have a known outcome in "
                                         r"mart_divergence_outcomes but none"):
        randomised_outcomes(con, SETTINGS)
    bad = randomised_outcomes(_warehouse(tmp_path / "v.duckdb"), SETTINGS)
    bad["horizon_days"] = "thirty"
    with pytest.raises(duckdb.ConversionException):
        write_table(con, bad)
    assert con.execute(f"SELECT * FROM marts.{TABLE}").fetchall() == before
    assert con.execute(f"SELECT comment FROM duckdb_tables() WHERE table_name = '{TABLE}'"
                       ).fetchone()[0]
