"""The raw table of exchange sessions: raw.trading_sessions."""

DDL = [
    """
    CREATE TABLE IF NOT EXISTS raw.trading_sessions (
        calendar     VARCHAR NOT NULL,
        session_date DATE    NOT NULL,
        PRIMARY KEY (calendar, session_date)
    )
    """,
]
