"""The raw tables market prices land in: raw.market_prices and raw.instruments."""

from orchestration.lib.warehouse import TableSpec, revision_ddl

MARKET = TableSpec(
    "raw.market_prices",
    ("symbol", "date"),
    ("open", "high", "low", "close", "adj_close", "volume"),
)

DDL = [
    """
    CREATE TABLE IF NOT EXISTS raw.market_prices (
        symbol      VARCHAR   NOT NULL,
        date        DATE      NOT NULL,
        open        DOUBLE    CHECK (open > 0),
        high        DOUBLE    CHECK (high > 0),
        low         DOUBLE    CHECK (low > 0),
        close       DOUBLE    NOT NULL CHECK (close > 0),
        adj_close   DOUBLE    CHECK (adj_close > 0),
        volume      BIGINT    CHECK (volume >= 0),
        source      VARCHAR   NOT NULL,
        ingested_at TIMESTAMP NOT NULL,
        PRIMARY KEY (symbol, date)
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS raw.instruments (
        symbol       VARCHAR PRIMARY KEY,
        name         VARCHAR NOT NULL,
        asset_class  VARCHAR NOT NULL,
        calendar      VARCHAR NOT NULL,
        history_note  VARCHAR,
        display_order INTEGER
    )
    """,
    # kept revisions and the as-of table macro (warehouse/README.md, "Revisions")
    *revision_ddl(MARKET),
]
