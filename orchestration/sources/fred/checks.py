"""Data-quality checks on raw.fred_observations (asset checks; orchestration/lib/raw_checks.py).

Blocking: values outside the sane range of their unit (dbt var `fred_units`). Warning: a
series behind its publication schedule.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import dagster as dg

from orchestration.formatting import plural
from orchestration.lib.dbt_vars import fred_units
from orchestration.lib.raw_checks import (
    NEW_YORK,
    Query,
    Rule,
    quarantine_rule,
    result,
    synthetic_note,
    table_checks,
)
from orchestration.resources import LockstepResource
from orchestration.sources.fred.assets import FRED_OBSERVATIONS


def fred_values_in_range(q: Query, lockstep: LockstepResource) -> dict:
    bounds = " OR ".join(
        f"(s.units = '{unit}' AND (o.value < {spec['sane_min']} OR o.value > "
        f"{spec['sane_max']}))"
        for unit, spec in fred_units().items()
    )
    rows = q(f"""
        SELECT o.series_id, s.units, count(*), min(o.date), min(o.value), max(o.value)
        FROM raw.fred_observations o JOIN raw.fred_series s USING (series_id)
        WHERE {bounds}
        GROUP BY 1, 2 ORDER BY 1""")
    return result(rows, lambda r: f"{r[0]} ({r[1]}): {plural(r[2], 'value')} from {r[3]}, "
                                   f"between {r[4]} and {r[5]}", "series out of range")


def fred_fresh(q: Query, lockstep: LockstepResource) -> dict:
    today = datetime.now(NEW_YORK).date()
    # the latest Wednesday whose H.4.1 is out (published Thursday)
    last_wednesday = today - timedelta(days=(today.weekday() - 2) % 7)
    if last_wednesday + timedelta(days=1) > today:
        last_wednesday -= timedelta(days=7)
    latest = q("""
        SELECT o.series_id, s.frequency, max(o.date), any_value(o.source)
        FROM raw.fred_observations o JOIN raw.fred_series s USING (series_id)
        GROUP BY 1, 2 ORDER BY 1""")
    stale = []
    for series_id, frequency, last, source in latest:
        expected = last_wednesday if frequency == "weekly" else today - timedelta(days=5)
        if last < expected:
            stale.append((series_id, last, expected, source))
    return result(stale, lambda r: f"{r[0]}: latest {r[1]}, expected {r[2]}",
                   ("series behind its schedule", "series behind their schedule"),
                   dg.AssetCheckSeverity.WARN,
                   note=synthetic_note(latest))


RULES = [
    Rule(fred_values_in_range, True,
         "FRED values lie in the sane range of their unit (dbt var fred_units: "
         + "; ".join(f"{unit} {spec['sane_min']:,g} to {spec['sane_max']:,g}"
                     for unit, spec in fred_units().items()) + ")."),
    Rule(fred_fresh, False,
         "Weekly series reach the last Wednesday already published (H.4.1 comes out on "
         "Thursday); daily series are at most 5 days old.", stale=True),
    quarantine_rule(FRED_OBSERVATIONS),
]

fred_observations_checks = table_checks(FRED_OBSERVATIONS, "fred_observations_checks", RULES)
