"""The randomised test of the divergence outcomes (marts.mart_outcome_randomised): do the
pair's episodes pick better days than chance, once their spacing and clustering are kept?

The test, per pair and horizon N:
  eligible days  the start days of marts.fct_pair_forward_outcomes (every leader trading date
                 with a laggard close) whose N-day outcome is known, in date order: 0..M-1;
                 each has `beat` (the laggard's N-day return beat the leader's).
  episodes       the pair's episodes with a known N-day outcome (marts.mart_divergence_outcomes),
                 at the positions of their end dates among the eligible days; the observed
                 statistic k = how many of them beat.
  null           the same n positions rotated together by one offset o, (position + o) mod M:
                 the episodes' spacing and clustering are kept, and so is the autocorrelation
                 of the overlapping outcomes; only their timing is random. Offsets are drawn
                 uniformly from 1..M-1 with numpy's default_rng(seed).
  p-value        (1 + #draws with k_o >= k) / (1 + draws), the Monte-Carlo p-value that never
                 reports 0; its Monte-Carlo standard error sqrt(p (1 - p) / draws).

Why Python and not SQL: the draws must be reproducible from a seed on every engine, and SQL's
random() is seeded differently on DuckDB and Spark (and not at all on some), so the same
project would give different p-values per engine. Everything the test reads is computed by
dbt; this module only draws offsets and counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where used: the code location loads without numpy
    import numpy as np

METHOD = "circular shift of the episode end dates (Monte-Carlo)"
ASSUMPTIONS = (
    "under the null the episodes' timing is unrelated to what follows: every rotation of "
    "their end dates, together, over the eligible start days is as likely as the one "
    "observed; their spacing, their clustering and the overlap of the outcome windows are "
    "kept; the series wraps around from its last eligible day to its first"
)
STATISTIC = "episodes in which the laggard beat the leader over the horizon"


@dataclass(frozen=True)
class ShiftTest:
    n_eligible_days: int
    n_known: int
    n_laggard_beat: int
    null_mean_share: float | None
    p_value: float | None
    p_value_mc_se: float | None


def circular_shift_test(beat: np.ndarray, positions: np.ndarray, draws: int,
                        seed: int) -> ShiftTest:
    """The test on one pair and horizon: `beat` per eligible day (in date order), the
    episodes' `positions` among them. Unknown (None) results when there is no episode or
    fewer than two eligible days to rotate over."""
    import numpy as np

    beat = np.asarray(beat, dtype=bool)
    positions = np.asarray(positions, dtype=np.int64)
    m, n = len(beat), len(positions)
    if n and (positions.min() < 0 or positions.max() >= m):
        raise ValueError(f"episode positions {positions.tolist()} lie outside the "
                         f"{m} eligible days")
    k = int(beat[positions].sum()) if n else 0
    if n == 0 or m < 2:
        return ShiftTest(m, n, k, None, None, None)
    offsets = np.random.default_rng(seed).integers(1, m, size=draws)
    shifted = beat[(positions[None, :] + offsets[:, None]) % m].sum(axis=1)
    p = (1 + int((shifted >= k).sum())) / (1 + draws)
    return ShiftTest(m, n, k, float(shifted.mean() / n), p, float(np.sqrt(p * (1 - p) / draws)))


def verdict(p_value: float | None, n_known: int, rules: list[dict], otherwise: str,
            min_episodes: int) -> str | None:
    """The word a p-value earns: the first of `rules` (the dbt vars outcome_verdicts, in
    order) that holds, else `otherwise` -- the rules dbt's macro outcome_verdict applies."""
    if p_value is None:
        return None
    for rule in rules:
        if p_value < rule["p_below"] and (not rule["needs_min_episodes"]
                                          or n_known >= min_episodes):
            return rule["verdict"]
    return otherwise


