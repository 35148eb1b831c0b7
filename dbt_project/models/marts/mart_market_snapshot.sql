-- Where each instrument stands on its latest stored date.
--   change_1d   against the previous stored close
--   change_1w   against the last close on or before latest_date - 7 days
--   change_1m   against the last close on or before latest_date - 1 month
--   change_ytd  against the last close of the previous calendar year (null without one)
-- Records: close basis (record close) and high basis (record intraday high); the record
-- date is the most recent day at the record (a tie renews it).
-- Staleness: data_as_of is the newest date stored for any instrument; sessions_behind
-- counts the sessions of the instrument's own calendar after its latest_date up to
-- data_as_of, and is_stale flags more than var('stale_after_sessions') of them, so rows
-- of different dates are never compared without saying so.
-- Quarantine: quarantined_rows counts the symbol's rows a load quarantined (a cell that is
-- not a number, a price that is not positive, two rows for one date, ...) that no later
-- load has resolved; its figures are computed without them.
{%- set stale_after = var('stale_after_sessions') %}
-- Cost: int_running_peaks is read three times, each time only the columns needed (a CTE
-- over it read twice would be materialized whole: every row and column of the history),
-- and the reference closes come from a window of the last ~14 months (below).
with latest_date as (
    select symbol, max(date) as date, min(date) as first_date, count(*) as n_sessions
    from {{ ref('int_running_peaks') }}
    group by symbol
),

as_of as (
    select max(date) as data_as_of from latest_date
),

latest as (
    select
        d.*,
        h.first_date,
        h.n_sessions,
        {{ add_days('d.date', -7) }}                    as week_ref,
        cast({{ dbt.dateadd('month', -1, 'd.date') }} as date) as month_ref,
        make_date(year(d.date) - 1, 12, 31)             as year_ref
    from {{ ref('int_running_peaks') }} as d
    inner join latest_date as h using (symbol, date)
),

-- the last close on or before each reference date. The three references lie within about
-- 13 months before the latest date, so the closes are looked for from 31 days before the
-- earliest of them on (scan_from) up to the latest of them (in a year's first week the
-- previous year's end comes after a week ago).
bounds as (
    select
        symbol, first_date, week_ref, month_ref, year_ref,
        {{ add_days('least(week_ref, month_ref, year_ref)', -31) }} as scan_from,
        greatest(week_ref, year_ref)                                 as scan_to
    from latest
),

{#- the three closes, from prices `d` joined to the symbol's reference dates `r` #}
{%- set closes_at_references %}
        d.symbol,
        max_by(d.close, d.date) filter (where d.date <= r.week_ref)  as close_week_ago,
        max_by(d.close, d.date) filter (where d.date <= r.month_ref) as close_month_ago,
        max_by(d.close, d.date) filter (where d.date <= r.year_ref)  as close_year_end
{%- endset %}
windowed as (
    select {{ closes_at_references }}
    from {{ ref('int_running_peaks') }} as d
    inner join bounds as r using (symbol)
    where d.date > r.scan_from and d.date <= r.scan_to
    group by d.symbol
),

-- a symbol with history before a reference but no close between scan_from and it (a gap of
-- over a month in its history) has that close further back: those few are read whole
gapped as (
    select b.*
    from bounds as b
    left join windowed as w using (symbol)
    where (w.close_week_ago is null and b.first_date <= b.week_ref)
       or (w.close_month_ago is null and b.first_date <= b.month_ref)
       or (w.close_year_end is null and b.first_date <= b.year_ref)
),

-- rows of the symbol quarantined and not resolved yet (raw.quarantined_rows): its figures
-- are without them, except where a row of the same date was stored earlier: that row is
-- kept as it was (kept_value) and the figures use it
quarantined as (
    select
        symbol,
        count(*) as quarantined_rows,
        max(date) as latest_quarantined_date,
        count(kept_value) as quarantined_rows_kept
    from {{ ref('stg_market_prices_quarantined') }}
    where is_open
    group by symbol
),

reference_closes as (
    select w.*
    from windowed as w
    where not exists (select 1 from gapped as g where g.symbol = w.symbol)
    union all
    select {{ closes_at_references }}
    from {{ ref('int_running_peaks') }} as d
    inner join gapped as r using (symbol)
    where d.date <= r.scan_to
    group by d.symbol
)

select
    l.symbol,
    i.instrument_name,
    i.asset_class,
    i.trading_calendar,
    l.date                                  as latest_date,
    l.close                                 as latest_close,
    l.close / l.previous_close - 1          as change_1d,
    l.close / r.close_week_ago - 1          as change_1w,
    l.close / r.close_month_ago - 1         as change_1m,
    l.close / r.close_year_end - 1          as change_ytd,
    l.peak_close                            as record_close,
    l.peak_close_date                       as record_close_date,
    l.drawdown_close                        as fraction_below_record_close,
    {{ day_count('l.peak_close_date', 'l.date') }} as days_since_record_close,
    l.peak_high                             as record_high,
    l.peak_high_date                        as record_high_date,
    l.drawdown_high                         as fraction_below_record_high,
    {{ day_count('l.peak_high_date', 'l.date') }} as days_since_record_high,
    l.is_record_close                       as is_record_today,
    l.is_record_high                        as is_record_high_today,
    l.first_date,
    l.n_sessions,
    a.data_as_of,
    c_now.sessions_to_date - c_then.sessions_to_date as sessions_behind,
    c_now.sessions_to_date - c_then.sessions_to_date > {{ stale_after }} as is_stale,
    l.source,
    l.source = 'demo'                       as is_synthetic,
    coalesce(q.quarantined_rows, 0)         as quarantined_rows,
    q.latest_quarantined_date,
    coalesce(q.quarantined_rows_kept, 0)    as quarantined_rows_kept
from latest as l
cross join as_of as a
left join reference_closes as r using (symbol)
left join quarantined as q using (symbol)
left join {{ ref('stg_instruments') }} as i using (symbol)
left join {{ ref('int_calendar_days') }} as c_then
    on c_then.calendar = l.calendar and c_then.date = l.date
left join {{ ref('int_calendar_days') }} as c_now
    on c_now.calendar = l.calendar and c_now.date = a.data_as_of
