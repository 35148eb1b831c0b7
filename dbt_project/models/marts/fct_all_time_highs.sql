-- Every record per symbol on two bases: 'close' (record closes) and 'high' (record intraday
-- highs, high_value = greatest(high, close)). A record is a value >= every earlier value;
-- the first stored day is the first record (no previous one), and a day that exactly ties
-- the record is listed with is_tie and a gain of 0.
-- Records are records of the stored history: history_start_date is the symbol's first
-- stored day, and history_note (from the catalog) says when that history starts after the
-- instrument's earlier highs (BTC-USD: 2014-09-17, after Bitcoin's late-2013 peak).
with history as (
    select symbol, min(date) as history_start_date
    from {{ ref('int_running_peaks') }}
    group by symbol
),

records as (
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
    h.history_start_date,
    i.history_note,
    source
from with_previous
inner join history as h using (symbol)
left join {{ ref('stg_instruments') }} as i using (symbol)
