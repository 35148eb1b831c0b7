{{ config(
    materialized=incremental_on_duckdb(),
    incremental_strategy="append",
    on_schema_change="fail",
    pre_hook="{{ drawdown_episodes_forget_from_the_restart() }}",
    post_hook="{{ forget_dropped_symbols() }}",
) }}
-- One row per drawdown episode, close basis. An episode starts on a record day (the peak)
-- that is followed by at least one close below it, and ends on the recovery: the first
-- later close at or above the peak (null while ongoing). Each record day opens a new
-- "record group"; a group holding days below its peak is an episode.
--
-- Mapping onto the oracles (tests/test_marts_oracles.py checks it on the real history):
--   quantstats drawdown_details: start = first_date_below_peak, valley = trough_date,
--                                end = last_date_below_peak (the day before recovery, or the
--                                last stored day while ongoing)
--   ffn drawdown_details:        Start = first_date_below_peak, End = recovery_date (the
--                                last stored day while ongoing)
--
-- Incremental (docs/incremental.md): with the first date whose inputs changed
-- (LOCKSTEP_INPUTS_CHANGED_FROM), a symbol with rows from then on has its episodes
-- recomputed from its restart peak -- the peak of the last row before that date, a record
-- day nothing new can unmake -- on: the pre-hook deletes its stored episodes from that
-- peak on, the batch numbers the new ones after those kept. Episodes before the restart
-- peak (their recovery is that peak or earlier) cannot change. A symbol with no row before
-- that date is recomputed whole; one taken out of the catalog is deleted (the post-hook).
{%- set from_date = inputs_changed_from() %}
with
{%- if from_date %}
restart as (
    {{ drawdown_episodes_restart(from_date) }}
),

kept as (
    select r.symbol, r.restart_peak, cast(count(e.symbol) as integer) as episodes_kept
    from restart as r
    left join {{ this }} as e on e.symbol = r.symbol
    group by r.symbol, r.restart_peak
),

source as (
    select p.*
    from {{ ref('int_running_peaks') }} as p
    inner join restart as r
        on p.symbol = r.symbol and (r.restart_peak is null or p.date >= r.restart_peak)
),
{%- else %}
source as (
    select * from {{ ref('int_running_peaks') }}
),
{%- endif %}

daily as (
    select
        symbol,
        date,
        session_number,
        close,
        is_record_close,
        -- the record group is the day that opened it: the most recent record day, which
        -- int_running_peaks carries as peak_close_date (no window needed here)
        peak_close_date as record_group
    from source
),

groups as (
    select
        symbol,
        record_group,
        min(date)                                         as peak_date,
        min_by(close, date)                               as peak_value,
        min_by(session_number, date)                      as peak_session,
        min(date) filter (where not is_record_close)      as first_date_below_peak,
        max(date)                                         as last_date_below_peak,
        max(session_number)                               as last_session_below_peak,
        cast(count(*) - 1 as integer)                     as sessions_below_peak,
        min(close)                                        as trough_value
    from daily
    group by symbol, record_group
),

troughs as (
    select symbol, record_group, min(date) as trough_date
    from daily
    inner join groups using (symbol, record_group)
    where daily.close = groups.trough_value and not daily.is_record_close
    group by symbol, record_group
),

with_recovery as (
    select
        g.*,
        t.trough_date,
        lead(g.peak_date) over by_symbol    as recovery_date,
        lead(g.peak_session) over by_symbol as recovery_session
    from groups as g
    left join troughs as t using (symbol, record_group)
    window by_symbol as (partition by g.symbol order by g.record_group)
),

last_day as (
    select symbol, max(date) as last_date, max(session_number) as last_session
    from daily
    group by symbol
)

select
    e.symbol,
    cast(row_number() over (partition by e.symbol order by e.peak_date)
        {%- if from_date %} + k.episodes_kept{% endif %} as integer)   as episode_number,
    e.peak_date,
    e.peak_value,
    e.first_date_below_peak,
    e.trough_date,
    e.trough_value,
    e.trough_value / e.peak_value - 1                               as max_drawdown,
    e.recovery_date,
    e.last_date_below_peak,
    e.sessions_below_peak,
    coalesce(e.recovery_session, l.last_session) - e.peak_session   as length_sessions,
    {{ day_count('e.peak_date', 'coalesce(e.recovery_date, l.last_date)') }} as length_days,
    e.recovery_date is null                                         as is_ongoing
from with_recovery as e
inner join last_day as l using (symbol)
{%- if from_date %}
inner join kept as k using (symbol)
{%- endif %}
where e.sessions_below_peak > 0
