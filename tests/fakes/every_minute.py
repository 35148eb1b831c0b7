"""lockstep's code location plus a schedule of the daily refresh every minute, so a test sees
the daemon's scheduler queue and launch a run within a minute (the real schedules run once a
day). Load it with a workspace naming this module and the location `lockstep`."""

import dagster as dg

from orchestration import definitions  # (a module may hold one Definitions at its scope)
from orchestration.partitions import newest_key
from orchestration.schedules import SCHEDULE_TAGS, daily_refresh

TRIGGER = "every_minute_schedule"


@dg.schedule(name="daily_refresh_every_minute", job=daily_refresh, cron_schedule="* * * * *",
             default_status=dg.DefaultScheduleStatus.RUNNING)
def every_minute(context: dg.ScheduleEvaluationContext):
    return dg.RunRequest(partition_key=newest_key(),
                         tags={**SCHEDULE_TAGS, "lockstep/trigger": TRIGGER})


defs = dg.Definitions.merge(definitions.defs, dg.Definitions(schedules=[every_minute]))
