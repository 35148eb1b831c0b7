-- Every calendar day of every trading calendar in use, from the calendar's first stored
-- price to the newest stored price of any instrument (so the sessions an instrument is
-- behind the newest data can be counted), with whether it is a session and how many sessions the calendar has had up to and
-- including it. Sessions between two dates d1 < d2 = sessions_to_date(d2) - sessions_to_date(d1),
-- defined for any two dates, also for rows on days the calendar calls closed (futures trade
-- on a few days NYSE is shut).
with instruments as (
    select symbol, trading_calendar as calendar from {{ ref('stg_instruments') }}
),

bounds as (
    select
        i.calendar,
        min(p.date)                                             as first_date,
        (select max(date) from {{ ref('stg_market_prices') }}) as last_date
    from {{ ref('stg_market_prices') }} as p
    inner join instruments as i using (symbol)
    group by i.calendar
),

days as (
    select
        calendar,
        {{ day_spine('first_date', 'last_date') }} as date
    from bounds
),

flagged as (
    select
        d.calendar,
        d.date,
        d.calendar = '24/7' or s.session_date is not null as is_session
    from days as d
    left join {{ ref('stg_trading_sessions') }} as s
        on s.calendar = d.calendar and s.session_date = d.date
)

select
    calendar,
    date,
    is_session,
    {{ running_count('is_session', 'calendar', 'date') }} as sessions_to_date
from flagged