TABLE = "mart_outcome_randomised"
# its date column, as a dbt mart declares one in its YAML (`meta: date_column`): none, a
# summary per pair and horizon has no date of its own
DATE_COLUMN = None
# (name, DuckDB type, description): the table's columns, in order -- its contract (the
# table is created with exactly these), and its comments in the catalog, as dbt writes them
# for the SQL marts
COLUMNS = [
    ("pair_id", "VARCHAR", "The pair, leader/laggard."),
    ("leader", "VARCHAR", "The leader's Yahoo symbol."),
    ("laggard", "VARCHAR", "The laggard's Yahoo symbol."),
    ("horizon_days", "INTEGER", "The horizon in calendar days after each episode's end."),
    ("method", "VARCHAR", "The test's name."),
    ("assumptions", "VARCHAR", "What the test assumes."),
    ("statistic", "VARCHAR", "What the test counts."),
    ("seed", "BIGINT", "The seed of numpy's default_rng that drew the offsets (dbt var "
     "outcome_randomisation_seed; the same for every pair and horizon)."),
    ("draws", "INTEGER", "How many random offsets were drawn (dbt var "
     "outcome_randomisation_draws)."),
    ("n_eligible_days", "INTEGER", "Start days with a known outcome at this horizon "
     "(fct_pair_forward_outcomes), the circle the end dates are rotated over."),
    ("first_eligible_date", "DATE", "The first eligible start day."),
    ("last_eligible_date", "DATE", "The last eligible start day."),
    ("n_known", "INTEGER", "Episodes with a known outcome (as mart_divergence_outcome_summary)."),
    ("n_laggard_beat", "INTEGER", "Of those, the laggard beat the leader: the observed "
     "statistic k."),
    ("share_laggard_beat", "DOUBLE", "n_laggard_beat / n_known (null without a known "
     "outcome)."),
    ("null_mean_share", "DOUBLE", "The mean share over the rotated draws: what the "
     "episodes' share would be at random timing."),
    ("p_value", "DOUBLE", "(1 + draws with at least k beats) / (1 + draws); null without a "
     "known outcome."),
    ("p_value_mc_se", "DOUBLE", "The p-value's Monte-Carlo standard error, "
     "sqrt(p (1 - p) / draws): another seed moves p by about this much."),
    ("verdict", "VARCHAR", "The word the p-value earns by the rules of the dbt vars "
     "outcome_verdicts and outcome_verdict_otherwise (mart_outcome_significance.verdict_rules "
     "states them); null without a p-value."),
    ("is_anecdotal", "BOOLEAN", "n_known < min_episodes_for_pattern: anecdote, not a "
     "pattern."),
    ("min_episodes_for_pattern", "INTEGER", "The dbt var outcome_min_episodes used."),
]
DESCRIPTION = (
    "Per pair and horizon, a randomised test of the divergence outcomes against chance that "
    "keeps the episodes' spacing and clustering: all of the pair's episode end dates are "
    "rotated together by a random circular offset over the start days with a known outcome "
    "(fct_pair_forward_outcomes), and the p-value is the share of rotations in which at least "
    "as many episodes saw the laggard beat the leader. Fixed seed and number of draws (dbt "
    "vars), with the p-value's Monte-Carlo standard error. Written by the Dagster asset "
    "marts/mart_outcome_randomised (orchestration/lib/randomisation.py) after dbt, not by "
    "dbt: the draws must come from one seeded generator whatever the engine, and SQL's "
    "random() is seeded differently on each."
)


