"""The daily refresh job and when it runs.

Weekdays at 18:30 America/New_York, after the US close (16:00) and the futures settlement,
so the day's equity, ETF and futures bars are final. Bitcoin trades every day: a second
schedule runs the same job on Saturday and Sunday at the same time, so crypto rows and the
marts never lag by a weekend. On those runs the equity symbols simply bring no new rows.
Each run asks for the current year's partition of the raw assets (orchestration/partitions.py).
Each live refresh re-reads the last 7 days (OVERLAP_DAYS), so a bar captured before its
day ended (a crypto day ends at 00:00 UTC, after 18:30 New York time) is corrected by the
next run.
"""

from __future__ import annotations

import dagster as dg


def _source_and_engine() -> dict[str, str]:
    """The source and engine of this code location's environment (LOCKSTEP_SOURCE,
    LOCKSTEP_ENGINE), as run tags."""
    from orchestration.settings import SettingsError, load_settings

    try:
        settings = load_settings()
    except SettingsError:
        return {"lockstep/source": "misconfigured", "lockstep/engine": "misconfigured"}
    return {"lockstep/source": settings.source, "lockstep/engine": settings.engine}


# Every run carries these; a schedule or `make run` replaces lockstep/trigger with its own.
SCHEDULE_TAGS = {"lockstep/job": "daily_refresh", **_source_and_engine()}
RUN_TAGS = {**SCHEDULE_TAGS, "lockstep/trigger": "ui"}

daily_refresh = dg.define_asset_job(
    name="daily_refresh",
    selection=dg.AssetSelection.all(),
    description=(
        "Ingest market prices and FRED series from LOCKSTEP_SOURCE into raw.*, then dbt "
        "build staging and marts (with their tests). Pick the current year's partition for "
        "the daily refresh, or a range of years to backfill them."
    ),
    executor_def=dg.in_process_executor,
    tags=RUN_TAGS,
)


def _daily_schedule(name: str, cron: str, trigger: str, description: str):
    """A schedule of daily_refresh that asks for the current year's partition (the
    incremental refresh; see orchestration/partitions.py)."""

    @dg.schedule(name=name, job=daily_refresh, cron_schedule=cron,
                 execution_timezone="America/New_York", description=description,
                 default_status=dg.DefaultScheduleStatus.STOPPED)
    def _schedule(context: dg.ScheduleEvaluationContext):
        from orchestration.partitions import HISTORY

        key = HISTORY.get_partition_key_for_timestamp(
            context.scheduled_execution_time.timestamp())
        return dg.RunRequest(partition_key=key,
                             tags={**SCHEDULE_TAGS, "lockstep/trigger": trigger})

    return _schedule


weekday_schedule = _daily_schedule(
    "daily_refresh_weekdays", "30 18 * * 1-5", "weekday_schedule",
    "Weekdays 18:30 New York time, after the US close: the current year's partition.")

weekend_schedule = _daily_schedule(
    "daily_refresh_weekends", "30 18 * * 0,6", "weekend_schedule",
    "Saturday and Sunday 18:30 New York time, so crypto never lags a weekend: the current "
    "year's partition.")
