-- The brief's standing: every instrument with stored prices, on every day from its first
-- stored day (brief_date), on both bases: its latest close on or before the day
-- (as_of_date), its record then and how far below it (0 at a record), since when, and how
-- many sessions of its calendar that close lies behind the day (is_stale beyond
-- var('stale_after_sessions')). Grain: (brief_date, symbol, basis).
-- Incremental from the first date whose inputs changed (dbt_project.yml, the brief folder):
-- a day before it carries its latest stored day into the days after (date_before).
{%- set stale_after = var('stale_after_sessions') %}
-- int_running_peaks is read where it is used, never through a shared CTE: DuckDB
-- materializes a CTE read more than once, here every row and column of the history.
with history as (
    {{ brief_symbol_history() }}
),

brief_dates as (
    {{ brief_dates() }}
),

calendar_days as (
    select * from {{ ref('int_calendar_days') }}
),

symbol_days as (
    select
        h.symbol,
        d.brief_date,
        coalesce(max(p.date) over (
            partition by h.symbol order by d.brief_date
            rows between unbounded preceding and current row
        ), h.date_before) as as_of_date
    from history as h
    inner join brief_dates as d on d.brief_date >= h.first_date
    left join {{ ref('int_running_peaks') }} as p
        on p.symbol = h.symbol and p.date = d.brief_date
),

standing_base as (
    select
        s.brief_date,
        s.as_of_date,
        p.*,
        i.instrument_name,
        i.history_note,
        i.display_order,
        h.first_date                                        as history_start_date,
        c_now.sessions_to_date - c_then.sessions_to_date    as sessions_behind
    from symbol_days as s
    inner join {{ ref('int_running_peaks') }} as p
        on p.symbol = s.symbol and p.date = s.as_of_date
    inner join history as h on h.symbol = s.symbol
    left join {{ ref('stg_instruments') }} as i on i.symbol = s.symbol
    left join calendar_days as c_then
        on c_then.calendar = p.calendar and c_then.date = s.as_of_date
    left join calendar_days as c_now
        on c_now.calendar = p.calendar and c_now.date = s.brief_date
)

{%- for basis in ['close', 'high'] %}
select
    brief_date,
    symbol,
    '{{ basis }}'                                           as basis,
    display_order,
    instrument_name,
    as_of_date,
    close,
    peak_{{ basis }}                                        as record_value,
    peak_{{ basis }}_date                                   as record_date,
    drawdown_{{ basis }}                                    as fraction_below_record,
    {{ days_between('peak_' ~ basis ~ '_date', 'as_of_date') }} as days_since_record,
    session_number - peak_{{ basis }}_session               as sessions_since_record,
    is_record_{{ basis }}                                   as is_at_record,
    sessions_behind,
    sessions_behind > {{ stale_after }}                     as is_stale,
    history_start_date,
    history_note,
    source,
    source = 'demo'                                         as is_synthetic
from standing_base
{% if not loop.last %}union all{% endif %}
{%- endfor %}
