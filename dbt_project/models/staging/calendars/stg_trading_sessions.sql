-- Exchange sessions (exchange_calendars), one row per calendar and session date.
select
    cast(calendar as string)  as calendar,
    cast(session_date as date) as session_date
from {{ source('calendars', 'trading_sessions') }}
