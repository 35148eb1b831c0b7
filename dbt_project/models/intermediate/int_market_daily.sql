{{ config(materialized="view") }}
-- One row per symbol and stored trading date, with the values both peak bases use and the
-- calendar's session count. A view: DuckDB inlines it into int_running_peaks, nothing is written.
--   high_value = greatest(high, close): the intraday-high basis. A settlement close can lie
--                above the session's high (futures), and some rows have no high at all
--                (the close is then the best lower bound of the day's high).
--   low_value  = least(low, close), for the same reasons.
select
    p.symbol,
    p.date,
    i.trading_calendar               as calendar,
    p.open,
    p.high,
    p.low,
    p.close,
    p.adj_close,
    p.volume,
    greatest(p.high, p.close)        as high_value,
    least(p.low, p.close)            as low_value,
    c.sessions_to_date               as session_number,
    c.is_session,
    p.source
from {{ ref('stg_market_prices') }} as p
inner join {{ ref('stg_instruments') }} as i using (symbol)
inner join {{ ref('int_calendar_days') }} as c
    on c.calendar = i.trading_calendar and c.date = p.date
