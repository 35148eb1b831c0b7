"""The alert step: after the marts are built and published, announce every new event once
(orchestration/lib/alerts.py). It is part of the daily job, so `make run`, the schedules
and runs launched from the UI all alert; its eager automation condition makes rebuilds
outside the job (a backfill) alert too, once per event as always. An unreachable webhook
fails this step -- never the data, which is stored and published by then -- and its alerts
stay pending for the next run.
"""

import dagster as dg

from orchestration.assets.publish import PUBLISHED
from orchestration.lib.warehouse import connect, writer_lock
from orchestration.resources import LockstepResource

ALERTS = dg.AssetKey(["ops", "alerts"])
EVENTS = dg.AssetKey(["marts", "fct_events"])


@dg.asset(
    key=ALERTS,
    deps=[EVENTS, PUBLISHED],
    group_name="ops",
    kinds={"python", "duckdb"},
    automation_condition=dg.AutomationCondition.eager(),
    description=(
        "New events of marts.fct_events (and of the raw checks) announced once each: posted "
        "to LOCKSTEP_ALERT_WEBHOOK (Slack-compatible JSON) or, without it, logged here. "
        "ops.alert_log in the warehouse remembers every event, so nothing is sent twice."
    ),
)
def alerts(context: dg.AssetExecutionContext, lockstep: LockstepResource):
    from orchestration.lib import alerts as lib

    settings = lockstep.settings()
    webhook = settings.alert_webhook
    with writer_lock(settings.warehouse, log=context.log.info):
        with connect(settings.warehouse, log=context.log.warning) as con:
            lib.ensure_ops_schema(con)
            newest = con.execute("SELECT max(data_as_of) FROM marts.mart_market_snapshot"
                                 ).fetchone()[0]
            new = lib.register(con, lib.events_from_marts(con), newest, run_id=context.run.run_id)
            due = lib.pending(con)
    outcome = lib.deliver(due, webhook, log=context.log.info)
    with writer_lock(settings.warehouse, log=context.log.info):
        with connect(settings.warehouse, log=context.log.warning) as con:
            lib.record_outcome(con, outcome, "sent" if webhook else "logged")
    failed = {key: error for key, error in outcome.items() if error is not None}
    texts = {key: text for key, text, _ in due}
    table = "\n".join(f"- {texts[key]}" + (f" -- **not delivered**: {failed[key]}"
                                           if key in failed else "")
                      for key in outcome) or "none"
    metadata = {
        "new_events": len(new),
        "announced": len(outcome) - len(failed),
        "not_delivered": len(failed),
        "delivery": lib.delivery(webhook),
        "alerts": dg.MetadataValue.md(table),
        "newest_data": str(newest),
    }
    if failed:
        raise dg.Failure(
            description=(f"ops.alerts: {len(failed)} of {len(outcome)} alert(s) could not be "
                         f"delivered to {lib.where(webhook)} "
                         f"({next(iter(failed.values()))}); they stay pending and the next "
                         f"run sends them. The data is stored and published."),
            metadata=metadata)
    return dg.MaterializeResult(metadata=metadata)
