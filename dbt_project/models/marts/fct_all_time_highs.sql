-- Every record per symbol on two bases: 'close' (record closes) and 'high' (record intraday
-- highs, high_value = greatest(high, close)). A record is a value >= every earlier value;
-- the first stored day is the first record (no previous one), and a day that exactly ties
-- the record is listed with is_tie and a gain of 0.
with records as (
    select symbol, date, session_number, 'close' as basis, close as value, source
    from {{ ref('int_running_peaks') }}
    where is_record_close
    union all
    select symbol, date, session_number, 'high' as basis, high_value as value, source
    from {{ ref('int_running_peaks') }}
    where is_record_high
),

with_previous as (
    select
        *,
        lag(date) over by_basis           as previous_record_date,
        lag(value) over by_basis          as previous_record_value,
        lag(session_number) over by_basis as previous_record_session
    from records
    window by_basis as (partition by symbol, basis order by date)
)

select
    symbol,
    basis,
    date,
    value,
    previous_record_date,
    previous_record_value,
    value / previous_record_value - 1            as gain_over_previous,
    session_number - previous_record_session     as sessions_since_previous,
    date - previous_record_date                  as days_since_previous,
    value = previous_record_value                as is_tie,
    previous_record_date is null                 as is_first_observation,
    source
from with_previous
