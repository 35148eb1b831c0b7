-- Where each instrument stands on its latest date against its record close.
-- record_close_date is the first date the record close was reached (a later equal close
-- does not move it).
with prices as (
    select * from {{ ref('stg_market_prices') }}
),

latest as (
    select symbol, date as latest_date, close as latest_close, source
    from prices
    qualify row_number() over (partition by symbol order by date desc) = 1
),

records as (
    select symbol, close as record_close, date as record_close_date
    from prices
    qualify row_number() over (partition by symbol order by close desc, date asc) = 1
),

history as (
    select symbol, min(date) as first_date, count(*) as n_sessions
    from prices
    group by symbol
)

select
    l.symbol,
    i.instrument_name,
    i.asset_class,
    i.trading_calendar,
    l.latest_date,
    l.latest_close,
    r.record_close,
    r.record_close_date,
    l.latest_close / r.record_close - 1 as fraction_below_record_close,
    h.first_date,
    h.n_sessions,
    l.source,
    l.source = 'demo'                   as is_synthetic
from latest as l
inner join records as r using (symbol)
inner join history as h using (symbol)
left join {{ ref('stg_instruments') }} as i using (symbol)