def randomised_outcomes(con, settings: dict | None = None):
    """The table's rows from the marts dbt built (one per row of
    mart_divergence_outcome_summary), as a DataFrame in COLUMNS order. `settings` overrides
    the dbt vars (tests)."""
    import pandas as pd

    from orchestration.lib.dbt_vars import dbt_var

    get = (lambda name: settings[name]) if settings else dbt_var
    seed, draws = int(get("outcome_randomisation_seed")), int(get("outcome_randomisation_draws"))
    rules, otherwise = get("outcome_verdicts"), get("outcome_verdict_otherwise")
    min_episodes = int(get("outcome_min_episodes"))
    summary = con.execute(
        "SELECT pair_id, leader, laggard, horizon_days, n_known, n_laggard_beat "
        "FROM marts.mart_divergence_outcome_summary ORDER BY pair_id, horizon_days").df()
    if summary.empty:  # no pair has an episode yet
        return pd.DataFrame([], columns=[name for name, _, _ in COLUMNS])
    days = con.execute(
        "SELECT pair_id, horizon_days, start_date, laggard_beat FROM "
        "marts.fct_pair_forward_outcomes WHERE laggard_beat IS NOT NULL "
        "ORDER BY pair_id, horizon_days, start_date").df()
    episodes = con.execute(" UNION ALL ".join(
        f"SELECT pair_id, {n} AS horizon_days, end_date FROM marts.mart_divergence_outcomes "
        f"WHERE laggard_return_{n}d IS NOT NULL AND leader_return_{n}d IS NOT NULL"
        for n in sorted(summary.horizon_days.unique()))).df()
    rows = []
    for row in summary.itertuples(index=False):
        eligible = days[(days.pair_id == row.pair_id) & (days.horizon_days == row.horizon_days)]
        ends = episodes[(episodes.pair_id == row.pair_id)
                        & (episodes.horizon_days == row.horizon_days)].end_date
        dates = pd.DatetimeIndex(eligible.start_date)
        positions = dates.get_indexer(pd.DatetimeIndex(ends))
        if (positions < 0).any():
            missing = [f"{d:%Y-%m-%d}" for d in pd.DatetimeIndex(ends)[positions < 0]]
            raise ValueError(f"the marts disagree on {row.pair_id} at {row.horizon_days} days: "
                             f"episode end dates {missing} have a known outcome in "
                             "mart_divergence_outcomes but none in fct_pair_forward_outcomes")
        test = circular_shift_test(eligible.laggard_beat.to_numpy(dtype=bool), positions,
                                   draws, seed)
        if (test.n_known, test.n_laggard_beat) != (row.n_known, row.n_laggard_beat):
            raise ValueError(
                f"the marts disagree on {row.pair_id} at {row.horizon_days} days: "
                f"mart_divergence_outcome_summary says {row.n_laggard_beat} of {row.n_known} "
                f"known episodes beat, mart_divergence_outcomes and fct_pair_forward_outcomes "
                f"{test.n_laggard_beat} of {test.n_known}")
        rows.append({
            "pair_id": row.pair_id, "leader": row.leader, "laggard": row.laggard,
            "horizon_days": row.horizon_days, "method": METHOD, "assumptions": ASSUMPTIONS,
            "statistic": STATISTIC, "seed": seed, "draws": draws,
            "n_eligible_days": test.n_eligible_days,
            "first_eligible_date": dates.min() if len(dates) else None,
            "last_eligible_date": dates.max() if len(dates) else None,
            "n_known": test.n_known, "n_laggard_beat": test.n_laggard_beat,
            "share_laggard_beat": test.n_laggard_beat / test.n_known if test.n_known else None,
            "null_mean_share": test.null_mean_share, "p_value": test.p_value,
            "p_value_mc_se": test.p_value_mc_se,
            "verdict": verdict(test.p_value, test.n_known, rules, otherwise, min_episodes),
            "is_anecdotal": test.n_known < min_episodes,
            "min_episodes_for_pattern": min_episodes,
        })
    return pd.DataFrame(rows, columns=[name for name, _, _ in COLUMNS])


def write_table(con, frame) -> None:
    """Replace marts.mart_outcome_randomised with `frame`, its columns typed as COLUMNS says
    and commented, in one transaction: a failure leaves the previous table as it was."""
    def quote(text: str) -> str:
        return "'" + text.replace("'", "''") + "'"

    columns = ", ".join(f"{name} {kind}" for name, kind, _ in COLUMNS)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("CREATE SCHEMA IF NOT EXISTS marts")
        con.execute(f"CREATE OR REPLACE TABLE marts.{TABLE} ({columns})")
        con.register("lockstep_randomised", frame)
        con.execute(f"INSERT INTO marts.{TABLE} SELECT "
                    + ", ".join(f"CAST({name} AS {kind})" for name, kind, _ in COLUMNS)
                    + " FROM lockstep_randomised")
        con.unregister("lockstep_randomised")
        con.execute(f"COMMENT ON TABLE marts.{TABLE} IS {quote(DESCRIPTION)}")
        for name, _, text in COLUMNS:
            con.execute(f"COMMENT ON COLUMN marts.{TABLE}.{name} IS {quote(text)}")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
