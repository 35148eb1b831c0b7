"""The randomised test of the divergence outcomes, a Python asset between dbt and the publish
step (orchestration/lib/randomisation.py says what it tests and why it is not SQL). It reads
the marts dbt built and writes marts.mart_outcome_randomised into the same schema, so the
publish step copies it with the rest."""

import dagster as dg

from orchestration.lib.randomisation import COLUMNS, DESCRIPTION, TABLE
from orchestration.resources import LockstepResource

RANDOMISED = dg.AssetKey(["marts", TABLE])
READS = [dg.AssetKey(["marts", name]) for name in
         ("fct_pair_forward_outcomes", "mart_divergence_outcomes",
          "mart_divergence_outcome_summary")]


@dg.asset(
    key=RANDOMISED,
    deps=READS,
    group_name="marts",
    kinds={"python", "duckdb"},
    automation_condition=dg.AutomationCondition.eager(),
    description=DESCRIPTION,
    metadata={"dagster/column_schema": dg.TableSchema(columns=[
        dg.TableColumn(name, kind.lower(), description=text) for name, kind, text in COLUMNS])},
)
def mart_outcome_randomised(context: dg.AssetExecutionContext, lockstep: LockstepResource):
    from orchestration.lib.dbt_vars import dbt_var
    from orchestration.lib.mart_metadata import SNAPSHOT_BANNER
    from orchestration.lib.randomisation import randomised_outcomes, write_table
    from orchestration.lib.warehouse import connect, writer_lock

    settings = lockstep.settings()
    with writer_lock(settings.warehouse, log=context.log.info):
        with connect(settings.warehouse, log=context.log.warning) as con:
            frame = randomised_outcomes(con)
            write_table(con, frame)
            synthetic = con.execute("SELECT bool_or(is_synthetic) FROM "
                                    "marts.mart_market_snapshot").fetchone()[0]

    def pct(value) -> str:
        return "" if value is None or value != value else f"{value * 100:.1f} %"

    lines = ["| pair | horizon | beat / known | share | p | MC s.e. | verdict |",
             "|---|---:|---:|---:|---:|---:|---|"]
    for r in frame.itertuples(index=False):
        p = "" if r.p_value is None or r.p_value != r.p_value else f"{r.p_value:.3f}"
        se = "" if r.p_value_mc_se is None or r.p_value_mc_se != r.p_value_mc_se \
            else f"{r.p_value_mc_se:.3f}"
        lines.append(f"| {r.pair_id} | {r.horizon_days:,} days | {r.n_laggard_beat:,} / "
                     f"{r.n_known:,} | {pct(r.share_laggard_beat)} | {p} | {se} | "
                     f"{r.verdict or ''} |")
    return dg.MaterializeResult(metadata={
        "dagster/row_count": len(frame),
        "seed": dbt_var("outcome_randomisation_seed"),
        "draws": dbt_var("outcome_randomisation_draws"),
        "results": dg.MetadataValue.md((SNAPSHOT_BANNER if synthetic else "")
                                       + "\n".join(lines)),
    })
