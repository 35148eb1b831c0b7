"""The raw tables FRED data lands in: raw.fred_observations and raw.fred_series."""

from orchestration.lib.warehouse import TableSpec, revision_ddl

FRED = TableSpec("raw.fred_observations", ("series_id", "date"), ("value",))

DDL = [
    """
    CREATE TABLE IF NOT EXISTS raw.fred_observations (
        series_id   VARCHAR   NOT NULL,
        date        DATE      NOT NULL,
        value       DOUBLE    NOT NULL,
        source      VARCHAR   NOT NULL,
        ingested_at TIMESTAMP NOT NULL,
        PRIMARY KEY (series_id, date)
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS raw.fred_series (
        series_id VARCHAR PRIMARY KEY,
        name      VARCHAR NOT NULL,
        units     VARCHAR NOT NULL,
        frequency VARCHAR NOT NULL
    )
    """,
    # kept revisions and the as-of table macro (warehouse/README.md, "Revisions")
    *revision_ddl(FRED),
]
