{{ config(
    materialized="incremental",
    incremental_strategy=strategy_from_the_changed_date(),
    partition_by=partitions_from_the_changed_date(),
    partition_year_of="date",
    on_schema_change="fail",
    pre_hook="{{ delete_from_the_changed_date('date') }}",
    post_hook=["{{ record_rewritten_rows() }}"],
) }}
-- Every record per symbol on two bases: 'close' (record closes) and 'high' (record intraday
-- highs, high_value = greatest(high, close)). A record is a value >= every earlier value;
-- the first stored day is the first record (no previous one), and a day that exactly ties
-- the record is listed with is_tie and a gain of 0.
-- Records are records of the stored history: history_start_date is the symbol's first
-- stored day, and history_note (from the catalog) says when that history starts after the
-- instrument's earlier highs (BTC-USD: 2014-09-17, after Bitcoin's late-2013 peak).
-- history_start_date is read off the records: a symbol's first stored day is always a
-- record close (its close is never null, and a day's running peak includes the day).
--
-- Incremental (docs/incremental.md), like the brief: a build is told the first date
-- whose inputs changed (LOCKSTEP_INPUTS_CHANGED_FROM), deletes the rows from that date on
-- (pre-hook) and writes them again. A row depends only on the symbol's rows up to its date
-- (its previous record is earlier), its first stored day and its catalog entry; a change
-- of the catalog, or a backfill before a symbol's first day, moves the date to every row
-- concerned (orchestration/lib/incremental.py). The previous records are found among all
-- records, which are few; only the rows from the date on are written. A full build, or an
-- incremental one that was not told the date, computes every row.
{%- set from_date = inputs_changed_from() %}
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
        lag(date) over by_basis                      as previous_record_date,
        lag(value) over by_basis                     as previous_record_value,
        lag(session_number) over by_basis            as previous_record_session,
        min(date) over (partition by symbol)         as history_start_date
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
    {{ day_count("previous_record_date", "date") }} as days_since_previous,
    value = previous_record_value                as is_tie,
    previous_record_date is null                 as is_first_observation,
    history_start_date,
    i.history_note,
    source
from with_previous
left join {{ ref('stg_instruments') }} as i using (symbol)
{%- if from_date %}
where date >= cast('{{ from_date }}' as date)
{%- endif %}
