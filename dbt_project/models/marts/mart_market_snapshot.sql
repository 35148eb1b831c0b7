-- Where each instrument stands on its latest stored date.
--   change_1d   against the previous stored close
--   change_1w   against the last close on or before latest_date - 7 days
--   change_1m   against the last close on or before latest_date - 1 month
--   change_ytd  against the last close of the previous calendar year (null without one)
-- Records: close basis (record close) and high basis (record intraday high); the record
-- date is the most recent day at the record (a tie renews it).
with daily as (
    select * from {{ ref('int_running_peaks') }}
),

latest as (
    select
        *,
        date - 7                                        as week_ref,
        cast(date - interval 1 month as date)           as month_ref,
        make_date(year(date) - 1, 12, 31)               as year_ref
    from daily
    qualify row_number() over (partition by symbol order by date desc) = 1
),

week_ago as (
    select l.symbol, d.close
    from latest as l
    asof left join daily as d on d.symbol = l.symbol and l.week_ref >= d.date
),

month_ago as (
    select l.symbol, d.close
    from latest as l
    asof left join daily as d on d.symbol = l.symbol and l.month_ref >= d.date
),

year_end as (
    select l.symbol, d.close
    from latest as l
    asof left join daily as d on d.symbol = l.symbol and l.year_ref >= d.date
),

history as (
    select symbol, min(date) as first_date, count(*) as n_sessions
    from daily
    group by symbol
)

select
    l.symbol,
    i.instrument_name,
    i.asset_class,
    i.trading_calendar,
    l.date                                  as latest_date,
    l.close                                 as latest_close,
    l.close / l.previous_close - 1          as change_1d,
    l.close / w.close - 1                   as change_1w,
    l.close / m.close - 1                   as change_1m,
    l.close / y.close - 1                   as change_ytd,
    l.peak_close                            as record_close,
    l.peak_close_date                       as record_close_date,
    l.drawdown_close                        as fraction_below_record_close,
    l.date - l.peak_close_date              as days_since_record_close,
    l.peak_high                             as record_high,
    l.peak_high_date                        as record_high_date,
    l.drawdown_high                         as fraction_below_record_high,
    l.date - l.peak_high_date               as days_since_record_high,
    l.is_record_close                       as is_record_today,
    l.is_record_high                        as is_record_high_today,
    h.first_date,
    h.n_sessions,
    l.source,
    l.source = 'demo'                       as is_synthetic
from latest as l
inner join history as h using (symbol)
left join week_ago as w using (symbol)
left join month_ago as m using (symbol)
left join year_end as y using (symbol)
left join {{ ref('stg_instruments') }} as i using (symbol)
