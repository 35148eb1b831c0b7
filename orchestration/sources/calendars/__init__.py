"""Exchange trading calendars (exchange_calendars): raw.trading_sessions."""
