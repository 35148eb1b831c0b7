"""lockstep's Dagster code location: ingestion into DuckDB, dbt marts, schedules."""
